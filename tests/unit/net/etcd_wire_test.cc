// etcd's JSON gateway shapes (common/net/etcd_wire): what we send and how replies decode,
// with bodies as etcd 3.4 writes them.
#include "common/net/etcd_wire.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace aisle::etcd {
namespace {

using nlohmann::json;

TEST(EtcdWire, PrefixEnd) {
  EXPECT_EQ(PrefixEnd("/aisle/"), "/aisle0");
  EXPECT_EQ(PrefixEnd("a\xff"), "b");
  EXPECT_EQ(PrefixEnd(""), std::string(1, '\0'));
}

TEST(EtcdWire, RangeAndPutAreBase64) {
  json r = json::parse(EncodeRange("k", "l"));
  EXPECT_EQ(r["key"], "aw==");
  EXPECT_EQ(r["range_end"], "bA==");
  EXPECT_FALSE(json::parse(EncodeRange("k", "")).contains("range_end"));
  json p = json::parse(EncodePut("k", "v", 4111120512143560199));
  EXPECT_EQ(p["value"], "dg==");
  EXPECT_EQ(p["lease"], "4111120512143560199");  // int64 as a string, as the gateway writes
  EXPECT_FALSE(json::parse(EncodePut("k", "v", 0)).contains("lease"));
}

TEST(EtcdWire, TxnShape) {
  std::vector<Compare> cmp = {{"L", "LEASE", "EQUAL", 7, ""},
                              {"m", "MOD", "EQUAL", 0, ""},
                              {"v", "VALUE", "EQUAL", 0, "x"}};
  std::vector<Op> ok = {{Op::kPut, "m", "data", "", 7}};
  std::vector<Op> fail = {{Op::kRange, "L", "", "", 0}, {Op::kDelete, "d", "", "e", 0}};
  json t = json::parse(EncodeTxn(cmp, ok, fail));
  EXPECT_EQ(t["compare"][0]["target"], "LEASE");
  EXPECT_EQ(t["compare"][0]["lease"], "7");
  EXPECT_EQ(t["compare"][1]["mod_revision"], "0");
  EXPECT_EQ(t["compare"][2]["value"], "eA==");
  EXPECT_EQ(t["success"][0]["request_put"]["key"], "bQ==");
  EXPECT_EQ(t["success"][0]["request_put"]["lease"], "7");
  EXPECT_EQ(t["failure"][0]["request_range"]["key"], "TA==");
  EXPECT_EQ(t["failure"][1]["request_delete_range"]["range_end"], "ZQ==");
}

TEST(EtcdWire, DecodeRange) {
  auto r = DecodeRange(
      R"({"header":{"cluster_id":"1","revision":"3","raft_term":"2"},"kvs":[{"key":"aw==",)"
      R"("create_revision":"2","mod_revision":"3","version":"2","value":"dg==","lease":"9"}],)"
      R"("count":"1"})");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->revision, 3);
  ASSERT_EQ(r->kvs.size(), 1u);
  EXPECT_EQ(r->kvs[0].key, "k");
  EXPECT_EQ(r->kvs[0].value, "v");
  EXPECT_EQ(r->kvs[0].mod_revision, 3);
  EXPECT_EQ(r->kvs[0].lease, 9);
  // No key: etcd leaves "kvs" out; an empty value is left out too.
  auto none = DecodeRange(R"({"header":{"revision":"5"}})");
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->kvs.empty());
  auto empty = DecodeRange(R"({"header":{},"kvs":[{"key":"aw==","mod_revision":"2"}]})");
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(empty->kvs[0].value, "");
}

TEST(EtcdWire, DecodeTxn) {
  auto ok = DecodeTxn(R"({"header":{"revision":"2"},"succeeded":true,"responses":[)"
                      R"({"response_put":{"header":{"revision":"2"}}}]})");
  ASSERT_TRUE(ok.ok());
  EXPECT_TRUE(ok->succeeded);
  EXPECT_EQ(ok->revision, 2);
  // A failed comparison: "succeeded" is left out; the failure branch's range comes back.
  auto failed = DecodeTxn(
      R"({"header":{"revision":"2"},"responses":[{"response_range":{"header":{"revision":"2"},)"
      R"("kvs":[{"key":"aw==","create_revision":"2","mod_revision":"2","version":"1",)"
      R"("value":"dg==","lease":"41"}],"count":"1"}}]})");
  ASSERT_TRUE(failed.ok());
  EXPECT_FALSE(failed->succeeded);
  ASSERT_EQ(failed->kvs.size(), 1u);
  EXPECT_EQ(failed->kvs[0].lease, 41);
}

TEST(EtcdWire, Leases) {
  auto id = DecodeLeaseGrant(R"({"header":{"revision":"1"},"ID":"4111120512143560197","TTL":"3"})");
  ASSERT_TRUE(id.ok());
  EXPECT_EQ(*id, 4111120512143560197);
  EXPECT_EQ(json::parse(EncodeLeaseId(*id))["ID"], "4111120512143560197");
  auto alive = DecodeKeepalive(R"({"result":{"header":{},"ID":"5","TTL":"3"}})"
                               "\n");
  ASSERT_TRUE(alive.ok());
  EXPECT_EQ(*alive, 3);
  auto gone = DecodeKeepalive(R"({"result":{"header":{"revision":"4"},"ID":"5"}})");
  ASSERT_TRUE(gone.ok());
  EXPECT_EQ(*gone, 0);  // expired: no TTL
}

TEST(EtcdWire, ErrorsAreUnavailable) {
  std::string body =
      R"({"error":"etcdserver: requested lease not found","message":"etcdserver: requested lease not found","code":5})";
  EXPECT_EQ(DecodeError(body).value_or(""), "etcdserver: requested lease not found");
  EXPECT_FALSE(DecodeError(R"({"header":{}})").has_value());
  auto r = DecodeRange(body);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(DecodeRange("not json").status().code(), StatusCode::kUnavailable);
}

}  // namespace
}  // namespace aisle::etcd
