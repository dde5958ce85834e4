// EtlManager: the ETLs of one target. The cluster's ETL metadata (or, on a standalone
// target, the local API) says which ETLs exist and whether each should run; Apply() starts
// and stops Transformers to match — starts in the background, since a program may take up to
// its init timeout to become healthy. Request and job threads Acquire() a running ETL and
// call Run(), which counts objects and bytes and remembers the latest per-object errors.
//
// Threads: one starter thread per ETL start; all public methods are thread-safe.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/result.h"
#include "etl/etl_spec.h"
#include "etl/sandbox.h"
#include "etl/transformer.h"

namespace aisle::etl {

enum class Stage { kInitializing, kRunning, kStopped, kError };
const char* StageName(Stage s);  // AIStore's words: Initializing, Running, Stopped, Aborted

// Desired state of one ETL, as the cluster metadata holds it.
struct EtlEntry {
  std::string name;
  std::string msg;  // the init message as sent (JSON)
  bool running = true;
};

struct ObjError {
  std::string object;  // bucket/object
  std::string message;
  StatusCode code = StatusCode::kOk;
};

struct EtlStatus {
  std::string name;
  std::string msg;
  std::string comm;
  Stage stage = Stage::kInitializing;
  std::string error;  // why it is kError
  uint64_t obj_count = 0, in_bytes = 0, out_bytes = 0, errors = 0;
  std::vector<ObjError> obj_errors;  // newest last, at most 100
  std::string logs;
  std::string health;  // "" = healthy
};

// The processes of one ETL on this target (none for built-ins).
struct EtlUsage {
  int processes = 0;
  double cpu_cores = 0;  // CPU use over the sampling window, in cores
  uint64_t rss_bytes = 0;
};

// One running ETL; shared by callers so Stop() never frees it under a transform.
class EtlInstance {
 public:
  const EtlSpec& spec() const { return spec_; }
  Transformer& transformer() { return *transformer_; }
  // Transform with accounting; errors are recorded against bucket/object.
  Result<std::string> Run(const TransformInput& in);

 private:
  friend class EtlManager;
  EtlSpec spec_;
  std::string msg_;
  std::unique_ptr<Transformer> transformer_;
  std::atomic<uint64_t> obj_count_{0}, in_bytes_{0}, out_bytes_{0}, errors_{0};
  mutable std::mutex mu_;  // guards the fields below
  Stage stage_ = Stage::kInitializing;
  std::string error_;
  std::deque<ObjError> obj_errors_;
  std::thread starter_;
};

class EtlManager {
 public:
  using Factory = std::function<Result<std::unique_ptr<Transformer>>(const EtlSpec&)>;
  struct Options {
    std::string work_root;   // per-ETL working directories go under it
    std::string target_url;  // AIS_TARGET_URL for programs
    Factory factory;         // empty: MakeTransformer
    // Confines every program and Python runtime (etl/sandbox.h); null = not confined (tests
    // of built-ins and fakes).
    std::shared_ptr<const Sandbox> sandbox;
  };
  explicit EtlManager(Options opts);
  ~EtlManager();  // stops everything

  // Makes the set of ETLs match `desired`: new or changed ones start (in the background),
  // stopped ones stop, missing ones are stopped and forgotten.
  void Apply(const std::vector<EtlEntry>& desired);

  // Local registry for a standalone target (no proxy): init, start, stop, delete.
  // Init waits until the ETL is running or failed (then it is removed and the error returned);
  // returns the ETL's name.
  Result<std::string> Init(const std::string& msg);
  Status SetRunning(const std::string& name, bool running);
  Status Delete(const std::string& name);
  std::vector<EtlEntry> Desired() const;

  // Waits (up to the ETL's init timeout) while it initializes. kNotFound: "etl job NAME does
  // not exist"; kUnavailable: stopped or failed, with the reason.
  Result<std::shared_ptr<EtlInstance>> Acquire(const std::string& name);
  // Returns the stage once it is no longer Initializing, or after `timeout_ms`.
  Result<EtlStatus> WaitReady(const std::string& name, int64_t timeout_ms);

  std::vector<EtlStatus> List(bool with_logs = false) const;
  Result<EtlStatus> Get(const std::string& name, bool with_logs = false) const;
  // CPU and memory of the ETL's processes, CPU sampled over `sample_ms`.
  Result<EtlUsage> Usage(const std::string& name, int sample_ms = 200) const;

 private:
  std::shared_ptr<EtlInstance> Launch(const EtlEntry& e);
  void StopInstance(const std::shared_ptr<EtlInstance>& inst);
  EtlStatus StatusOf(const std::string& name, const EtlInstance& inst, bool with_logs) const;

  Options opts_;
  mutable std::mutex mu_;       // guards desired_, live_
  std::condition_variable cv_;  // stage changes
  std::map<std::string, EtlEntry> desired_;
  std::map<std::string, std::shared_ptr<EtlInstance>> live_;  // includes stopped/failed
  uint64_t generation_ = 0;                                   // makes each start's work dir unique
};

// Builtins in-process, everything else as processes.
Result<std::unique_ptr<Transformer>> MakeTransformer(const EtlSpec& spec);

}  // namespace aisle::etl
