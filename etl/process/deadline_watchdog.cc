#include "etl/process/deadline_watchdog.h"

namespace aisle::etl {

DeadlineWatchdog::DeadlineWatchdog() : thread_([this] { Loop(); }) {}

DeadlineWatchdog::~DeadlineWatchdog() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

uint64_t DeadlineWatchdog::Arm(Clock::time_point when, std::function<void()> fn) {
  std::lock_guard lock(mu_);
  uint64_t id = next_id_++;
  armed_.emplace(id, std::make_pair(when, std::move(fn)));
  by_time_.emplace(when, id);
  cv_.notify_all();
  return id;
}

bool DeadlineWatchdog::Disarm(uint64_t id) {
  std::unique_lock lock(mu_);
  auto it = armed_.find(id);
  if (it != armed_.end()) {
    auto range = by_time_.equal_range(it->second.first);
    for (auto t = range.first; t != range.second; ++t) {
      if (t->second == id) {
        by_time_.erase(t);
        break;
      }
    }
    armed_.erase(it);
    return false;
  }
  cv_.wait(lock, [&] { return firing_ != id; });
  return true;
}

void DeadlineWatchdog::Loop() {
  std::unique_lock lock(mu_);
  while (!stop_) {
    if (by_time_.empty()) {
      cv_.wait(lock);
      continue;
    }
    auto first = by_time_.begin();
    if (Clock::now() < first->first) {
      const Clock::time_point when = first->first;  // the node may go while we wait
      cv_.wait_until(lock, when);
      continue;
    }
    uint64_t id = first->second;
    by_time_.erase(first);
    auto it = armed_.find(id);
    if (it == armed_.end()) continue;
    std::function<void()> fn = std::move(it->second.second);
    armed_.erase(it);
    firing_ = id;
    lock.unlock();
    try {
      fn();
    } catch (...) {
    }
    lock.lock();
    firing_ = 0;
    cv_.notify_all();
  }
}

}  // namespace aisle::etl
