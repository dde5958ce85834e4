#include "server/cluster/rebalance_plan.h"

#include <charconv>

namespace aisle::cluster {

RebalanceStep PlanRebalance(const Smap& smap, std::string_view self_id, std::string_view bucket,
                            std::string_view object, int copies) {
  RebalanceStep step;
  auto ranks = smap.RankTargets(bucket, object, static_cast<size_t>(copies));
  if (ranks.empty()) return step;
  bool mine = false;
  for (const Node* n : ranks) mine |= n->id == self_id;
  if (ranks[0]->id == self_id) {
    step.action = RebalanceAction::kRestoreCopies;
    step.targets.assign(ranks.begin() + 1, ranks.end());
  } else if (!mine) {
    step.action = RebalanceAction::kMove;
    step.targets = {ranks[0]};
  }
  return step;
}

bool OwnerCopyIsCurrent(std::string_view owner_copy, std::string_view local_copy,
                        uint64_t local_version) {
  if (owner_copy == local_copy) return true;
  // The version after the '/'; a missing or unreadable one counts as 0.
  size_t slash = owner_copy.find('/');
  std::string_view digits =
      slash == std::string_view::npos ? owner_copy : owner_copy.substr(slash + 1);
  uint64_t version = 0;
  std::from_chars(digits.data(), digits.data() + digits.size(), version);
  return version >= local_version;
}

}  // namespace aisle::cluster
