// Transformer: a running ETL on one target. The ETL manager owns one per registered ETL and
// calls Transform concurrently from request and job threads; each implementation bounds its
// own concurrency (EtlSpec::concurrency) and enforces its own timeouts and output limit.
// Errors are values and name the ETL and the reason ("etl NAME: program exited with code 2:
// <stderr tail>"); a crashed or hung worker is killed and restarted by the implementation.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "common/result.h"
#include "common/status.h"
#include "etl/etl_spec.h"

namespace aisle::etl {

// Set when an hpush program delivered the result itself (direct put: it answered 204).
struct DirectPut {
  bool delivered = false;
  uint64_t size = 0;  // the program's Ais-Direct-Put-Length
};

// One object (or shard member) to transform.
struct TransformInput {
  std::string_view data;  // the bytes; empty for kHpull/kHrev (the program pulls them)
  std::string bucket;
  std::string object;  // object name; "shard.tar/member" for a member
  std::string args;    // etl_args of the request, "" when absent
  // Ais-Node-Url for an hpush program with EtlSpec::direct_put ("" = none): comma-separated
  // URLs it sends its result to instead of answering with it (next stages, then possibly the
  // destination's direct-put URL). `direct` (may be null) learns whether it did.
  std::string node_url;
  DirectPut* direct = nullptr;
  // The whole chain's bound (TCBMsg request_timeout): each implementation waits at most
  // min(obj_timeout, deadline) and then kills the worker as on its own timeout.
  std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max();
};

// Time left until `in.deadline` capped by `obj_timeout_ms` (<= 0: none), in ms; 0 = expired.
// `bound_by_deadline` says which one binds (for the error message).
int64_t EffectiveTimeoutMs(const TransformInput& in, int64_t obj_timeout_ms,
                           bool* bound_by_deadline);

class Transformer {
 public:
  virtual ~Transformer() = default;

  // Starts processes and waits until they are ready (EtlSpec::init_timeout_ms). An error
  // says why (missing Python module, program exited, port never answered, ...).
  virtual Status Start() = 0;
  // Stops every process (SIGTERM, then SIGKILL after a grace period). Idempotent.
  virtual void Stop() = 0;

  virtual Result<std::string> Transform(const TransformInput& in) = 0;

  // True when the program fetches object bytes from the target itself (kHpull, kHrev):
  // callers then pass empty data and need not read the object.
  virtual bool PullsData() const { return false; }
  // Base URL of an HTTP program ("http://127.0.0.1:PORT"), "" otherwise. For hpull the
  // target redirects inline GETs to ProgramUrl() + "/" + bucket + "/" + object.
  virtual std::string ProgramUrl() const { return ""; }
  // Tail of the programs' stderr (and runtime messages), newest last; bounded (64 KiB).
  virtual std::string Logs() const { return ""; }
  // "" when healthy, else the reason (e.g. "worker 2 restarting after exit code 1").
  virtual std::string Health() const { return ""; }
};

// Built-in transforms (etl/builtin); kInvalidArgument for an unknown name or bad arguments.
Result<std::unique_ptr<Transformer>> MakeBuiltinTransformer(const EtlSpec& spec);
// Programs and Python code (etl/process); kInvalidArgument for a bad spec.
Result<std::unique_ptr<Transformer>> MakeProcessTransformer(const EtlSpec& spec);

}  // namespace aisle::etl
