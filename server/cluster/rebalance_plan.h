// The pure decisions of a rebalance pass (TargetCluster::RunRebalance), one local object at a
// time, from the new cluster map and the bucket's number of copies.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "server/cluster/cluster_map.h"

namespace aisle::cluster {

enum class RebalanceAction {
  kKeep,           // this target is one of the copy holders (not the owner), or nobody is online
  kRestoreCopies,  // this target owns the object: make sure `targets` (copies 2..N) hold one
  kMove,           // not a holder any more: hand it to `targets[0]` (the owner), then drop ours
};

struct RebalanceStep {
  RebalanceAction action = RebalanceAction::kKeep;
  std::vector<const Node*> targets;  // pointers into the Smap the plan was made from
};

// What `self_id` does with its local bucket/object under `smap` with `copies` copies.
RebalanceStep PlanRebalance(const Smap& smap, std::string_view self_id, std::string_view bucket,
                            std::string_view object, int copies);

// For kMove: whether the owner's copy, described as "<checksum>/<version>" (RemoteChecksum),
// already makes ours redundant: the same checksum and version, or a version at least ours. Then
// ours is only dropped; otherwise it is sent first.
bool OwnerCopyIsCurrent(std::string_view owner_copy, std::string_view local_copy,
                        uint64_t local_version);

}  // namespace aisle::cluster
