// DirListing: one directory's entries, collapsed from paged flat object listings.
// A name "p/x/y" under the listed prefix "p/" becomes the directory "x"; "p/z" the file "z";
// when both "x" and "x/..." exist the directory wins (the object is shadowed).
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/result.h"
#include "fs/client/cluster_client.h"

namespace aisle::fs {

struct DirEntry {
  std::string name;
  bool is_dir = false;
  uint64_t size = 0;
  int64_t mtime_ns = 0;
  std::string version;
};

struct DirListing {
  std::vector<DirEntry> entries;  // sorted by name, unique
  const DirEntry* Find(const std::string& name) const;
};

// What to list: `prefix` is sent to the server; entries are taken relative to `strip`
// (== prefix for plain directories; "<shard>/" or "<shard>/<dir>/" inside shards).
struct ListingSpec {
  std::string bucket;
  std::string prefix;
  std::string strip;
  bool archive = false;
  std::string CacheKey() const;
};

// Lists every page (jumping over whole subdirectories with start_after, so a directory with
// millions of objects below a few subdirectories costs a few requests), and collapses.
Result<std::shared_ptr<const DirListing>> FetchListing(ClusterClient& client,
                                                       const ListingSpec& spec);

// ListingStream: the same listing, delivered while its pages arrive, so readdir of a huge
// directory overlaps the cluster's listing instead of waiting for all of it. Entries come in
// server order (not sorted); an object that a same-named directory shadows is held back until
// no later name can start with "name/", so the stream and FetchListing agree on the set.
// Thread-safe. The destructor stops after the page in flight and joins.
class ListingStream {
 public:
  ListingStream(ClusterClient& client, ListingSpec spec);
  ~ListingStream();
  ListingStream(const ListingStream&) = delete;
  ListingStream& operator=(const ListingStream&) = delete;

  // Entry i, waiting for it; nullptr once the listing ended with fewer entries.
  Result<const DirEntry*> At(size_t i);
  // Waits for the end: the whole listing, sorted (to cache and answer lookups).
  Result<std::shared_ptr<const DirListing>> Wait();
  const ListingSpec& spec() const { return spec_; }

 private:
  void Run();
  void Emit(DirEntry e);  // REQUIRES: mu_

  ClusterClient& client_;
  const ListingSpec spec_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<DirEntry> entries_;   // stable addresses; GUARDED_BY(mu_)
  std::vector<DirEntry> pending_;  // objects a directory may still shadow
  std::string last_dir_;
  bool done_ = false, stop_ = false;
  Status status_;
  std::shared_ptr<const DirListing> sorted_;
  std::thread thread_;
};

}  // namespace aisle::fs
