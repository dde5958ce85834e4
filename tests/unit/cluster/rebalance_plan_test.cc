// PlanRebalance / OwnerCopyIsCurrent: what a target does with each local object after a map
// change (TargetCluster::RunRebalance). "bkt/obj" ranks t4, t3, t1, t2 over t1..t4 (see
// placement_test.cc).
#include "server/cluster/rebalance_plan.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/testing/test_smap.h"

namespace aisle::cluster {
namespace {

using testing::Ids;

using V = std::vector<std::string>;

class RebalancePlanTest : public ::testing::Test {
 protected:
  RebalanceStep Plan(const std::string& self, int copies) {
    return PlanRebalance(smap_, self, "bkt", "obj", copies);
  }
  Smap smap_ = testing::MakeSmap({"t1", "t2", "t3", "t4"});
};

TEST_F(RebalancePlanTest, OwnerRestoresTheOtherCopies) {
  auto one = Plan("t4", 1);
  EXPECT_EQ(one.action, RebalanceAction::kRestoreCopies);
  EXPECT_TRUE(one.targets.empty());
  auto three = Plan("t4", 3);
  EXPECT_EQ(three.action, RebalanceAction::kRestoreCopies);
  EXPECT_EQ(Ids(three.targets), (V{"t3", "t1"}));
}

TEST_F(RebalancePlanTest, CopyHolderKeeps) {
  EXPECT_EQ(Plan("t3", 2).action, RebalanceAction::kKeep);
  EXPECT_EQ(Plan("t1", 3).action, RebalanceAction::kKeep);
  EXPECT_TRUE(Plan("t3", 2).targets.empty());
}

TEST_F(RebalancePlanTest, NonHolderMovesToTheOwner) {
  auto extra = Plan("t1", 2);  // a copy beyond `copies`, e.g. after copies went 3 -> 2
  EXPECT_EQ(extra.action, RebalanceAction::kMove);
  EXPECT_EQ(Ids(extra.targets), (V{"t4"}));
  EXPECT_EQ(Plan("t2", 1).action, RebalanceAction::kMove);
  EXPECT_EQ(Ids(Plan("t2", 1).targets), (V{"t4"}));
}

TEST_F(RebalancePlanTest, MoreCopiesThanTargetsMeansEveryoneHolds) {
  EXPECT_EQ(Plan("t2", 10).action, RebalanceAction::kKeep);
  EXPECT_EQ(Ids(Plan("t4", 10).targets), (V{"t3", "t1", "t2"}));
}

TEST_F(RebalancePlanTest, OwnerInMaintenanceHandsOver) {
  smap_.targets["t4"].state = NodeState::kMaintenance;
  auto leaving = Plan("t4", 1);
  EXPECT_EQ(leaving.action, RebalanceAction::kMove);
  EXPECT_EQ(Ids(leaving.targets), (V{"t3"}));
  auto next = Plan("t3", 2);
  EXPECT_EQ(next.action, RebalanceAction::kRestoreCopies);
  EXPECT_EQ(Ids(next.targets), (V{"t1"}));
}

TEST_F(RebalancePlanTest, JoiningTargetTakesOverWhatItNowOwns) {
  Smap grown = testing::MakeSmap({"t1", "t2", "t3", "t4", "t5"});
  int checked = 0;
  for (int i = 0; i < 200 && checked < 5; ++i) {
    std::string obj = "obj-" + std::to_string(i);
    std::string was = smap_.Owner("bkt", obj)->id;
    if (grown.Owner("bkt", obj)->id != "t5") {
      // Unchanged owner: it keeps restoring copies, nobody else moves anything.
      EXPECT_EQ(PlanRebalance(grown, was, "bkt", obj, 1).action, RebalanceAction::kRestoreCopies);
      continue;
    }
    ++checked;
    auto old_owner = PlanRebalance(grown, was, "bkt", obj, 1);
    EXPECT_EQ(old_owner.action, RebalanceAction::kMove) << obj;
    EXPECT_EQ(Ids(old_owner.targets), (V{"t5"})) << obj;
    // With two copies the old owner is now second: it keeps; t5 copies to it (a no-op if there).
    EXPECT_EQ(PlanRebalance(grown, was, "bkt", obj, 2).action, RebalanceAction::kKeep) << obj;
    auto t5 = PlanRebalance(grown, "t5", "bkt", obj, 2);
    EXPECT_EQ(t5.action, RebalanceAction::kRestoreCopies);
    EXPECT_EQ(Ids(t5.targets), (V{was}));
  }
  EXPECT_EQ(checked, 5);
}

TEST_F(RebalancePlanTest, NothingToDoWithoutOnlineTargetsOrCopies) {
  EXPECT_EQ(Plan("t1", 0).action, RebalanceAction::kKeep);
  for (auto& [id, n] : smap_.targets) n.state = NodeState::kDown;
  EXPECT_EQ(Plan("t4", 1).action, RebalanceAction::kKeep);
  EXPECT_EQ(Plan("t1", 1).action, RebalanceAction::kKeep);
}

TEST(OwnerCopyIsCurrentTest, SameOrNewerVersionMakesOursRedundant) {
  EXPECT_TRUE(OwnerCopyIsCurrent("00ab/3", "00ab/3", 3));
  EXPECT_TRUE(OwnerCopyIsCurrent("ffff/4", "00ab/3", 3));  // newer at the owner
  EXPECT_TRUE(OwnerCopyIsCurrent("ffff/3", "00ab/3", 3));  // same version, other content
  EXPECT_FALSE(OwnerCopyIsCurrent("00ab/2", "00ab/3", 3));
  EXPECT_FALSE(OwnerCopyIsCurrent("ffff/2", "00ab/3", 3));
}

TEST(OwnerCopyIsCurrentTest, UnreadableVersionsCountAsZero) {
  EXPECT_FALSE(OwnerCopyIsCurrent("00ab/", "00ab/1", 1));
  EXPECT_FALSE(OwnerCopyIsCurrent("garbage", "00ab/1", 1));
  EXPECT_FALSE(OwnerCopyIsCurrent("00ab/99999999999999999999999", "00ab/1", 1));  // no throw
  EXPECT_TRUE(OwnerCopyIsCurrent("00ab/", "00ab/0", 0));
  EXPECT_TRUE(OwnerCopyIsCurrent("7", "00ab/5", 5));  // no '/': the whole value is the version
}

}  // namespace
}  // namespace aisle::cluster
