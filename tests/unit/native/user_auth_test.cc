// server/api/user_auth and server/native/user_service: claims, the permission check, what
// each route needs, grants, AdmitUser's answers, logins and their throttle.
#include "server/api/user_auth.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "common/clock.h"
#include "common/net/jwt.h"
#include "server/native/user_service.h"
#include "tests/testing/temp_dir.h"

namespace aisle::api {
namespace {

using nlohmann::json;

int64_t Now() { return NowNs() / 1000000000; }

Request Req(const std::string& method, const std::string& target,
            std::vector<std::pair<std::string, std::string>> headers = {}) {
  Request r;
  r.method = method;
  r.target = target;
  size_t q = target.find('?');
  r.path = PercentDecode(target.substr(0, q), false);
  if (q != std::string::npos) r.query = ParseQuery(target.substr(q + 1));
  for (auto& [k, v] : headers) r.headers.Add(k, v);
  r.remote_addr = "127.0.0.1:1";
  return r;
}

class UserAuthTest : public ::testing::Test {
 protected:
  UserAuthTest() : secret_(*ClusterSecret::FromBytes(std::string(32, 'k'))), auth_(&secret_) {
    node_.id = "p1";
    node_.role = "proxy";
  }
  std::string Token(const std::string& user, bool admin, std::vector<BucketAcl> buckets,
                    int64_t ttl = 600) {
    UserClaims c;
    c.user = user;
    c.admin = admin;
    c.buckets = std::move(buckets);
    c.exp = Now() + ttl;
    return auth_.IssueToken(c);
  }
  int Admit(Request& req, bool proxy = true, UserAdmission* adm = nullptr) {
    Response resp;
    bool ok = AdmitUser(&auth_, req, resp, node_, proxy, adm);
    EXPECT_EQ(ok, resp.status == 200);
    return resp.status;
  }
  ClusterSecret secret_;
  UserAuth auth_;
  NodeContext node_;
};

TEST_F(UserAuthTest, PermLettersAndNumbers) {
  EXPECT_EQ(*ParsePerm("r"), access::kRead);
  EXPECT_EQ(*ParsePerm("rwl"), access::kRead | access::kWrite | access::kList);
  EXPECT_EQ(*ParsePerm("lr"), access::kRead | access::kList);
  EXPECT_EQ(*ParsePerm("260"), 260u);
  EXPECT_FALSE(ParsePerm("").ok());
  EXPECT_FALSE(ParsePerm("rx").ok());
  // AIStore's values.
  EXPECT_EQ(access::kObjList, 256u);
  EXPECT_EQ(access::kBckSetAcl, 1024u);
  EXPECT_EQ(access::kAdmin, 32768u);
}

TEST_F(UserAuthTest, ClaimsInAIStoreShapes) {
  auto c = ParseClaims(
      R"({"sub":"u","exp":9,"admin":false,"buckets":[{"bck":{"name":"b","provider":"ais",)"
      R"("namespace":{"uuid":"","name":""}},"perm":"5"},{"bck":{"name":"n"},"perm":3}],)"
      R"("clusters":[{"id":"x","perm":"256"}]})");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->user, "u");
  EXPECT_EQ(c->exp, 9);
  ASSERT_EQ(c->buckets.size(), 2u);
  EXPECT_EQ(c->buckets[0].perm, 5u);
  EXPECT_EQ(c->cluster_perm, 256u);
  // Round trip through the issuer's shape.
  auto back = ParseClaims(ClaimsToJson(*c));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->buckets[1].bucket, "n");
  for (const char* bad :
       {"[]", "{}", R"({"sub":"u"})", R"({"exp":1})", R"({"sub":"","exp":1})",
        R"({"sub":1,"exp":1})", R"({"sub":"u","exp":"1"})", R"({"sub":"u","exp":1,"admin":"true"})",
        R"({"sub":"u","exp":1,"buckets":{}})", R"({"sub":"u","exp":1,"buckets":[{"perm":1}]})",
        R"({"sub":"u","exp":1,"buckets":[{"bck":{"name":"b"},"perm":"x"}]})",
        R"({"sub":"u","exp":1,"buckets":[{"bck":{"name":"b"},"perm":-1}]})",
        R"({"sub":"u","exp":1,"clusters":[{"id":"x"}]})"}) {
    EXPECT_FALSE(ParseClaims(bad).ok()) << bad;
  }
}

