// MetaCache: directory listings and negative lookups, each trusted for a TTL, plus the
// directories made with mkdir that exist only on this client until a file is put under them.
// Invalidated by this client's own writes. Lock order: a leaf lock, like InodeTable's.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "fs/core/dir_listing.h"
#include "fs/core/inode_table.h"
#include "fs/core/lookup_window.h"

namespace aisle::fs {

class MetaCache {
 public:
  MetaCache(Clock::duration dir_ttl, Clock::duration negative_ttl)
      : dir_ttl_(dir_ttl), negative_ttl_(negative_ttl) {}

  std::shared_ptr<const DirListing> GetListing(const std::string& key) const;
  void PutListing(const std::string& key, std::shared_ptr<const DirListing> listing);
  // Drops every cached listing of `bucket` (writes change parents and shard listings).
  void InvalidateBucket(const std::string& bucket);

  // Lookup windows of one directory (bucket + key prefix): the answer of the first window
  // that covers `name` (kUnknown when none does).
  // `members`: a directory inside a shard (listed with the archive flag).
  LookupWindow::Answer FindInWindows(const std::string& bucket, const std::string& dir_prefix,
                                     bool members, const std::string& name, DirEntry* entry) const;
  bool HasWindows(const std::string& bucket, const std::string& dir_prefix, bool members) const;
  void PutWindow(const std::string& bucket, const std::string& dir_prefix, bool members,
                 std::shared_ptr<const LookupWindow> window);

  // Member listings of shards by (listing key, shard version): no TTL, since a shard's members
  // change only with a new version (a new key); at most `max_members` members in total, the
  // oldest listings dropped first.
  std::shared_ptr<const DirListing> GetShardListing(const std::string& key,
                                                    const std::string& version) const;
  void PutShardListing(const std::string& key, const std::string& version,
                       std::shared_ptr<const DirListing> listing, uint64_t max_members);

  bool IsNegative(uint64_t parent, const std::string& name) const;
  void PutNegative(uint64_t parent, const std::string& name);
  void ClearNegative(uint64_t parent, const std::string& name);

  // Client-side empty directories, as (bucket, key) pairs.
  void AddLocalDir(const std::string& bucket, const std::string& key);
  bool IsLocalDir(const std::string& bucket, const std::string& key) const;
  void RemoveLocalDir(const std::string& bucket, const std::string& key);
  // Names of local directories directly under `parent_key` of `bucket`.
  std::vector<std::string> LocalChildren(const std::string& bucket,
                                         const std::string& parent_key) const;

 private:
  struct CachedListing {
    std::shared_ptr<const DirListing> listing;
    Clock::time_point expiry;
  };
  const Clock::duration dir_ttl_, negative_ttl_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, CachedListing> listings_;  // GUARDED_BY(mu_)
  struct CachedWindow {
    std::shared_ptr<const LookupWindow> window;
    Clock::time_point expiry;
  };
  std::unordered_map<std::string, std::vector<CachedWindow>> windows_;  // GUARDED_BY(mu_)
  size_t window_count_ = 0;                                             // GUARDED_BY(mu_)
  std::unordered_map<std::string, std::shared_ptr<const DirListing>> shard_listings_;  // (mu_)
  std::deque<std::string> shard_order_;  // oldest first; GUARDED_BY(mu_)
  uint64_t shard_members_ = 0;           // GUARDED_BY(mu_)
  std::map<std::pair<uint64_t, std::string>, Clock::time_point> negative_;  // GUARDED_BY(mu_)
  std::set<std::pair<std::string, std::string>> local_dirs_;                // GUARDED_BY(mu_)
};

}  // namespace aisle::fs
