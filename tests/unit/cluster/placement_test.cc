// Smap::RankTargets/Owner: AIStore's HRW (core/meta/hrw.go). The rankings below were computed
// independently of this code (a Python transcription of AIStore's Go over the pure-Python
// XXH64 of tests/integration/aisle_testlib.py); the invariants hold for any correct HRW.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "server/cluster/cluster_map.h"
#include "tests/testing/test_smap.h"

namespace aisle::cluster {
namespace {

using testing::Ids;

std::string ObjectName(int i) {
  return "dir" + std::to_string(i % 7) + "/obj-" + std::to_string(i);
}

struct Vector {
  const char* bucket;
  const char* object;
  std::vector<std::string> ranking;
};

TEST(PlacementTest, RankingsMatchAistore) {
  Smap smap = testing::MakeSmap({"t1", "t2", "t3", "t4"});
  const Vector vectors[] = {
      {"bkt", "obj", {"t4", "t3", "t1", "t2"}},
      {"bkt", "a/b/c.txt", {"t3", "t1", "t4", "t2"}},
      {"data", "shard-000001.tar", {"t4", "t2", "t1", "t3"}},
      {"data", "img/0042.jpg", {"t3", "t4", "t2", "t1"}},
      {"b", "o", {"t1", "t3", "t4", "t2"}},
      {"imagenet", "train/n01440764/n01440764_10026.JPEG", {"t2", "t1", "t3", "t4"}},
  };
  for (const auto& v : vectors) {
    EXPECT_EQ(Ids(smap.RankTargets(v.bucket, v.object, 4)), v.ranking)
        << v.bucket << "/" << v.object;
    EXPECT_EQ(smap.Owner(v.bucket, v.object)->id, v.ranking[0]);
  }
}

TEST(PlacementTest, OwnersWithNodeStyleIdsMatchAistore) {
  Smap smap = testing::MakeSmap({"tAbCdEfGh", "tXyZ01234", "tQwErTyUi"});
  EXPECT_EQ(smap.Owner("bkt", "obj")->id, "tQwErTyUi");
  EXPECT_EQ(smap.Owner("data", "img/0042.jpg")->id, "tXyZ01234");
  EXPECT_EQ(Ids(smap.RankTargets("b", "o", 3)),
            (std::vector<std::string>{"tQwErTyUi", "tAbCdEfGh", "tXyZ01234"}));
}

TEST(PlacementTest, RankingIsAPermutationAndCopiesAreItsPrefix) {
  Smap smap = testing::MakeSmap({"t1", "t2", "t3", "t4", "t5"});
  for (int i = 0; i < 200; ++i) {
    auto all = Ids(smap.RankTargets("b", ObjectName(i), 10));
    ASSERT_EQ(all.size(), 5u);
    auto sorted = all;
    std::sort(sorted.begin(), sorted.end());
    EXPECT_EQ(sorted, (std::vector<std::string>{"t1", "t2", "t3", "t4", "t5"}));
    auto two = Ids(smap.RankTargets("b", ObjectName(i), 2));
    EXPECT_EQ(two, (std::vector<std::string>{all[0], all[1]}));
  }
}

TEST(PlacementTest, JoiningNodeOnlyTakesObjects) {
  Smap before = testing::MakeSmap({"t1", "t2", "t3", "t4"});
  Smap after = testing::MakeSmap({"t1", "t2", "t3", "t4", "t5"});
  int moved = 0;
  const int n = 2000;
  for (int i = 0; i < n; ++i) {
    std::string was = before.Owner("b", ObjectName(i))->id;
    std::string now = after.Owner("b", ObjectName(i))->id;
    if (was != now) {
      EXPECT_EQ(now, "t5") << ObjectName(i);
      ++moved;
    }
  }
  // About 1/5 of the objects move to the new node.
  EXPECT_GT(moved, n / 10);
  EXPECT_LT(moved, n * 3 / 10);
}

TEST(PlacementTest, NodeInMaintenanceOnlyGivesUpItsObjects) {
  Smap smap = testing::MakeSmap({"t1", "t2", "t3", "t4"});
  Smap drained = smap;
  drained.targets["t2"].state = NodeState::kMaintenance;
  EXPECT_EQ(drained.ActiveTargets().size(), 3u);
  for (int i = 0; i < 1000; ++i) {
    auto ranks = Ids(smap.RankTargets("b", ObjectName(i), 4));
    std::string now = drained.Owner("b", ObjectName(i))->id;
    // The first of the old ranking that is still online: t2's objects go to their second.
    EXPECT_EQ(now, ranks[0] == "t2" ? ranks[1] : ranks[0]) << ObjectName(i);
  }
}

TEST(PlacementTest, NoOnlineTargetNoOwner) {
  Smap smap = testing::MakeSmap({"t1"});
  smap.targets["t1"].state = NodeState::kDown;
  EXPECT_EQ(smap.Owner("b", "o"), nullptr);
  EXPECT_TRUE(smap.RankTargets("b", "o", 3).empty());
}

// Holders while a target is down: the ranking over online and down targets (not maintenance),
// so an object of a down owner is known to be there, not missing.
TEST(PlacementTest, DownHolderNamesTheDownTargetAmongTheCopies) {
  Smap smap = testing::MakeSmap({"t1", "t2", "t3", "t4"});
  Smap down = smap;
  down.targets["t2"].state = NodeState::kDown;
  down.targets["t4"].state = NodeState::kMaintenance;
  EXPECT_EQ(down.FirstDownTarget()->id, "t2");
  EXPECT_EQ(smap.FirstDownTarget(), nullptr);
  for (int i = 0; i < 1000; ++i) {
    auto all = Ids(smap.RankTargets("b", ObjectName(i), 4));
    all.erase(std::find(all.begin(), all.end(), "t4"));
    EXPECT_EQ(Ids(down.RankHolders("b", ObjectName(i), 3)), all) << ObjectName(i);
    const Node* one = down.DownHolder("b", ObjectName(i), 1);
    EXPECT_EQ(one != nullptr, all[0] == "t2") << ObjectName(i);
    const Node* two = down.DownHolder("b", ObjectName(i), 2);
    EXPECT_EQ(two != nullptr, all[0] == "t2" || all[1] == "t2") << ObjectName(i);
    EXPECT_EQ(smap.DownHolder("b", ObjectName(i), 4), nullptr);
  }
}

// Node URLs in the map carry the scheme: an https node stays https through AIStore's JSON.
TEST(ClusterMapTest, SchemeSurvivesJson) {
  Smap smap;
  smap.version = 3;
  Node t;
  t.id = "tAAA";
  t.role = "target";
  t.host = "127.0.0.1";
  t.port = 8443;
  t.tls = true;
  smap.targets[t.id] = t;
  Node p = t;
  p.id = "pBBB";
  p.role = "proxy";
  p.tls = false;
  smap.proxies[p.id] = p;
  smap.primary_id = p.id;
  auto back = SmapFromJson(SmapToJson(smap));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->targets.at("tAAA").Url(), "https://127.0.0.1:8443");
  EXPECT_EQ(back->proxies.at("pBBB").Url(), "http://127.0.0.1:8443");
}

}  // namespace
}  // namespace aisle::cluster
