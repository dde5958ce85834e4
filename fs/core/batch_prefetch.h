// BatchPrefetcher: fetches the small files of a directory (or the members of a shard) ahead of
// its readers with GetBatch, several requests in flight, into a BatchCache. A reader opening
// entry i of a listing moves the directory's cursor to i+1 and keeps up to `lookahead` bytes
// of small siblings fetched or in flight after it (listing order); a directory whose whole
// listing was read (readdir, a shard's member lookup) and whose small files fit in the cache
// is fetched whole, for readers in any order. Batches go one per owning target.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "fs/client/cluster_client.h"
#include "fs/core/batch_cache.h"
#include "fs/core/dir_listing.h"

namespace aisle::fs {

struct BatchPrefetchOptions {
  uint64_t max_object = 1 << 20;  // only objects up to this size
  size_t batch_entries = 256;     // entries per GetBatch
  uint64_t batch_bytes = 8 << 20;
  int in_flight = 4;              // GetBatch requests at once
  uint64_t lookahead = 64 << 20;  // bytes kept fetched ahead of a sequential reader
};

// An open within this many entries after one of the last 8 opens of its directory counts as a
// reader (of a few in parallel) going through it in order; others (random access, e.g. a few
// names of a big shard) fetch nothing ahead.
inline constexpr size_t kSequentialSpan = 64;

// Where a listing's entries live: objects `object_prefix + name`, or, with `shard`, members
// `member_prefix + name` of that shard (listed without a version: the shard's, `shard_version`).
struct BatchDir {
  std::string bucket;
  std::string object_prefix;
  std::string shard;
  std::string member_prefix;
  std::string shard_version;
  // A plain .tar shard (its top directory) of `shard_size` bytes: fetched whole with one GET
  // of the shard when it fits, its small members picked out of the stream.
  bool plain_tar = false;
  uint64_t shard_size = 0;
  std::string Key() const;
  ObjectRef RefOf(const std::string& name) const;
  // The version a cached entry of `e` carries (what an open of it compares).
  const std::string& VersionOf(const DirEntry& e) const;
};

// The cache key of what a read addresses.
std::string BatchKey(const ObjectRef& ref);

class BatchPrefetcher {
 public:
  BatchPrefetcher(ClusterClient& client, BatchCache& cache, BatchPrefetchOptions opts);
  ~BatchPrefetcher();  // drops what is queued, cuts transfers in flight, joins
  BatchPrefetcher(const BatchPrefetcher&) = delete;
  BatchPrefetcher& operator=(const BatchPrefetcher&) = delete;

  // A reader opened entry `index` of `listing` (of `dir`).
  void OnOpen(const BatchDir& dir, const std::shared_ptr<const DirListing>& listing, size_t index);
  // The whole listing of `dir` was read.
  void OnListing(const BatchDir& dir, const std::shared_ptr<const DirListing>& listing);
  // Runs `task` on a prefetch thread unless a task of the same `key` is queued or running
  // (e.g. listing a directory a reader opened a file of).
  void Post(const std::string& key, std::function<void()> task);
  bool small(uint64_t size) const { return size > 0 && size <= opts_.max_object; }

 private:
  struct Batch {
    std::string bucket;
    std::vector<BatchItem> items;
    std::vector<std::string> keys;
    uint64_t bytes = 0;
  };
  struct Task {
    std::string key;  // Post's dedup key ("" for batches)
    std::function<void()> fn;
  };
  // Reserves and queues entries [from, ...) of `l` while their bytes stay under `limit`;
  // returns the index after the last one considered.
  size_t Schedule(const BatchDir& dir, const DirListing& l, size_t from, uint64_t limit);
  void Fetch(Batch& b);
  // The whole-shard path of OnListing: reserves the small members of `l`, then streams the
  // shard once (`keys`: member name -> cache key).
  void ScheduleWholeTar(const BatchDir& dir, const DirListing& l);
  void StreamTar(const BatchDir& dir, std::unordered_map<std::string, std::string>& keys);
  void Worker();

  ClusterClient& client_;
  BatchCache& cache_;
  const BatchPrefetchOptions opts_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Task> queue_;                          // GUARDED_BY(mu_)
  std::unordered_set<std::string> posted_;          // GUARDED_BY(mu_)
  std::unordered_map<std::string, size_t> cursor_;  // dir key -> next index; GUARDED_BY(mu_)
  struct RecentOpens {  // the last few indexes opened in a directory (readers in parallel)
    size_t index[8] = {};
    size_t n = 0;
    size_t run_start = SIZE_MAX;  // where the reader in order began
  };
  std::unordered_map<std::string, RecentOpens> recent_;  // GUARDED_BY(mu_)
  bool stop_ = false;                                    // GUARDED_BY(mu_)
  std::vector<std::thread> threads_;
};

}  // namespace aisle::fs
