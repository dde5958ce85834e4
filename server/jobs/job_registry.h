// Job registry of a node: long operations (archive create, ...) run on their own thread with an
// id, kind, state, progress counters, error text and an abort flag that the job polls.
// AIStore calls these xactions; the API shapes are in server/jobs/job_handlers.cc.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"

namespace aisle::jobs {

enum class JobState { kRunning, kFinished, kAborted, kFailed };
const char* JobStateName(JobState s);

struct JobSnapshot {
  std::string id, kind, bucket, dst_bucket;
  JobState state = JobState::kRunning;
  int64_t start_ns = 0;
  int64_t end_ns = 0;                       // 0 while running
  uint64_t objects = 0, bytes = 0;          // read from the source
  uint64_t out_objects = 0, out_bytes = 0;  // written (e.g. shards)
  uint64_t total_objects = 0;               // 0 = unknown
  std::string error;
  bool abort_requested = false;
  std::map<std::string, uint64_t> ext;  // kind-specific counters (AIStore's snapshot "ext")
};

class Job {
 public:
  bool aborted() const { return abort_.load(std::memory_order_relaxed); }
  void AddInput(uint64_t objects, uint64_t bytes) {
    objects_ += objects;
    bytes_ += bytes;
  }
  void AddOutput(uint64_t objects, uint64_t bytes) {
    out_objects_ += objects;
    out_bytes_ += bytes;
  }
  void SetTotal(uint64_t objects) { total_ = objects; }
  // Adds n to a kind-specific counter (JobSnapshot::ext).
  void Count(const std::string& key, uint64_t n = 1);
  // Non-fatal per-object errors (continue-on-error); the last one is kept.
  void NoteError(const std::string& e);
  JobSnapshot Snapshot() const;

 private:
  friend class Registry;
  std::string id_, kind_, bucket_, dst_bucket_;
  int64_t start_ns_ = 0;
  std::atomic<bool> abort_{false};
  std::atomic<uint64_t> objects_{0}, bytes_{0}, out_objects_{0}, out_bytes_{0}, total_{0};
  mutable std::mutex mu_;  // guards the fields below
  JobState state_ = JobState::kRunning;
  int64_t end_ns_ = 0;
  std::string error_;
  std::map<std::string, uint64_t> ext_;
};

class Registry {
 public:
  Registry() = default;
  ~Registry();  // AbortAllAndWait()
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  // Runs fn on a new thread. fn's Status decides the end state: OK -> finished, error ->
  // failed (aborted when the abort flag was set). Returns the job id: `id` when given and
  // unused (a cluster-wide job has one id on every target), else a new one.
  std::string Start(std::string kind, std::string bucket, std::string dst_bucket,
                    std::function<Status(Job&)> fn, std::string id = "");
  std::optional<JobSnapshot> Get(const std::string& id) const;
  // Newest first; kind "" = all kinds.
  std::vector<JobSnapshot> List(const std::string& kind, bool only_running) const;
  // Sets the abort flag; kNotFound for an unknown id. Idempotent.
  Status Abort(const std::string& id);
  // Sets every job's abort flag and waits until their threads end (the node calls this before
  // it tears down the services the jobs use). Jobs started afterwards run as usual.
  void AbortAllAndWait();
  // Jobs started and ended (finished, failed or aborted) since the registry was made, by kind
  // (for metrics; pruning does not lower them).
  struct KindCounts {
    uint64_t started = 0, ended = 0;
  };
  std::map<std::string, KindCounts> CountsByKind() const;

 private:
  void Prune();  // keeps the newest kMaxFinished finished jobs
  static constexpr size_t kMaxFinished = 1000;
  mutable std::mutex mu_;
  std::map<std::string, std::shared_ptr<Job>> jobs_;
  std::vector<std::string> order_;  // start order
  size_t running_ = 0;              // job threads not yet ended
  std::map<std::string, KindCounts> counts_;
  std::condition_variable ended_;  // signalled (under mu_) when a job thread ends
};

}  // namespace aisle::jobs
