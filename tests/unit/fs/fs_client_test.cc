// fs/client pieces that need no server: cluster map parsing and HRW owner choice, HTTP status
// mapping.
#include <gtest/gtest.h>

#include "common/hrw.h"
#include "fs/client/cluster_map.h"
#include "fs/client/http_cluster_client.h"
#include "fs/client/proxy_list.h"

namespace aisle::fs {
namespace {

TEST(ClusterMapTest, SingleTargetMeansEndpoint) {
  auto m = ClusterMap::Parse(
      R"({"tmap":{"t1":{"public_net":{"direct_url":"http://127.0.0.1:1"}}},"version":1})");
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->size(), 1u);
  EXPECT_EQ(m->OwnerUrl("b", "o"), "");  // nothing to gain: use the endpoint
}

TEST(ClusterMapTest, ProxiesAreKept) {
  auto m = ClusterMap::Parse(R"({"pmap":{"p1":{"public_net":{"direct_url":"http://p:1/"}},
      "p2":{"public_net":{}}},"tmap":{}})");
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->proxies(), (std::vector<std::string>{"http://p:1"}));
}

TEST(ProxyListTest, FailsOverAndLearns) {
  ProxyList l({"http://a:1/", "http://b:2", "http://a:1"});
  EXPECT_EQ(l.size(), 2u);
  EXPECT_EQ(l.Current(), "http://a:1");
  std::string base;
  EXPECT_TRUE(l.IsProxyUrl("http://b:2/v1/buckets", &base));
  EXPECT_EQ(base, "http://b:2");
  EXPECT_FALSE(l.IsProxyUrl("http://b:20/v1/buckets", &base));  // another port
  EXPECT_FALSE(l.IsProxyUrl("http://t:9/v1/objects/b/o", &base));
  EXPECT_EQ(l.Failed("http://a:1"), "http://b:2");
  EXPECT_EQ(l.Failed("http://a:1"), "http://b:2");  // another caller moved on already
  l.Learn({"http://b:2", "http://c:3"});
  EXPECT_EQ(l.size(), 3u);
  EXPECT_EQ(l.Failed("http://b:2"), "http://c:3");
  EXPECT_EQ(l.Failed("http://c:3"), "http://a:1");  // round again
}

TEST(ClusterMapTest, OwnerIsTheHighestHrwScore) {
  auto m = ClusterMap::Parse(R"({"tmap":{
      "tA":{"public_net":{"direct_url":"http://a:1"}},
      "tB":{"public_net":{"direct_url":"http://b:1"}},
      "tC":{"public_net":{"direct_url":"http://c:1"}},
      "tX":{"public_net":{}}}})");
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->size(), 3u);  // tX has no URL
  int hits[3] = {0, 0, 0};
  for (int i = 0; i < 300; ++i) {
    std::string obj = "obj-" + std::to_string(i);
    uint64_t name = HrwDigest(MakeUname("bkt", obj));
    const char* ids[] = {"tA", "tB", "tC"};
    const char* urls[] = {"http://a:1", "http://b:1", "http://c:1"};
    int best = 0;
    for (int k = 1; k < 3; ++k) {
      if (HrwScore(HrwDigest(ids[k]), name) > HrwScore(HrwDigest(ids[best]), name)) best = k;
    }
    ASSERT_EQ(m->OwnerUrl("bkt", obj), urls[best]);
    ++hits[best];
  }
  for (int h : hits) EXPECT_GT(h, 50);  // spread over all targets
  EXPECT_FALSE(ClusterMap::Parse("not json").ok());
}

TEST(HttpStatusMapTest, MapsCodes) {
  EXPECT_TRUE(StatusFromHttp(404, R"({"message":"x does not exist"})", "get").IsNotFound());
  EXPECT_EQ(StatusFromHttp(503, "", "get").code(), StatusCode::kUnavailable);
  EXPECT_EQ(StatusFromHttp(507, "", "put").code(), StatusCode::kNoSpace);
  EXPECT_EQ(StatusFromHttp(500, "", "put").code(), StatusCode::kIOError);
  EXPECT_NE(StatusFromHttp(404, R"({"message":"x does not exist"})", "get")
                .message()
                .find("does not exist"),
            std::string::npos);
}

}  // namespace
}  // namespace aisle::fs