TEST_F(UserAuthTest, AllowsOnlyWhatIsGranted) {
  UserClaims c;
  c.buckets = {{"b1", access::kRead | access::kList}, {"b2", access::kPut}};
  EXPECT_TRUE(c.Allows("b1", access::kGet));
  EXPECT_TRUE(c.Allows("b1", access::kObjList));
  EXPECT_FALSE(c.Allows("b1", access::kPut));
  EXPECT_TRUE(c.Allows("b2", access::kPut));
  EXPECT_FALSE(c.Allows("b2", access::kGet));
  EXPECT_FALSE(c.Allows("b3", access::kGet));
  EXPECT_FALSE(c.Allows("b1", access::kGet | access::kPut));  // every bit needed
  c.cluster_perm = access::kGet;
  EXPECT_TRUE(c.Allows("b3", access::kGet));
  c.admin = true;
  EXPECT_TRUE(c.Allows("b9", access::kAdmin));
}

TEST_F(UserAuthTest, WhatEachRouteNeeds) {
  struct Case {
    const char* method;
    const char* target;
    bool proxy;
    Need::Kind kind;
    uint64_t perm;
  } cases[] = {
      {"GET", "/v1/health", true, Need::kOpen, 0},
      {"GET", "/s3/b/o", true, Need::kOpen, 0},
      {"POST", "/v1/users/admin", true, Need::kOpen, 0},
      {"POST", "/v1/users/admin", false, Need::kAdmin, access::kAdmin},
      {"POST", "/v1/users", true, Need::kAdmin, access::kAdmin},
      {"GET", "/v1/users", true, Need::kAdmin, access::kAdmin},
      {"DELETE", "/v1/users/x", true, Need::kAdmin, access::kAdmin},
      {"POST", "/v1/users/x/s3keys", true, Need::kAdmin, access::kAdmin},
      {"DELETE", "/v1/users/x/s3keys/AK1", true, Need::kAdmin, access::kAdmin},
      {"GET", "/v1/daemon?what=smap", true, Need::kToken, 0},
      {"PUT", "/v1/daemon", false, Need::kAdmin, access::kAdmin},
      {"GET", "/v1/cluster?what=status", true, Need::kToken, 0},
      {"PUT", "/v1/cluster", true, Need::kAdmin, access::kAdmin},
      {"GET", "/v1/etl", true, Need::kToken, 0},
      {"POST", "/v1/etl", true, Need::kAdmin, access::kAdmin},
      {"DELETE", "/v1/etl/x", true, Need::kAdmin, access::kAdmin},
      {"PUT", "/v1/metasync", false, Need::kAdmin, access::kAdmin},
      {"GET", "/v1/ml/moss/b", true, Need::kAdmin, access::kAdmin},
      {"GET", "/v1/buckets", true, Need::kToken, 0},
      {"GET", "/v1/buckets/b", true, Need::kBucket, access::kObjList},
      {"HEAD", "/v1/buckets/b/", true, Need::kBucket, access::kBckHead},
      {"POST", "/v1/buckets/b", true, Need::kAdmin, access::kAdmin},
      {"DELETE", "/v1/buckets/b", true, Need::kAdmin, access::kAdmin},
      {"PATCH", "/v1/buckets/b", true, Need::kAdmin, access::kAdmin},
      {"GET", "/v1/objects/b/o/p", false, Need::kBucket, access::kGet},
      {"HEAD", "/v1/objects/b/o", false, Need::kBucket, access::kObjHead},
      {"PUT", "/v1/objects/b/o", false, Need::kBucket, access::kPut},
      {"PUT", "/v1/objects/b/o?appendty=append", false, Need::kBucket, access::kAppend},
      {"DELETE", "/v1/objects/b/o", false, Need::kBucket, access::kObjDelete},
      {"POST", "/v1/objects/b/o", false, Need::kBucket, access::kObjMove},
  };
  for (const auto& c : cases) {
    Request r = Req(c.method, c.target);
    Need n = NeedOf(r, c.proxy);
    EXPECT_EQ(n.kind, c.kind) << c.method << " " << c.target;
    EXPECT_EQ(n.perm, c.perm) << c.method << " " << c.target;
    if (c.kind == Need::kBucket) {
      EXPECT_EQ(n.bucket, "b") << c.target;
    }
  }
}

