// InodeTable: counter-based inode numbers (never reused, never pointers), the parent/name
// tree the kernel has looked up, honest lookup counts, and each inode's cached attributes.
// An inode leaves the table only when forget drops its lookup count to zero.
// Lock order: InodeTable::mu_ is a leaf lock; never call the cluster while holding it.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "fs/core/path_scheme.h"

namespace aisle::fs {

using Clock = std::chrono::steady_clock;

inline constexpr uint64_t kRootIno = 1;

struct Attr {
  uint64_t size = 0;
  int64_t mtime_ns = 0;
  std::string version;  // object version from the listing ("" for directories)
};

struct Inode {
  uint64_t ino = 0;
  uint64_t parent = 0;
  std::string name;
  Kind kind = Kind::kFile;
  Location loc;
  uint64_t nlookup = 0;
  Attr attr;
  Clock::time_point attr_expiry{};  // attributes are re-listed after this
  std::string served_version;       // version a reader last saw (keep_cache when unchanged)
};

class InodeTable {
 public:
  InodeTable();  // creates the root (ino 1, kind kRoot, never forgotten)

  std::optional<Inode> Get(uint64_t ino) const;
  std::optional<Inode> FindChild(uint64_t parent, const std::string& name) const;

  // Returns the child `name` of `parent`, creating it (with a new number) when absent or when
  // its kind changed; refreshes location and attributes. Adds `lookups` to its lookup count.
  Inode Upsert(uint64_t parent, const std::string& name, Kind kind, const Location& loc,
               const Attr& attr, Clock::time_point attr_expiry, uint64_t lookups);
  void AddLookup(uint64_t ino, uint64_t n);
  // Drops n lookups; removes the inode at zero (the root stays).
  void Forget(uint64_t ino, uint64_t n);
  // Detaches the name (unlink/rmdir); the inode lives on until forgotten.
  void Detach(uint64_t parent, const std::string& name);
  // Moves the name (rename); the inode keeps its number. Replaces any existing target name.
  void Move(uint64_t parent, const std::string& name, uint64_t new_parent,
            const std::string& new_name, const Location& new_loc);
  void SetAttr(uint64_t ino, const Attr& attr, Clock::time_point expiry);
  void ExpireAttr(uint64_t ino);
  void SetServedVersion(uint64_t ino, const std::string& v);
  size_t size() const;

 private:
  using ChildKey = std::pair<uint64_t, std::string>;
  mutable std::mutex mu_;
  uint64_t next_ino_ = 2;                       // GUARDED_BY(mu_)
  std::unordered_map<uint64_t, Inode> inodes_;  // GUARDED_BY(mu_)
  std::map<ChildKey, uint64_t> children_;       // GUARDED_BY(mu_)
};

}  // namespace aisle::fs
