// server/api/peer_auth: what a node accepts as a node-to-node request, and ClusterState's
// all-or-nothing metasync (server/cluster).
#include "server/api/peer_auth.h"

#include <gtest/gtest.h>

#include "common/clock.h"
#include "server/cluster/cluster_map.h"

namespace aisle::api {
namespace {

constexpr int64_t kNow = 1700000000;

class PeerAuthTest : public ::testing::Test {
 protected:
  PeerAuthTest() : secret_(*ClusterSecret::FromBytes(std::string(32, 's'))) {
    auto smap = std::make_shared<cluster::Smap>();
    smap->version = 5;
    smap->primary_id = "p1";
    smap->proxies["p1"].id = "p1";
    smap->targets["t1"].id = "t1";
    smap_ = smap;
    auth_ = std::make_unique<PeerAuth>(PeerAuth::Options{&secret_, [this] { return smap_; }, {}});
  }

  Request Signed(const std::string& method, const std::string& target, const std::string& from,
                 const std::string& digest, int64_t t = kNow) {
    Request req;
    req.method = method;
    req.target = target;
    req.path = target.substr(0, target.find('?'));
    std::vector<std::pair<std::string, std::string>> h;
    SignIntra(secret_, method, target, from, digest, t, &h);
    for (auto& [k, v] : h) req.headers.Add(k, v);
    return req;
  }

  ClusterSecret secret_;
  std::shared_ptr<const cluster::Smap> smap_;
  std::unique_ptr<PeerAuth> auth_;
};

TEST_F(PeerAuthTest, ClientsAndSignedMembers) {
  Request client;
  client.method = "GET";
  client.target = client.path = "/v1/objects/b/o";
  EXPECT_EQ(*auth_->Check(client, PeerRoute::kAny, kNow), "");
  EXPECT_FALSE(auth_->Check(client, PeerRoute::kMember, kNow).ok());
  EXPECT_FALSE(auth_->Check(client, PeerRoute::kPrimary, kNow).ok());
  Request r = Signed("PUT", "/v1/objects/b/o", "t1", std::string(kUnsignedPayload));
  EXPECT_EQ(*auth_->Check(r, PeerRoute::kAny, kNow), "t1");
  EXPECT_EQ(*auth_->Check(r, PeerRoute::kAny, kNow + kIntraClockWindowS), "t1");
  EXPECT_FALSE(auth_->Check(r, PeerRoute::kAny, kNow + kIntraClockWindowS + 1).ok());
  EXPECT_FALSE(auth_->Check(r, PeerRoute::kAny, kNow - kIntraClockWindowS - 1).ok());
  r.headers.Add("X", "y");  // unsigned headers do not matter
  EXPECT_TRUE(auth_->Check(r, PeerRoute::kAny, kNow).ok());
}

TEST_F(PeerAuthTest, RefusesForgeriesStrangersAndNonPrimaries) {
  Request r = Signed("PUT", "/v1/objects/b/o", "t9", Sha256Hex(""));
  EXPECT_FALSE(auth_->Check(r, PeerRoute::kAny, kNow).ok());     // not in the map
  EXPECT_TRUE(auth_->Check(r, PeerRoute::kJoining, kNow).ok());  // joining: secret only
  Request m = Signed("PUT", "/v1/metasync", "t1", Sha256Hex("{}"));
  EXPECT_FALSE(auth_->Check(m, PeerRoute::kPrimary, kNow).ok());  // a target is not the primary
  EXPECT_TRUE(
      auth_->Check(Signed("PUT", "/v1/metasync", "p1", Sha256Hex("{}")), PeerRoute::kPrimary, kNow)
          .ok());
  // UNSIGNED-PAYLOAD is for object data only.
  EXPECT_FALSE(auth_
                   ->Check(Signed("PUT", "/v1/metasync", "p1", std::string(kUnsignedPayload)),
                           PeerRoute::kPrimary, kNow)
                   .ok());
  // The header alone, or a signature for another target.
  Request bare;
  bare.method = "PUT";
  bare.target = bare.path = "/v1/objects/b/o";
  bare.headers.Add(kIntraHeader, "t1");
  EXPECT_FALSE(auth_->Check(bare, PeerRoute::kAny, kNow).ok());
  Request moved = Signed("PUT", "/v1/objects/b/o", "t1", Sha256Hex(""));
  moved.target = moved.path = "/v1/objects/b/other";
  EXPECT_FALSE(auth_->Check(moved, PeerRoute::kAny, kNow).ok());
}

TEST_F(PeerAuthTest, AdmitMarksVerifiedRequestsAndChecksTheBody) {
  NodeContext node{"t1", "target", "127.0.0.1", 1, 0};
  int64_t now = NowNs() / 1000000000;
  Request r = Signed("PUT", "/v1/metasync", "p1", Sha256Hex("signed"), now);
  StringBodyReader other("forged");
  r.body = &other;
  r.has_body = true;
  Response resp;
  {
    SignedBodyGuard guard;
    ASSERT_TRUE(AdmitPeer(auth_.get(), r, resp, node, PeerRoute::kPrimary, &guard));
    EXPECT_EQ(r.intra_sender, "p1");
    EXPECT_TRUE(r.peer_auth);
    EXPECT_FALSE(resp.headers.Get(kIntraProofHeader).empty());
    EXPECT_FALSE(r.ReadBody(100).ok());  // the body is not the one signed
  }
  EXPECT_EQ(r.body, &other);  // the guard gave the body back
  Request bad;
  bad.method = "PUT";
  bad.target = bad.path = "/v1/daemon";
  bad.headers.Add(kIntraHeader, "p1");
  StringBodyReader none("");
  bad.body = &none;
  Response refused;
  SignedBodyGuard guard;
  EXPECT_FALSE(AdmitPeer(auth_.get(), bad, refused, node, PeerRoute::kPrimary, &guard));
  EXPECT_EQ(refused.status, 401);
  EXPECT_EQ(bad.intra_sender, "");
  // Without a secret the header is taken at its word (the unauthenticated mode).
  Response open;
  EXPECT_TRUE(AdmitPeer(nullptr, bad, open, node, PeerRoute::kPrimary, &guard));
  EXPECT_EQ(bad.intra_sender, "p1");
  EXPECT_FALSE(bad.peer_auth);
}

TEST(MetasyncTest, RefusedMessageAppliesNothing) {
  cluster::ClusterState state;
  cluster::MapSet first;
  first.smap.emplace().version = 3;
  first.bmd.emplace().version = 3;
  ASSERT_TRUE(state.InstallNewer(first).ok());
  cluster::MapSet mixed;  // a newer cluster map with stale bucket metadata
  mixed.smap.emplace().version = 9;
  mixed.bmd.emplace().version = 2;
  auto r = state.InstallNewer(mixed);
  EXPECT_EQ(r.status().code(), StatusCode::kConflict);
  EXPECT_EQ(state.smap()->version, 3);
  cluster::MapSet same_and_newer;  // a map at our version is kept, the newer one installed
  same_and_newer.smap.emplace().version = 3;
  same_and_newer.bmd.emplace().version = 4;
  auto done = state.InstallNewer(same_and_newer);
  ASSERT_TRUE(done.ok());
  EXPECT_FALSE(done->smap);
  EXPECT_TRUE(done->bmd);
  EXPECT_EQ(done->old_bmd->version, 3);
  EXPECT_EQ(state.InstallNewer(same_and_newer).status().code(), StatusCode::kConflict);
}

}  // namespace
}  // namespace aisle::api
