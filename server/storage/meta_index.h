// MetaIndex: a mountpath's persistent, ordered object index on LMDB (docs/INTERNALS.md,
// "Object index"). One LMDB environment per mountpath under MP/.aisle/index/ with three
// tables:
//   objects  <bucket>\0<name key> -> IndexEntry (+ the full name when the key is shortened)
//   pending  same key -> a file step still to finish (replayed at start; see store.cc)
//   meta     small facts: format, "built" (the index covers every object file), "clean"
// Writers batch into one durable LMDB transaction (group commit): a Commit returns once its
// operations are on disk. Readers never block writers (MVCC snapshots). The memory is LMDB's
// mmap, i.e. page cache the kernel may reclaim, not heap; the pages a process has touched
// count in its RSS, so after every `resident_bytes` of entries walked or written the map's
// pages are dropped from the process (they stay in the page cache; see DropMappedPages).
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace aisle::storage {

struct IndexEntry {
  uint64_t size = 0;
  uint64_t xxhash = 0;
  uint64_t version = 0;
  int64_t mtime_ns = 0;
  int64_t atime_ns = 0;
  // The object's S3 ETag (custom metadata kCustomS3Etag) when it has one of at most 255
  // bytes: listings report it without opening the object.
  std::string etag;
};

// Values: the five numbers (40 bytes), the ETag's length (1 byte) and bytes, then the full name
// when the key is shortened. Keys are ordered as the names (bytes) within a bucket. LMDB keys are
// at most 511 bytes, so a name longer than kMaxKeyName keeps its first kMaxKeyName bytes followed
// by an XXH64 of the whole name (the value then carries the full name): such names still page
// consistently but sort by that hash among names sharing their first kMaxKeyName bytes.
constexpr size_t kMaxKeyName = 400;
std::string ObjectKey(std::string_view bucket, std::string_view name);
std::string BucketKeyPrefix(std::string_view bucket);  // <bucket>\0
std::string EncodeEntry(const IndexEntry& e, std::string_view name);
// The name comes from the key (short names) or the value (long ones).
bool DecodeEntry(std::string_view key, std::string_view value, size_t bucket_len, IndexEntry* e,
                 std::string* name);

enum class IndexTable { kObjects, kPending, kMeta };

struct IndexOp {
  IndexTable table = IndexTable::kObjects;
  std::string key;
  std::string value;
  bool del = false;
  // For deletes: only when the stored value still equals this (a later op may have replaced
  // it). Empty: unconditional.
  std::string if_value;
  static IndexOp Put(IndexTable t, std::string k, std::string v) {
    return {t, std::move(k), std::move(v), false, {}};
  }
  static IndexOp Del(IndexTable t, std::string k, std::string if_value = {}) {
    return {t, std::move(k), {}, true, std::move(if_value)};
  }
};

class MetaIndex {
 public:
  struct OpenInfo {
    bool built = false;       // holds every object file already (else the caller builds it)
    bool clean = false;       // the previous run closed it (no crash)
    std::string damaged;      // non-empty: the index was unreadable and was set aside (why)
    bool old_format = false;  // entries of an older format: the caller rebuilds (not built)
  };
  // Opens (creating) the environment in `dir`; an unreadable one is moved aside to
  // <dir>.bad-<time> and started afresh (reported in info->damaged).
  static Result<std::unique_ptr<MetaIndex>> Open(const std::string& dir, OpenInfo* info,
                                                 uint64_t resident_bytes = kDefaultResident);
  static constexpr uint64_t kDefaultResident = uint64_t{64} << 20;
  ~MetaIndex();  // flushes deferred ops

  // Applies ops (and any deferred ones) in one durable transaction shared with concurrent
  // callers.
  Status Commit(std::vector<IndexOp> ops);
  // Ops that need no durability of their own (clearing finished pending records): applied by
  // the next Commit or Flush.
  void Defer(std::vector<IndexOp> ops);
  Status Flush() { return Commit({}); }

  Result<std::optional<std::string>> Get(IndexTable t, std::string_view key) const;
  // Calls fn(key, value) from the first key >= from in order, within one snapshot, until fn
  // returns false or the table ends.
  Status Scan(IndexTable t, std::string_view from,
              const std::function<bool(std::string_view, std::string_view)>& fn) const;
  Result<uint64_t> Count(IndexTable t) const;
  // Removes every key starting with prefix, in bounded transactions.
  Status DeletePrefix(IndexTable t, std::string_view prefix);
  Status Clear(IndexTable t);
  const std::string& dir() const { return dir_; }
  // Unmaps the index pages from this process (madvise MADV_DONTNEED on LMDB's read-only
  // shared map): RSS drops, the page cache keeps them, the next access is a minor fault.
  void DropMappedPages() const;

  struct Env;

 private:
  MetaIndex() = default;
  Status Apply(std::vector<IndexOp>& ops);
  // Counts bytes of keys and values walked or written; past resident_ drops the mapped pages.
  void NoteTouched(uint64_t bytes) const;

  std::string dir_;
  std::unique_ptr<Env> env_;
  uint64_t resident_ = kDefaultResident;
  mutable std::atomic<uint64_t> touched_{0};
  // Group commit: one leader writes everything queued; the others wait for its result.
  struct Request {
    std::vector<IndexOp> ops;
    bool done = false;
    Status status;
  };
  std::mutex mu_;
  std::condition_variable cv_;
  bool leader_ = false;
  std::vector<Request*> queue_;
  std::vector<IndexOp> deferred_;
};

}  // namespace aisle::storage