TEST_F(UserAuthTest, AdmitAnswers401And403) {
  std::string user = Token("u", false, {{"b1", access::kRead}});
  auto with = [](const std::string& t) {
    return std::vector<std::pair<std::string, std::string>>{{"Authorization", "Bearer " + t}};
  };
  Request none = Req("GET", "/v1/objects/b1/o");
  EXPECT_EQ(Admit(none), 401);
  Request ok = Req("GET", "/v1/objects/b1/o", with(user));
  EXPECT_EQ(Admit(ok), 200);
  Request lower = Req("GET", "/v1/objects/b1/o", {{"Authorization", "bearer " + user}});
  EXPECT_EQ(Admit(lower), 200);
  Request other = Req("GET", "/v1/objects/b2/o", with(user));
  EXPECT_EQ(Admit(other), 403);
  Request write = Req("PUT", "/v1/objects/b1/o", with(user));
  EXPECT_EQ(Admit(write), 403);
  Request admin_only = Req("POST", "/v1/buckets/b1", with(user));
  EXPECT_EQ(Admit(admin_only), 403);
  Request expired = Req("GET", "/v1/objects/b1/o", with(Token("u", true, {}, -1)));
  EXPECT_EQ(Admit(expired), 401);
  Request basic = Req("GET", "/v1/objects/b1/o", {{"Authorization", "Basic dTpw"}});
  EXPECT_EQ(Admit(basic), 401);
  Request empty = Req("GET", "/v1/objects/b1/o", {{"Authorization", "Bearer "}});
  EXPECT_EQ(Admit(empty), 401);
  ClusterSecret other_secret = *ClusterSecret::FromBytes(std::string(32, 'o'));
  UserClaims c{"u", Now() + 60, true, 0, {}};
  Request forged = Req("GET", "/v1/objects/b1/o", with(UserAuth(&other_secret).IssueToken(c)));
  EXPECT_EQ(Admit(forged), 401);
  // A verified node-to-node request is not a user's.
  Request peer = Req("PUT", "/v1/objects/b1/o");
  peer.intra_sender = "t2";
  EXPECT_EQ(Admit(peer), 200);
  // Auth off: everything passes.
  Response resp;
  EXPECT_TRUE(AdmitUser(nullptr, none, resp, node_, true, nullptr));
}

TEST_F(UserAuthTest, CachedTokensStillExpireAndForgeriesAreNotCached) {
  std::string t = Token("u", false, {{"b", access::kGet}}, 2);
  auto a = auth_.VerifyTokenCached(t, Now());
  ASSERT_TRUE(a.ok());
  auto b = auth_.VerifyTokenCached(t, Now());
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(a->get(), b->get());                             // the cached claims
  EXPECT_FALSE(auth_.VerifyTokenCached(t, Now() + 3).ok());  // expired, though cached
  std::string forged = t;
  forged.back() = forged.back() == 'A' ? 'B' : 'A';
  EXPECT_FALSE(auth_.VerifyTokenCached(forged, Now()).ok());
  EXPECT_FALSE(auth_.VerifyTokenCached(forged, Now()).ok());
}

