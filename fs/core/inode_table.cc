#include "fs/core/inode_table.h"

namespace aisle::fs {

InodeTable::InodeTable() {
  Inode root;
  root.ino = kRootIno;
  root.parent = kRootIno;
  root.kind = Kind::kRoot;
  root.nlookup = 1;
  inodes_[kRootIno] = root;
}

std::optional<Inode> InodeTable::Get(uint64_t ino) const {
  std::lock_guard lk(mu_);
  auto it = inodes_.find(ino);
  if (it == inodes_.end()) return std::nullopt;
  return it->second;
}

std::optional<Inode> InodeTable::FindChild(uint64_t parent, const std::string& name) const {
  std::lock_guard lk(mu_);
  auto it = children_.find({parent, name});
  if (it == children_.end()) return std::nullopt;
  return inodes_.at(it->second);
}

Inode InodeTable::Upsert(uint64_t parent, const std::string& name, Kind kind, const Location& loc,
                         const Attr& attr, Clock::time_point attr_expiry, uint64_t lookups) {
  std::lock_guard lk(mu_);
  auto it = children_.find({parent, name});
  if (it != children_.end()) {
    Inode& in = inodes_.at(it->second);
    if (in.kind == kind) {
      in.loc = loc;
      in.attr = attr;
      in.attr_expiry = attr_expiry;
      in.nlookup += lookups;
      return in;
    }
    children_.erase(it);  // a file became a directory (or back): a new inode
  }
  Inode in;
  in.ino = next_ino_++;
  in.parent = parent;
  in.name = name;
  in.kind = kind;
  in.loc = loc;
  in.attr = attr;
  in.attr_expiry = attr_expiry;
  in.nlookup = lookups;
  inodes_[in.ino] = in;
  children_[{parent, name}] = in.ino;
  return in;
}

void InodeTable::AddLookup(uint64_t ino, uint64_t n) {
  std::lock_guard lk(mu_);
  auto it = inodes_.find(ino);
  if (it != inodes_.end()) it->second.nlookup += n;
}

void InodeTable::Forget(uint64_t ino, uint64_t n) {
  std::lock_guard lk(mu_);
  auto it = inodes_.find(ino);
  if (it == inodes_.end() || ino == kRootIno) return;
  Inode& in = it->second;
  in.nlookup = n >= in.nlookup ? 0 : in.nlookup - n;
  if (in.nlookup > 0) return;
  auto c = children_.find({in.parent, in.name});
  if (c != children_.end() && c->second == ino) children_.erase(c);
  inodes_.erase(it);
}

void InodeTable::Detach(uint64_t parent, const std::string& name) {
  std::lock_guard lk(mu_);
  auto c = children_.find({parent, name});
  if (c == children_.end()) return;
  auto it = inodes_.find(c->second);
  if (it != inodes_.end()) it->second.attr_expiry = {};
  children_.erase(c);
}

void InodeTable::Move(uint64_t parent, const std::string& name, uint64_t new_parent,
                      const std::string& new_name, const Location& new_loc) {
  std::lock_guard lk(mu_);
  auto c = children_.find({parent, name});
  if (c == children_.end()) return;
  uint64_t ino = c->second;
  children_.erase(c);
  children_[{new_parent, new_name}] = ino;  // a replaced target stays alive until forgotten
  Inode& in = inodes_.at(ino);
  in.parent = new_parent;
  in.name = new_name;
  in.loc = new_loc;
}

void InodeTable::SetAttr(uint64_t ino, const Attr& attr, Clock::time_point expiry) {
  std::lock_guard lk(mu_);
  auto it = inodes_.find(ino);
  if (it == inodes_.end()) return;
  it->second.attr = attr;
  it->second.attr_expiry = expiry;
}

void InodeTable::ExpireAttr(uint64_t ino) {
  std::lock_guard lk(mu_);
  auto it = inodes_.find(ino);
  if (it != inodes_.end()) it->second.attr_expiry = {};
}

void InodeTable::SetServedVersion(uint64_t ino, const std::string& v) {
  std::lock_guard lk(mu_);
  auto it = inodes_.find(ino);
  if (it != inodes_.end()) it->second.served_version = v;
}

size_t InodeTable::size() const {
  std::lock_guard lk(mu_);
  return inodes_.size();
}

}  // namespace aisle::fs
