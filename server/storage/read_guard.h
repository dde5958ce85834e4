// Read guards: an in-place append rewrites an object file's header and its last bytes, which a
// reader of the old version streaming the whole object would otherwise see half-changed. Every
// ObjectReader holds a shared guard on its object for as long as its fd lives; an in-place
// append takes the guard exclusively, without waiting, and falls back to a rewrite (a new file,
// always safe for readers) when any reader holds it. Readers arriving during an in-place write
// wait for it (a few fsyncs), then see the new version.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string_view>
#include <unordered_map>

namespace aisle::storage {

class GuardTable {
 public:
  // Key of an object: a hash of bucket and name (a collision only costs a fallback or a wait).
  static uint64_t Key(std::string_view bucket, std::string_view name);
  void LockShared(uint64_t key);  // waits while an in-place writer holds key
  void UnlockShared(uint64_t key);
  bool TryLock(uint64_t key);  // false if a reader or a writer holds key
  void Unlock(uint64_t key);

 private:
  struct Stripe {
    std::mutex mu;
    std::condition_variable cv;
    std::unordered_map<uint64_t, int64_t> holders;  // > 0 readers, -1 a writer; absent: free
  };
  Stripe& StripeOf(uint64_t key) { return stripes_[key % kStripes]; }
  static constexpr int kStripes = 64;
  Stripe stripes_[kStripes];
};

// A reader's shared guard; released by Release() or on destruction.
class ReadGuard {
 public:
  ReadGuard() = default;
  ReadGuard(std::shared_ptr<GuardTable> table, uint64_t key);
  ~ReadGuard() { Release(); }
  ReadGuard(const ReadGuard&) = delete;
  ReadGuard& operator=(const ReadGuard&) = delete;
  void Release();

 private:
  std::mutex mu_;
  std::shared_ptr<GuardTable> table_;  // shared: a reader may outlive its Store
  uint64_t key_ = 0;
};

// The exclusive guard of an in-place writer.
class WriteGuard {
 public:
  WriteGuard(GuardTable& table, uint64_t key) : table_(table), key_(key) {
    held_ = table.TryLock(key);
  }
  ~WriteGuard() {
    if (held_) table_.Unlock(key_);
  }
  WriteGuard(const WriteGuard&) = delete;
  WriteGuard& operator=(const WriteGuard&) = delete;
  bool held() const { return held_; }

 private:
  GuardTable& table_;
  uint64_t key_;
  bool held_ = false;
};

}  // namespace aisle::storage
