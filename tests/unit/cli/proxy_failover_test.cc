// The CLI's endpoint list and the proxies it learns from a cluster map.
#include "cli/proxy_failover.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace aisle::cli {
namespace {

TEST(ProxyFailoverTest, ParsesAList) {
  auto l = ParseEndpoints("127.0.0.1:1, http://h:2/ ,https://s:3,127.0.0.1:1");
  ASSERT_TRUE(l.ok()) << l.status().ToString();
  EXPECT_EQ(*l, (std::vector<std::string>{"http://127.0.0.1:1", "http://h:2", "https://s:3"}));
  auto one = ParseEndpoints("localhost:8080");
  ASSERT_TRUE(one.ok());
  EXPECT_EQ(*one, (std::vector<std::string>{"http://localhost:8080"}));
  for (const char* bad : {"", ",", "a:1,,b:2", "a:1,"})
    EXPECT_EQ(ParseEndpoints(bad).status().code(), StatusCode::kInvalidArgument) << bad;
}

TEST(ProxyFailoverTest, ProxiesOfTheMap) {
  auto p = ProxiesOfSmap(R"({"pmap":{
      "p1":{"public_net":{"direct_url":"http://a:1/"}},
      "p2":{"public_net":{"direct_url":"http://b:2"}},
      "p3":{"public_net":{}}},
    "tmap":{"t1":{"public_net":{"direct_url":"http://t:9"}}}})");
  std::sort(p.begin(), p.end());
  EXPECT_EQ(p, (std::vector<std::string>{"http://a:1", "http://b:2"}));
  EXPECT_TRUE(ProxiesOfSmap("not json").empty());
  EXPECT_TRUE(ProxiesOfSmap(R"({"pmap":[]})").empty());
}

}  // namespace
}  // namespace aisle::cli
