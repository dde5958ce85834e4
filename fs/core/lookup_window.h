// LookupWindow: one listing page fetched for a cold lookup. It lists the lookup's directory
// from the looked-up key on, so it knows every key of that directory in [lo, hi] (to the end
// of the directory when the page was its last). Later lookups of names in that range are
// answered without a request: a loop opening files by path in name order (a dataset read
// without a directory scan) costs one listing per window instead of one per file.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "fs/client/cluster_client.h"
#include "fs/core/dir_listing.h"

namespace aisle::fs {

class LookupWindow {
 public:
  enum class Answer { kUnknown, kMissing, kFound };

  // `dir_prefix`: the directory's key prefix ("" or "a/b/"); `lo`: the first key asked for;
  // `page`: the listing of dir_prefix after a key just below `lo` (sorted by name).
  LookupWindow(std::string dir_prefix, std::string lo, ListPage page);

  // Settles the child `name` of the directory when the window covers it: kFound fills
  // *entry (a directory when any key lies under "<key>/", which shadows a same-named object,
  // as in listings), kMissing when neither exists, kUnknown when outside the window.
  Answer Find(const std::string& name, DirEntry* entry) const;

  // The largest key sorting strictly below `key` that a listing can start after (exclusive):
  // names never hold 0xff bytes (UTF-8), so "<key minus its last byte, decremented>\xff".
  static std::string KeyBefore(const std::string& key);

 private:
  std::string dir_prefix_, lo_;
  std::vector<ObjectEntry> entries_;
  bool to_end_;
};

}  // namespace aisle::fs
