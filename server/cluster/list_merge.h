// The pure half of a fan-out listing: every target answers one page of its own objects, sorted
// by name; the proxy merges them into one page of the bucket (ProxyCluster::ListObjects).
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace aisle::cluster {

struct ListedEntry {
  std::string name;
  std::string json;  // the entry as the target sent it (AIStore LsoEnt JSON)
};

struct MergedPage {
  std::vector<ListedEntry> entries;
  std::string next_token;
};

// One target's answer: entries sorted by name; `truncated` when the target has more after them.
struct TargetListPage {
  std::vector<ListedEntry> entries;
  bool truncated = false;
};

// Merges the pages by name, dropping copies of a name (the first page's entry is kept). A
// truncated page may still hide names past its last one, so nothing after the smallest such
// last name is returned; then at most `page_size` entries. next_token is the last returned name
// when more may follow (a cut or a truncated page), else empty.
MergedPage MergeListPages(std::vector<TargetListPage> pages, size_t page_size);

}  // namespace aisle::cluster
