// A one-line transfer progress bar on stderr, redrawn by a background thread; or, when
// disabled (stderr is not a terminal), silent bookkeeping for the final summary.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>

namespace aisle::cli {

class Progress {
 public:
  Progress(std::string verb, uint64_t total_objects, uint64_t total_bytes, bool enabled);
  ~Progress();
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  // Thread-safe. Negative deltas undo bytes of a transfer that restarted or failed.
  void AddBytes(int64_t delta) { bytes_ += delta; }
  void ObjectDone(bool ok) { ok ? ++done_ : ++failed_; }
  // Draws the final state and ends the line; idempotent.
  void Finish();

  uint64_t bytes() const { return bytes_ < 0 ? 0 : static_cast<uint64_t>(bytes_.load()); }
  uint64_t done() const { return done_; }
  uint64_t failed() const { return failed_; }
  double seconds() const;

 private:
  void Draw();

  std::string verb_;
  uint64_t total_objects_;
  uint64_t total_bytes_;
  bool enabled_;
  std::chrono::steady_clock::time_point start_;
  std::atomic<int64_t> bytes_{0};
  std::atomic<uint64_t> done_{0};
  std::atomic<uint64_t> failed_{0};
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

// "0B", "512B", "1.50KiB", "12.3MiB", ...
std::string FormatBytes(uint64_t n);

}  // namespace aisle::cli
