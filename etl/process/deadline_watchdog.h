// DeadlineWatchdog: one thread that runs a callback when an armed deadline passes. Used to
// interrupt blocking socket calls (the synchronous WebSocket client) at a timeout.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <thread>

namespace aisle::etl {

class DeadlineWatchdog {
 public:
  using Clock = std::chrono::steady_clock;

  DeadlineWatchdog();
  ~DeadlineWatchdog();
  DeadlineWatchdog(const DeadlineWatchdog&) = delete;
  DeadlineWatchdog& operator=(const DeadlineWatchdog&) = delete;

  // Runs fn on the watchdog thread at `when` unless disarmed first. Returns an id.
  uint64_t Arm(Clock::time_point when, std::function<void()> fn);
  // Cancels; true when the callback already ran (waits for a running callback to finish).
  bool Disarm(uint64_t id);

 private:
  void Loop();

  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  uint64_t next_id_ = 1;
  uint64_t firing_ = 0;
  std::multimap<Clock::time_point, uint64_t> by_time_;
  std::map<uint64_t, std::pair<Clock::time_point, std::function<void()>>> armed_;
  std::thread thread_;
};

}  // namespace aisle::etl
