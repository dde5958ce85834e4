// S3 authorization under --auth: which AccessAttrs bits each S3 call needs, and the decision
// for a user's key, a static key and an anonymous request.
#include "server/s3/s3_access.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>

namespace aisle::api::s3 {
namespace {

Request Req(const std::string& method, const std::string& path, const std::string& query = "") {
  Request r;
  r.method = method;
  r.path = path;
  r.query = ParseQuery(query);
  return r;
}

TEST(S3AccessTest, WhatEachCallNeeds) {
  S3Target obj{"b", "k", false}, bck{"b", "", false}, none{"", "", false};
  EXPECT_EQ(S3Need(Req("GET", "/s3/b/k"), obj), access::kGet);
  EXPECT_EQ(S3Need(Req("HEAD", "/s3/b/k"), obj), access::kObjHead);
  EXPECT_EQ(S3Need(Req("PUT", "/s3/b/k"), obj), access::kPut);
  EXPECT_EQ(S3Need(Req("POST", "/s3/b/k", "uploads"), obj), access::kPut);
  EXPECT_EQ(S3Need(Req("DELETE", "/s3/b/k"), obj), access::kObjDelete);
  EXPECT_EQ(S3Need(Req("GET", "/s3/b", "list-type=2"), bck), access::kObjList);
  EXPECT_EQ(S3Need(Req("GET", "/s3/b", "uploads"), bck), access::kObjList);
  EXPECT_EQ(S3Need(Req("GET", "/s3/b", "location"), bck), access::kBckHead);
  EXPECT_EQ(S3Need(Req("HEAD", "/s3/b"), bck), access::kBckHead);
  EXPECT_EQ(S3Need(Req("PUT", "/s3/b"), bck), access::kCreateBucket);
  EXPECT_EQ(S3Need(Req("PUT", "/s3/b", "versioning"), bck), access::kPatch);
  EXPECT_EQ(S3Need(Req("DELETE", "/s3/b"), bck), access::kDestroyBucket);
  EXPECT_EQ(S3Need(Req("POST", "/s3/b", "delete"), bck), access::kObjDelete);
  EXPECT_EQ(S3Need(Req("GET", "/s3"), none), 0u);
}

TEST(S3AccessTest, UserStaticAndAnonymous) {
  S3Options on;
  on.auth = true;
  S3Target t{"b", "k", false};
  auto user = std::make_shared<UserClaims>();
  user->user = "u";
  user->buckets = {{"b", access::kRead}};
  AuthInfo a;
  a.verified = true;
  a.user = user;
  EXPECT_FALSE(Authorize(Req("GET", "/s3/b/k"), t, a, on));
  auto e = Authorize(Req("PUT", "/s3/b/k"), t, a, on);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->http, 403);
  EXPECT_EQ(e->code, "AccessDenied");
  // A copy also needs GET on the source.
  Request copy = Req("PUT", "/s3/c/k");
  copy.headers.Add("x-amz-copy-source", "/other/src");
  user->buckets.push_back({"c", access::kWrite});
  EXPECT_TRUE(Authorize(copy, S3Target{"c", "k", false}, a, on));
  copy.headers.Set("x-amz-copy-source", "/b/src");
  EXPECT_FALSE(Authorize(copy, S3Target{"c", "k", false}, a, on));

  AuthInfo admin;  // a static key
  admin.verified = true;
  EXPECT_FALSE(Authorize(Req("DELETE", "/s3/b"), S3Target{"b", "", false}, admin, on));
  AuthInfo anon;
  EXPECT_TRUE(Authorize(Req("GET", "/s3/b/k"), t, anon, on));
  EXPECT_FALSE(Authorize(Req("GET", "/s3/b/k"), t, anon, S3Options{}));  // auth off
}

}  // namespace
}  // namespace aisle::api::s3
