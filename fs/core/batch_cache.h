// BatchCache: small objects (and shard members) fetched ahead by GetBatch, held in RAM until
// a reader opens them. Bounded: `budget` bytes counting fetches in flight; an entry read is
// removed (the kernel's page cache keeps it from there), one nobody read expires after `ttl`.
// Each entry carries the version and size it was listed with; an open at another version
// discards it, so a cached entry never answers for a different object version. Thread-safe.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

namespace aisle::fs {

class BatchCache {
 public:
  using Clock = std::chrono::steady_clock;
  BatchCache(uint64_t budget, Clock::duration ttl);

  // Claims room for `key` (listed at `version`, `size` bytes): false when it is already held
  // or the budget is spent. A claimed entry is queued until MarkInFlight.
  bool Reserve(const std::string& key, const std::string& version, uint64_t size);
  // Of `keys`, those still claimed and queued (a reader may have cancelled some); marks them
  // in flight, so a reader of one of them waits for it.
  std::vector<std::string> MarkInFlight(const std::vector<std::string>& keys);
  // The bytes of a claimed entry; a size other than the listed one drops it.
  void Fill(const std::string& key, std::string data);
  // The fetch of a claimed entry failed (missing, error): dropped.
  void Fail(const std::string& key);

  // The bytes of `key` when held at `version` and `size`, waiting up to `wait` for a fetch in
  // flight; the entry leaves the cache. A queued entry is cancelled. null: read as usual.
  std::shared_ptr<const std::string> Take(const std::string& key, const std::string& version,
                                          uint64_t size, Clock::duration wait);
  bool Holds(const std::string& key) const;

  uint64_t used() const;
  size_t size() const;   // entries held, fetched or not
  size_t ready() const;  // entries fetched and not yet read
  uint64_t budget() const { return budget_; }
  struct Stats {
    uint64_t hits = 0, misses = 0, stale = 0, expired = 0;
  };
  Stats stats() const;

 private:
  enum class State { kQueued, kInFlight, kReady };
  struct Entry {
    std::string version;
    uint64_t size = 0;
    State state = State::kQueued;
    std::shared_ptr<const std::string> data;
    Clock::time_point ready_at{};
  };
  void Drop(std::unordered_map<std::string, Entry>::iterator it);  // REQUIRES: mu_
  void Expire(Clock::time_point now);                              // REQUIRES: mu_

  const uint64_t budget_;
  const Clock::duration ttl_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::unordered_map<std::string, Entry> entries_;                     // GUARDED_BY(mu_)
  std::deque<std::pair<Clock::time_point, std::string>> ready_order_;  // for expiry
  uint64_t used_ = 0;                                                  // GUARDED_BY(mu_)
  Stats stats_;                                                        // GUARDED_BY(mu_)
};

}  // namespace aisle::fs
