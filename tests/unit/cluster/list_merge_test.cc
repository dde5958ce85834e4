// MergeListPages: one page of a bucket from the targets' pages (ProxyCluster::ListObjects).
#include "server/cluster/list_merge.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace aisle::cluster {
namespace {

// A target's page of `names`; each entry's json says which target sent it.
TargetListPage Page(const std::string& target, std::vector<std::string> names,
                    bool truncated = false) {
  TargetListPage p;
  for (auto& n : names) p.entries.push_back({n, target + ":" + n});
  p.truncated = truncated;
  return p;
}

std::vector<std::string> Names(const MergedPage& m) {
  std::vector<std::string> out;
  for (const auto& e : m.entries) out.push_back(e.name);
  return out;
}

using V = std::vector<std::string>;

TEST(ListMergeTest, InterleavedPagesMergeByName) {
  auto m = MergeListPages({Page("t1", {"a", "d", "e"}), Page("t2", {"b", "c", "f"})}, 100);
  EXPECT_EQ(Names(m), (V{"a", "b", "c", "d", "e", "f"}));
  EXPECT_EQ(m.next_token, "");
}

TEST(ListMergeTest, CopiesOnSeveralTargetsAppearOnce) {
  auto m = MergeListPages(
      {Page("t1", {"a", "b", "c"}), Page("t2", {"b", "c", "d"}), Page("t3", {"c"})}, 100);
  EXPECT_EQ(Names(m), (V{"a", "b", "c", "d"}));
  // Of equal names the first target's entry is kept.
  EXPECT_EQ(m.entries[1].json, "t1:b");
  EXPECT_EQ(m.entries[2].json, "t1:c");
  EXPECT_EQ(m.entries[3].json, "t2:d");
}

TEST(ListMergeTest, PageSizeCutsAndTheTokenIsTheLastName) {
  auto m = MergeListPages({Page("t1", {"a", "c", "e"}), Page("t2", {"b", "d"})}, 3);
  EXPECT_EQ(Names(m), (V{"a", "b", "c"}));
  EXPECT_EQ(m.next_token, "c");
  // Exactly full is not a cut.
  auto full = MergeListPages({Page("t1", {"a", "c"}), Page("t2", {"b"})}, 3);
  EXPECT_EQ(Names(full), (V{"a", "b", "c"}));
  EXPECT_EQ(full.next_token, "");
}

TEST(ListMergeTest, CopiesDoNotCountAgainstThePageSize) {
  auto m = MergeListPages({Page("t1", {"a", "b"}), Page("t2", {"a", "b"})}, 2);
  EXPECT_EQ(Names(m), (V{"a", "b"}));
  EXPECT_EQ(m.next_token, "");
}

TEST(ListMergeTest, NothingPastATruncatedPagesLastName) {
  // t1 has more after "c": a later name from t2 could sort after t1's unseen ones.
  auto m = MergeListPages({Page("t1", {"a", "c"}, true), Page("t2", {"b", "d", "e"})}, 100);
  EXPECT_EQ(Names(m), (V{"a", "b", "c"}));
  EXPECT_EQ(m.next_token, "c");
}

TEST(ListMergeTest, TheSmallestLastNameOfTruncatedPagesLimits) {
  auto m = MergeListPages(
      {Page("t1", {"a", "x"}, true), Page("t2", {"b", "m"}, true), Page("t3", {"c", "z"})}, 100);
  EXPECT_EQ(Names(m), (V{"a", "b", "c", "m"}));
  EXPECT_EQ(m.next_token, "m");
}

TEST(ListMergeTest, TruncatedThenCutTakesTheCut) {
  auto m = MergeListPages({Page("t1", {"a", "b", "c", "d"}, true), Page("t2", {"a1"})}, 2);
  EXPECT_EQ(Names(m), (V{"a", "a1"}));
  EXPECT_EQ(m.next_token, "a1");
}

TEST(ListMergeTest, EmptyPages) {
  EXPECT_TRUE(MergeListPages({}, 10).entries.empty());
  auto m = MergeListPages({Page("t1", {}), Page("t2", {"a"}), Page("t3", {})}, 10);
  EXPECT_EQ(Names(m), (V{"a"}));
  EXPECT_EQ(m.next_token, "");
  // A truncated page with no entries sets no limit.
  auto t = MergeListPages({Page("t1", {}, true), Page("t2", {"a", "b"})}, 10);
  EXPECT_EQ(Names(t), (V{"a", "b"}));
  EXPECT_EQ(t.next_token, "");
  auto none = MergeListPages({Page("t1", {}), Page("t2", {})}, 10);
  EXPECT_TRUE(none.entries.empty());
  EXPECT_EQ(none.next_token, "");
}

TEST(ListMergeTest, NamesCompareAsBytes) {
  auto m = MergeListPages({Page("t1", {"B", "a/b"}), Page("t2", {"a", "a-b", "a/a"})}, 10);
  EXPECT_EQ(Names(m), (V{"B", "a", "a-b", "a/a", "a/b"}));
}

}  // namespace
}  // namespace aisle::cluster
