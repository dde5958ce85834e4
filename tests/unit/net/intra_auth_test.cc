// common/net/intra_auth: the signature of node-to-node requests. Every signed field changes
// the signature; the secret file has a minimum length.
#include "common/net/intra_auth.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>

namespace aisle {
namespace {

const std::string kKey(32, 'k');

IntraFields Base() { return {"PUT", "/v1/objects/b/o?x=1", 1700000000, "tAbc", Sha256Hex("body")}; }

TEST(IntraAuthTest, SignVerifyAndTamperEachField) {
  auto secret = ClusterSecret::FromBytes(kKey);
  ASSERT_TRUE(secret.ok());
  std::string sig = secret->Sign(Base());
  EXPECT_EQ(sig.size(), 64u);
  EXPECT_TRUE(secret->Verify(Base(), sig));
  auto tampered = [&](auto mutate) {
    IntraFields f = Base();
    mutate(f);
    return secret->Verify(f, sig);
  };
  EXPECT_FALSE(tampered([](IntraFields& f) { f.method = "GET"; }));
  EXPECT_FALSE(tampered([](IntraFields& f) { f.target = "/v1/objects/b/o?x=2"; }));
  EXPECT_FALSE(tampered([](IntraFields& f) { f.time_s += 1; }));
  EXPECT_FALSE(tampered([](IntraFields& f) { f.sender = "tAbd"; }));
  EXPECT_FALSE(tampered([](IntraFields& f) { f.body_digest = kUnsignedPayload; }));
  EXPECT_FALSE(secret->Verify(Base(), sig.substr(0, 63) + (sig[63] == '0' ? "1" : "0")));
  EXPECT_FALSE(secret->Verify(Base(), ""));
  auto other = ClusterSecret::FromBytes(std::string(32, 'j'));
  ASSERT_TRUE(other.ok());
  EXPECT_FALSE(other->Verify(Base(), sig));
}

TEST(IntraAuthTest, ProofNamesTheResponder) {
  auto secret = ClusterSecret::FromBytes(kKey);
  ASSERT_TRUE(secret.ok());
  std::string proof = secret->Proof("sig", "t1");
  EXPECT_TRUE(secret->VerifyProof("sig", "t1", proof));
  EXPECT_FALSE(secret->VerifyProof("sig", "t2", proof));
  EXPECT_FALSE(secret->VerifyProof("sig2", "t1", proof));
}

TEST(IntraAuthTest, SecretLength) {
  EXPECT_FALSE(ClusterSecret::FromBytes(std::string(31, 'k')).ok());
  EXPECT_FALSE(ClusterSecret::FromBytes(std::string(31, 'k') + "\n\n").ok());
  EXPECT_TRUE(ClusterSecret::FromBytes(std::string(32, 'k') + "\n").ok());
  EXPECT_FALSE(ClusterSecret::Load("/nonexistent/secret").ok());
  char path[] = "/tmp/aisle-secret-XXXXXX";
  int fd = ::mkstemp(path);
  ASSERT_GE(fd, 0);
  ::close(fd);
  std::ofstream(path) << std::string(40, 'a') << "\n";
  auto s = ClusterSecret::Load(path);
  std::remove(path);
  ASSERT_TRUE(s.ok());
  EXPECT_TRUE(s->Verify(Base(), ClusterSecret::FromBytes(std::string(40, 'a'))->Sign(Base())));
}

TEST(IntraAuthTest, HeadersAndTargets) {
  auto secret = ClusterSecret::FromBytes(kKey);
  ASSERT_TRUE(secret.ok());
  std::vector<std::pair<std::string, std::string>> h = {
      {"aisle-intra", "forged"}, {"Aisle-Intra-Sig", "x"}, {"Aisle-Intranet", "kept"}};
  SignIntra(*secret, "PUT", "/v1/metasync", "p1", Sha256Hex(""), 7, &h);
  ASSERT_EQ(h.size(), 5u);
  EXPECT_EQ(h[0].first, "Aisle-Intranet");
  EXPECT_EQ(h[1].second, "p1");
  EXPECT_EQ(h[2].second, "7");
  EXPECT_TRUE(secret->Verify({"PUT", "/v1/metasync", 7, "p1", Sha256Hex("")}, h[4].second));
  EXPECT_EQ(UrlTarget("http://h:1/v1/x?y=1"), "/v1/x?y=1");
  EXPECT_EQ(UrlTarget("http://h:1"), "/");
  EXPECT_EQ(Sha256Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

}  // namespace
}  // namespace aisle
