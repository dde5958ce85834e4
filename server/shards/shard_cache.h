// ShardCache: member indexes of shards, kept in memory (LRU by bytes) and in a sidecar file
// beside each object (Store::SidecarPath). An index is built on first access and tagged with
// the object's version, checksum, size and mtime, so a changed object never uses a stale one.
// The node owns one per store and hands it to the handlers (ApiContext::shards).
// Thread-safe; one build at a time per shard (striped locks), so concurrent first reads of a
// big shard index it once.
#pragma once

#include <atomic>
#include <cstdint>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "common/archive/shard_index.h"
#include "common/result.h"
#include "server/storage/store.h"

namespace aisle::api {

// A shard's file members as listings show them ("<shard>/<member>", size), sorted by name,
// the latest of each name.
struct ShardMemberEntry {
  std::string name;
  uint64_t size = 0;
};
using ShardMembers = std::shared_ptr<const std::vector<ShardMemberEntry>>;

struct OpenShard {
  storage::ObjectReader obj;
  std::shared_ptr<const archive::ShardIndex> index;
};

class ShardCache {
 public:
  explicit ShardCache(storage::Store* store, size_t max_bytes = size_t{512} << 20);

  // Opens the object and its index. format: from archmime, or kUnknown (then the object's
  // name, then its magic bytes decide). Not an archive / corrupt -> kInvalidArgument.
  Result<OpenShard> Open(std::string_view bucket, std::string_view name, archive::Format format);
  // Member indexes built by reading a shard (not found in memory or in a current sidecar).
  uint64_t index_builds() const { return index_builds_.load(std::memory_order_relaxed); }
  // Installs an index built for the object version `obj` (after an append): memory + sidecar.
  void Install(std::string_view bucket, std::string_view name,
               std::shared_ptr<archive::ShardIndex> index);
  // XXH64 state (Xxh64Stream::SaveState) of the shard's data [0, offset) for the object version
  // `tag`, kept in a sidecar (.xxs) by the last in-place append so the next one hashes only
  // its new bytes; empty when there is none for this version and offset.
  std::string LoadHashState(std::string_view bucket, std::string_view name,
                            const archive::IndexTag& tag, uint64_t offset);
  void SaveHashState(std::string_view bucket, std::string_view name, const archive::IndexTag& tag,
                     uint64_t offset, const std::string& state);
  // The sorted member listing of `index` (the shard's current index, from Open): built once
  // per index and kept with it in the cache (counted in its bytes), so paging through one
  // directory of a 100k-member shard does not sort all members per page.
  ShardMembers Members(std::string_view bucket, std::string_view name,
                       const std::shared_ptr<const archive::ShardIndex>& index);
  // Serialises writers (appends) to one shard.
  std::mutex& WriteLock(std::string_view bucket, std::string_view name);

  const archive::Limits& limits() const { return limits_; }
  void set_limits(const archive::Limits& l) { limits_ = l; }
  storage::Store* store() const { return store_; }

 private:
  using Key = std::string;  // bucket + '\0' + name
  struct Slot {
    std::shared_ptr<const archive::ShardIndex> index;
    std::list<Key>::iterator lru;
    ShardMembers members;  // derived from index, built on first listing
    size_t members_bytes = 0;
    size_t Bytes() const { return index->MemoryBytes() + members_bytes; }
  };
  std::shared_ptr<const archive::ShardIndex> Lookup(const Key& key, const archive::IndexTag& tag);
  void Remember(const Key& key, std::shared_ptr<const archive::ShardIndex> index);
  void Persist(std::string_view bucket, std::string_view name, const archive::ShardIndex& idx);
  void PersistSidecar(std::string_view bucket, std::string_view name, const char* suffix,
                      const std::string& data);

  storage::Store* store_;
  size_t max_bytes_;
  archive::Limits limits_;
  std::mutex mu_;  // guards slots_, lru_, bytes_
  std::map<Key, Slot> slots_;
  std::list<Key> lru_;  // most recent first
  std::atomic<uint64_t> index_builds_{0};
  size_t bytes_ = 0;
  static constexpr int kStripes = 64;
  std::mutex build_mu_[kStripes];
  std::mutex write_mu_[kStripes];
};

archive::IndexTag TagOf(const storage::ObjectMeta& m);

}  // namespace aisle::api