TEST_F(UserAuthTest, GrantsCoverExactlyTheirRequest) {
  int64_t exp = Now() + kGrantLifetimeS;
  std::string g = auth_.MakeGrant("GET", "/v1/objects/b/o", "u", access::kGet, exp);
  auto c = auth_.VerifyGrant(g, "GET", "/v1/objects/b/o", Now());
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->user, "u");
  EXPECT_FALSE(c->admin);
  EXPECT_FALSE(auth_.VerifyGrant(g, "GET", "/v1/objects/b/p", Now()).ok());
  EXPECT_FALSE(auth_.VerifyGrant(g, "PUT", "/v1/objects/b/o", Now()).ok());
  EXPECT_FALSE(auth_.VerifyGrant(g, "GET", "/v1/objects/b/o", exp).ok());  // expired
  std::string far = auth_.MakeGrant("GET", "/v1/objects/b/o", "u", access::kGet, Now() + 3600);
  EXPECT_FALSE(auth_.VerifyGrant(far, "GET", "/v1/objects/b/o", Now()).ok());
  // More permission than granted: the bits are signed.
  std::string more = g;
  more.replace(more.find('.') + 1, 1, "5");
  EXPECT_FALSE(auth_.VerifyGrant(more, "GET", "/v1/objects/b/o", Now()).ok());
  for (const char* bad : {"", "1.2.3", "x.1.dQ.AAAA", "1.1.dQ.AAAA.5", "..."})
    EXPECT_FALSE(auth_.VerifyGrant(bad, "GET", "/v1/objects/b/o", Now()).ok()) << bad;
  // AdmitUser takes a grant in the query, and a proxy's redirect adds one.
  Request req = Req("GET", "/v1/objects/b/o?aisle_grant=" + g);
  EXPECT_EQ(Admit(req, false), 200);
  Request put = Req("PUT", "/v1/objects/b/o?aisle_grant=" + g);
  EXPECT_EQ(Admit(put, false), 401);
  Request redirected =
      Req("PUT", "/v1/objects/b/o",
          {{"Authorization", "Bearer " + Token("u", false, {{"b", access::kPut}})}});
  UserAdmission adm;
  ASSERT_EQ(Admit(redirected, true, &adm), 200);
  Response resp;
  resp.status = 307;
  resp.headers.Set("Location", "http://t1/v1/objects/b/o?pid=p1");
  AddGrant(&auth_, adm, redirected, resp);
  std::string loc = resp.headers.Get("Location");
  ASSERT_NE(loc.find("&aisle_grant="), std::string::npos) << loc;
  Request follow = Req("PUT", loc.substr(loc.find("/v1/")));
  EXPECT_EQ(Admit(follow, false), 200);
}

TEST_F(UserAuthTest, LoginThrottleAndPersistence) {
  testing::TempDir dir;
  {
    auto svc = UserService::Open(dir.path(), &auth_, node_, "secret-pw");
    ASSERT_TRUE(svc.ok()) << svc.status().ToString();
    auto r = (*svc)->Login("admin", "secret-pw", 0);
    ASSERT_EQ(r.status, 200) << r.token_or_error;
    auto claims = auth_.VerifyToken(r.token_or_error, Now());
    ASSERT_TRUE(claims.ok());
    EXPECT_TRUE(claims->admin);
    EXPECT_EQ(claims->user, "admin");
    EXPECT_EQ((*svc)->Login("admin", "wrong", 0).status, 401);
    auto slowed = (*svc)->Login("admin", "secret-pw", 0);
    EXPECT_EQ(slowed.status, 429);
    EXPECT_GE(slowed.retry_after_s, 1);
    EXPECT_EQ((*svc)->Login("ghost", "x", 0).status, 401);
  }
  // Reopened (another start): the admin is kept; the password file no longer matters.
  auto svc = UserService::Open(dir.path(), &auth_, node_, "other");
  ASSERT_TRUE(svc.ok());
  EXPECT_EQ((*svc)->Login("admin", "other", 0).status, 401);
  EXPECT_EQ(HashPassword("pw", "00", 1000), HashPassword("pw", "00", 1000));
  EXPECT_NE(HashPassword("pw", "00", 1000), HashPassword("pw", "01", 1000));
}

}  // namespace
}  // namespace aisle::api
