#include "fs/core/lookup_window.h"

#include <algorithm>

namespace aisle::fs {

LookupWindow::LookupWindow(std::string dir_prefix, std::string lo, ListPage page)
    : dir_prefix_(std::move(dir_prefix)),
      lo_(std::move(lo)),
      entries_(std::move(page.entries)),
      to_end_(page.next_token.empty()) {}

std::string LookupWindow::KeyBefore(const std::string& key) {
  if (key.empty()) return key;
  std::string k = key;
  auto& last = reinterpret_cast<unsigned char&>(k.back());
  if (last == 0) {
    k.pop_back();  // no key sorts between "x" and "x\0"
    return k;
  }
  --last;
  k.push_back('\xff');
  return k;
}

LookupWindow::Answer LookupWindow::Find(const std::string& name, DirEntry* entry) const {
  const std::string key = dir_prefix_ + name;
  const std::string under = key + "/";
  // Keys under "<key>/" all sort below "<key>0" ('0' follows '/'): the window must reach
  // that far to rule out a directory, unless it ran to the end of the listing.
  if (key < lo_) return Answer::kUnknown;
  if (!to_end_ && (entries_.empty() || entries_.back().name < key + "0")) {
    if (entries_.empty() || entries_.back().name.compare(0, under.size(), under) != 0)
      return Answer::kUnknown;
  }
  auto by_name = [](const ObjectEntry& e, const std::string& k) { return e.name < k; };
  auto d = std::lower_bound(entries_.begin(), entries_.end(), under, by_name);
  if (d != entries_.end() && d->name.compare(0, under.size(), under) == 0) {
    *entry = DirEntry{name, true, 0, d->mtime_ns, ""};
    return Answer::kFound;
  }
  auto o = std::lower_bound(entries_.begin(), entries_.end(), key, by_name);
  if (o != entries_.end() && o->name == key) {
    *entry = DirEntry{name, false, o->size, o->mtime_ns, o->version};
    return Answer::kFound;
  }
  return Answer::kMissing;
}

}  // namespace aisle::fs
