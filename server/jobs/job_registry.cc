#include "server/jobs/job_registry.h"

#include <algorithm>
#include <chrono>
#include <random>
#include <system_error>
#include <thread>

#include "common/clock.h"

namespace aisle::jobs {

namespace {

// AIStore-like short id: a letter, then 9 of [A-Za-z0-9].
std::string NewId() {
  static const char kAlnum[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  thread_local std::mt19937_64 rng(std::random_device{}());
  std::string id(1, kAlnum[rng() % 52]);
  for (int i = 0; i < 9; ++i) id += kAlnum[rng() % 62];
  return id;
}

}  // namespace

const char* JobStateName(JobState s) {
  switch (s) {
    case JobState::kRunning: return "running";
    case JobState::kFinished: return "finished";
    case JobState::kAborted: return "aborted";
    case JobState::kFailed: return "failed";
  }
  return "unknown";
}

void Job::NoteError(const std::string& e) {
  std::lock_guard<std::mutex> l(mu_);
  error_ = e;
}

JobSnapshot Job::Snapshot() const {
  JobSnapshot s;
  s.id = id_;
  s.kind = kind_;
  s.bucket = bucket_;
  s.dst_bucket = dst_bucket_;
  s.start_ns = start_ns_;
  s.objects = objects_;
  s.bytes = bytes_;
  s.out_objects = out_objects_;
  s.out_bytes = out_bytes_;
  s.total_objects = total_;
  s.abort_requested = abort_;
  std::lock_guard<std::mutex> l(mu_);
  s.state = state_;
  s.end_ns = end_ns_;
  s.error = error_;
  s.ext = ext_;
  return s;
}

void Job::Count(const std::string& key, uint64_t n) {
  std::lock_guard<std::mutex> l(mu_);
  ext_[key] += n;
}

Registry::~Registry() { AbortAllAndWait(); }

void Registry::AbortAllAndWait() {
  std::unique_lock<std::mutex> l(mu_);
  for (auto& [id, j] : jobs_) j->abort_ = true;
  ended_.wait(l, [this] { return running_ == 0; });
}

std::string Registry::Start(std::string kind, std::string bucket, std::string dst_bucket,
                            std::function<Status(Job&)> fn, std::string id) {
  auto job = std::make_shared<Job>();
  job->kind_ = std::move(kind);
  job->bucket_ = std::move(bucket);
  job->dst_bucket_ = std::move(dst_bucket);
  job->start_ns_ = NowNs();
  {
    std::lock_guard<std::mutex> l(mu_);
    while (id.empty() || jobs_.count(id)) id = NewId();
    job->id_ = id;
    jobs_[id] = job;
    order_.push_back(id);
    Prune();
    ++running_;
    counts_[job->kind_].started++;
  }
  // The thread holds a reference, so a pruned job finishes safely; it is detached, and
  // AbortAllAndWait (the destructor) waits for it through running_.
  try {
    std::thread([this, job, fn = std::move(fn)]() mutable {
      Status st;
      try {
        auto run = std::move(fn);  // its captures end here, before the registry may go
        st = run(*job);
      } catch (const std::exception& e) {
        st = Status::Internal(std::string("job failed: ") + e.what());
      } catch (...) {
        st = Status::Internal("job failed");
      }
      {
        std::lock_guard<std::mutex> l(job->mu_);
        job->end_ns_ = NowNs();
        if (job->aborted()) {
          job->state_ = JobState::kAborted;
          if (job->error_.empty()) job->error_ = "aborted";
        } else if (!st.ok()) {
          job->state_ = JobState::kFailed;
          job->error_ = st.message();
        } else {
          job->state_ = JobState::kFinished;
        }
      }
      // Notified under the lock: once it is released the registry may be gone.
      std::lock_guard<std::mutex> l(mu_);
      --running_;
      counts_[job->kind_].ended++;
      ended_.notify_all();
    }).detach();
  } catch (const std::system_error& e) {
    // No thread for it (EAGAIN): the job ends failed at once; nothing is left to wait for.
    {
      std::lock_guard<std::mutex> l(job->mu_);
      job->end_ns_ = NowNs();
      job->state_ = JobState::kFailed;
      job->error_ = std::string("cannot start the job's thread: ") + e.what();
    }
    std::lock_guard<std::mutex> l(mu_);
    --running_;
    counts_[job->kind_].ended++;
    ended_.notify_all();
  }
  return id;
}

std::map<std::string, Registry::KindCounts> Registry::CountsByKind() const {
  std::lock_guard<std::mutex> l(mu_);
  return counts_;
}

std::optional<JobSnapshot> Registry::Get(const std::string& id) const {
  std::lock_guard<std::mutex> l(mu_);
  auto it = jobs_.find(id);
  if (it == jobs_.end()) return std::nullopt;
  return it->second->Snapshot();
}

std::vector<JobSnapshot> Registry::List(const std::string& kind, bool only_running) const {
  std::vector<JobSnapshot> out;
  std::lock_guard<std::mutex> l(mu_);
  for (auto it = order_.rbegin(); it != order_.rend(); ++it) {
    auto j = jobs_.find(*it);
    if (j == jobs_.end()) continue;
    JobSnapshot s = j->second->Snapshot();
    if (!kind.empty() && s.kind != kind) continue;
    if (only_running && s.state != JobState::kRunning) continue;
    out.push_back(std::move(s));
  }
  return out;
}

Status Registry::Abort(const std::string& id) {
  std::lock_guard<std::mutex> l(mu_);
  auto it = jobs_.find(id);
  if (it == jobs_.end()) return Status::NotFound("job " + id + " does not exist");
  it->second->abort_ = true;
  return Status::OK();
}

void Registry::Prune() {
  size_t finished = 0;
  for (const auto& id : order_) {
    auto it = jobs_.find(id);
    if (it != jobs_.end() && it->second->Snapshot().state != JobState::kRunning) ++finished;
  }
  for (auto it = order_.begin(); finished > kMaxFinished && it != order_.end();) {
    auto j = jobs_.find(*it);
    if (j != jobs_.end() && j->second->Snapshot().state != JobState::kRunning) {
      jobs_.erase(j);
      it = order_.erase(it);
      --finished;
    } else {
      ++it;
    }
  }
}

}  // namespace aisle::jobs
