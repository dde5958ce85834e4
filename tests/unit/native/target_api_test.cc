// TargetApi handlers driven with in-memory requests: no sockets.
#include "server/native/target_api.h"

#include <gtest/gtest.h>

#include <cerrno>
#include <nlohmann/json.hpp>

#include "server/api/byte_range.h"
#include "server/api/errors.h"
#include "tests/testing/target_api_fixture.h"

namespace aisle::api {
namespace {

class ApiTest : public testing::TargetApiFixture {
 protected:
  void SetUp() override { BuildApi(); }
};

TEST_F(ApiTest, ErrorBodiesHaveAistoreShape) {
  Response r = Do("GET", "/v1/objects/nob/obj");
  EXPECT_EQ(r.status, 404);
  auto j = nlohmann::json::parse(r.body);
  for (auto k : {"message", "method", "url_path", "remote_addr", "caller", "node", "status"})
    EXPECT_TRUE(j.contains(k)) << k;
  EXPECT_EQ(j["message"], "bucket \"ais://nob\" does not exist");
  EXPECT_EQ(j["node"], "t[tTestNode]");
  EXPECT_EQ(j["status"], 404);
  EXPECT_EQ(r.body.back(), '}');  // no trailing newline
}

// HTTP statuses come from the code alone; the subject decides only who is named in the text.
TEST(HttpStatusTest, OneTableOverCodes) {
  EXPECT_EQ(HttpStatusFor(Status::NotFound("reworded").WithSubject(Subject::kBucket)), 404);
  EXPECT_EQ(HttpStatusFor(Status::NotFound("x").WithSubject(Subject::kObject)), 404);
  EXPECT_EQ(HttpStatusFor(Status::AlreadyExists("x").WithSubject(Subject::kBucket)), 409);
  EXPECT_EQ(HttpStatusFor(Status::Timeout("x").WithSubject(Subject::kRequestBody)), 408);
  EXPECT_EQ(HttpStatusFor(Status::FromErrno(ENOSPC, "write")), 507);
  EXPECT_EQ(HttpStatusFor(Status::OK()), 200);
}

TEST_F(ApiTest, HeadErrorsGoInHdrError) {
  ASSERT_EQ(Do("POST", "/v1/buckets/b", R"({"action":"create-bck"})").status, 200);
  Response r = Do("HEAD", "/v1/objects/b/missing");
  EXPECT_EQ(r.status, 404);
  EXPECT_TRUE(r.body.empty());
  auto j = nlohmann::json::parse(r.headers.Get("Hdr-Error"));
  EXPECT_EQ(j["message"], "t[tTestNode]: ais://b/missing does not exist");
}

TEST_F(ApiTest, InvalidInputIs4xxNever5xx) {
  ASSERT_EQ(Do("POST", "/v1/buckets/b", R"({"action":"create-bck"})").status, 200);
  EXPECT_EQ(Do("POST", "/v1/buckets/b", R"({"action":"create-bck"})").status, 409);
  EXPECT_EQ(Do("POST", "/v1/buckets/b", "{not json").status, 400);
  EXPECT_EQ(Do("POST", "/v1/buckets/b", R"({"action":"frobnicate"})").status, 400);
  EXPECT_EQ(Do("PUT", "/v1/objects/b/a/../../etc/passwd", "x").status, 400);
  EXPECT_EQ(Do("PUT", "/v1/objects/b/a%00b", "x").status, 400);
  EXPECT_EQ(Do("PUT", "/v1/objects/b/" + std::string(1025, 'x'), "x").status, 400);
  EXPECT_EQ(Do("PUT", "/v1/objects/b/x", "x",
               {{"Ais-Checksum-Type", "xxhash"}, {"Ais-Checksum-Value", "zz"}})
                .status,
            400);
  EXPECT_EQ(Do("GET", "/v1/objects/b").status, 400);
  EXPECT_EQ(Do("GET", "/v1/nothing").status, 404);
  EXPECT_EQ(Do("GET", "/v1/buckets/b?provider=gcp").status, 501);
}

TEST_F(ApiTest, RangeRequests) {
  ASSERT_EQ(Do("POST", "/v1/buckets/b", R"({"action":"create-bck"})").status, 200);
  ASSERT_EQ(Do("PUT", "/v1/objects/b/o", "0123456789").status, 200);
  // Small objects come back in memory (read with the header), large ones via sendfile.
  Response r = Do("GET", "/v1/objects/b/o", "", {{"Range", "bytes=2-4"}});
  EXPECT_EQ(r.status, 206);
  EXPECT_EQ(r.headers.Get("Content-Range"), "bytes 2-4/10");
  EXPECT_FALSE(r.file);
  EXPECT_EQ(r.body, "234");
  r = Do("GET", "/v1/objects/b/o", "", {{"Range", "bytes=-3"}});
  EXPECT_EQ(r.headers.Get("Content-Range"), "bytes 7-9/10");
  EXPECT_EQ(r.body, "789");
  r = Do("GET", "/v1/objects/b/o", "", {{"Range", "bytes=8-100"}});
  EXPECT_EQ(r.headers.Get("Content-Range"), "bytes 8-9/10");
  r = Do("GET", "/v1/objects/b/o", "", {{"Range", "bytes=10-"}});
  EXPECT_EQ(r.status, 416);
  EXPECT_EQ(r.headers.Get("Content-Range"), "bytes */10");
  r = Do("GET", "/v1/objects/b/o", "", {{"Range", "bytes=0-1,3-4"}});
  EXPECT_EQ(r.status, 416);
  r = Do("GET", "/v1/objects/b/o", "", {{"Range", "items=0-1"}});
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "0123456789");
  std::string big(200000, 'x');
  ASSERT_EQ(Do("PUT", "/v1/objects/b/big", big).status, 200);
  r = Do("GET", "/v1/objects/b/big", "", {{"Range", "bytes=100-199"}});
  EXPECT_EQ(r.status, 206);
  ASSERT_TRUE(r.file);
  EXPECT_EQ(r.file->length, 100u);
  EXPECT_EQ(r.file->offset % 4096, 100u);  // past the 4 KiB header
}

TEST(ByteRangeTest, OneParserForNativeAndS3) {
  auto r = ParseRange("bytes=2-4", 10, MultiRange::kRefuse);
  ASSERT_TRUE(r.ok() && *r);
  EXPECT_EQ((*r)->start, 2u);
  EXPECT_EQ((*r)->length, 3u);
  r = ParseRange("bytes=-20", 10, MultiRange::kRefuse);
  EXPECT_EQ((*r)->start, 0u);
  EXPECT_EQ((*r)->length, 10u);
  EXPECT_FALSE(*ParseRange("bytes=x-5", 10, MultiRange::kRefuse));  // malformed: ignored
  EXPECT_FALSE(*ParseRange("bytes=5-2", 10, MultiRange::kRefuse));
  EXPECT_EQ(ParseRange("bytes=0-1,3-4", 10, MultiRange::kRefuse).status().code(),
            StatusCode::kRangeNotSatisfiable);
  EXPECT_FALSE(*ParseRange("bytes=0-1,3-4", 10, MultiRange::kServeWhole));  // S3: whole object
  auto bad = ParseRange("bytes=10-", 10, MultiRange::kServeWhole, "InvalidRange: x");
  EXPECT_EQ(bad.status().message(), "InvalidRange: x");
}

// Issue 16: an end past the object clamps whatever its number of digits; a huge first byte
// is past the end (416); a huge end below a huger first is invalid (ignored).
TEST(ByteRangeTest, HugePositionsFollowOneRule) {
  for (const char* h : {"bytes=0-9223372036854775807", "bytes=0-99999999999999999999999",
                        "bytes=0-000000000000000000000000009"}) {
    auto r = ParseRange(h, 10, MultiRange::kRefuse);
    ASSERT_TRUE(r.ok() && *r) << h;
    EXPECT_EQ((*r)->start, 0u) << h;
    EXPECT_EQ((*r)->length, 10u) << h;
  }
  auto suffix = ParseRange("bytes=-99999999999999999999999", 10, MultiRange::kRefuse);
  ASSERT_TRUE(suffix.ok() && *suffix);
  EXPECT_EQ((*suffix)->length, 10u);
  EXPECT_EQ(ParseRange("bytes=99999999999999999999999-", 10, MultiRange::kRefuse).status().code(),
            StatusCode::kRangeNotSatisfiable);
  EXPECT_FALSE(*ParseRange("bytes=999999999999999999999999-99999999999999999999999", 10,
                           MultiRange::kRefuse));
  EXPECT_FALSE(*ParseRange("bytes=0-9x", 10, MultiRange::kRefuse));  // unparsable: ignored
}

TEST_F(ApiTest, HugeRangeEndIsClampedLikeAnyOther) {
  ASSERT_EQ(Do("POST", "/v1/buckets/b", R"({"action":"create-bck"})").status, 200);
  ASSERT_EQ(Do("PUT", "/v1/objects/b/o", "0123456789").status, 200);
  Response r = Do("GET", "/v1/objects/b/o", "", {{"Range", "bytes=2-99999999999999999999999"}});
  EXPECT_EQ(r.status, 206);
  EXPECT_EQ(r.headers.Get("Content-Range"), "bytes 2-9/10");
}

// Issue 16: methods no route serves are 405 everywhere; a foreign namespace is 400 (the
// global one, empty or "@#", works); an Expect other than 100-continue is 417.
TEST_F(ApiTest, UnservedMethodsNamespacesAndExpectations) {
  ASSERT_EQ(Do("POST", "/v1/buckets/b", R"({"action":"create-bck"})").status, 200);
  ASSERT_EQ(Do("PUT", "/v1/objects/b/o", "abc").status, 200);
  for (const char* m : {"TRACE", "CONNECT", "FROB"}) {
    for (const char* path : {"/v1/health", "/v1/daemon?what=smap", "/v1/objects/b/o",
                             "/v1/buckets/b", "/v1/metasync"}) {
      Response r = Do(m, path);
      EXPECT_EQ(r.status, 405) << m << " " << path;
      EXPECT_EQ(nlohmann::json::parse(r.body).value("status", 0), 405);
    }
  }
  Response r = Do("GET", "/v1/objects/b/o?namespace=%40uuid%23ns");
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(nlohmann::json::parse(r.body).value("message", "").find("namespace="),
            std::string::npos)
      << r.body;
  EXPECT_EQ(Do("GET", "/v1/buckets/b?namespace=%23ns").status, 400);
  EXPECT_EQ(Do("GET", "/v1/objects/b/o?namespace=").body, "abc");
  EXPECT_EQ(Do("GET", "/v1/objects/b/o?namespace=%40%23").body, "abc");
  r = Do("PUT", "/v1/objects/b/o2", "xyz", {{"Expect", "something-else"}});
  EXPECT_EQ(r.status, 417);
  EXPECT_EQ(nlohmann::json::parse(r.body).value("status", 0), 417);
  EXPECT_EQ(Do("GET", "/v1/objects/b/o2").status, 404);  // the body was not taken
  EXPECT_EQ(Do("PUT", "/v1/objects/b/o2", "xyz", {{"Expect", "100-Continue"}}).status, 200);
}

TEST_F(ApiTest, ListObjectsMsgpackHasExactlyFourKeys) {
  ASSERT_EQ(Do("POST", "/v1/buckets/b", R"({"action":"create-bck"})").status, 200);
  for (int i = 0; i < 5; ++i)
    ASSERT_EQ(Do("PUT", "/v1/objects/b/o" + std::to_string(i), "abc").status, 200);
  Response r = Do(
      "GET", "/v1/buckets/b?provider=ais",
      R"({"action":"list","name":"","value":{"prefix":"","pagesize":2,"uuid":"","props":"","continuation_token":"","flags":"0","target":""}})",
      {{"Accept", "application/msgpack"}});
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.headers.Get("Content-Type"), "application/msgpack");
  auto j = nlohmann::json::from_msgpack(r.body);
  EXPECT_EQ(j.size(), 4u);
  EXPECT_EQ(j["Entries"].size(), 2u);
  EXPECT_EQ(j["Entries"][0]["n"], "o0");
  EXPECT_EQ(j["Entries"][0]["s"], 3);
  EXPECT_EQ(j["ContinuationToken"], "o1");
  EXPECT_FALSE(j["UUID"].get<std::string>().empty());
}

TEST_F(ApiTest, ListBucketsWithNullValue) {
  ASSERT_EQ(Do("POST", "/v1/buckets/b1", R"({"action":"create-bck"})").status, 200);
  ASSERT_EQ(Do("POST", "/v1/buckets/b2", R"({"action":"create-bck"})").status, 200);
  Response r = Do("GET", "/v1/buckets?provider=ais", R"({"action":"list","name":"","value":null})");
  auto j = nlohmann::json::parse(r.body);
  ASSERT_EQ(j.size(), 2u);
  EXPECT_EQ(j[0]["name"], "b1");
  EXPECT_EQ(j[0]["provider"], "ais");
  Response h = Do("HEAD", "/v1/buckets/b1");
  EXPECT_EQ(h.status, 200);
  EXPECT_FALSE(nlohmann::json::parse(h.headers.Get("Ais-Bucket-Props")).empty());
}

}  // namespace
}  // namespace aisle::api
