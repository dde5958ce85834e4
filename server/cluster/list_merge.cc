#include "server/cluster/list_merge.h"

#include <algorithm>
#include <utility>

namespace aisle::cluster {

MergedPage MergeListPages(std::vector<TargetListPage> pages, size_t page_size) {
  std::string limit;
  bool any_truncated = false;
  std::vector<ListedEntry> all;
  for (auto& p : pages) {
    if (p.truncated && !p.entries.empty()) {
      if (!any_truncated || p.entries.back().name < limit) limit = p.entries.back().name;
      any_truncated = true;
    }
    for (auto& e : p.entries) all.push_back(std::move(e));
  }
  // Stable: of equal names the earlier page's entry comes first and is the one kept.
  std::stable_sort(all.begin(), all.end(),
                   [](const auto& a, const auto& b) { return a.name < b.name; });
  MergedPage out;
  for (auto& e : all) {
    if (any_truncated && e.name > limit) break;
    if (!out.entries.empty() && out.entries.back().name == e.name) continue;  // a copy
    out.entries.push_back(std::move(e));
  }
  bool cut = out.entries.size() > page_size;
  if (cut) out.entries.resize(page_size);
  if ((cut || any_truncated) && !out.entries.empty()) out.next_token = out.entries.back().name;
  return out;
}

}  // namespace aisle::cluster
