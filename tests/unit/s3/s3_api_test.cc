// S3Api driven with in-memory requests against a real Store in a temp dir: no sockets.
#include "server/s3/s3_api.h"

#include <gtest/gtest.h>

#include <string>

#include "server/s3/s3_crypto.h"
#include "tests/testing/api_request.h"
#include "tests/testing/temp_dir.h"
#include "tests/testing/test_store.h"

namespace aisle::api::s3 {
namespace {

class S3ApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = testing::OpenStore(dir_.Sub("mp"));
    S3Options opts;
    opts.vhost_domain = "s3.test";
    api_ = std::make_unique<S3Api>(store_.get(), opts,
                                   NodeContext{"tTestNode", "target", "127.0.0.1", 1, 0});
  }

  Response Do(const std::string& method, const std::string& target, const std::string& body = "",
              std::vector<std::pair<std::string, std::string>> headers = {}) {
    return testing::Call(*api_, method, target, body, std::move(headers));
  }

  static bool Has(const Response& r, const std::string& s) {
    return r.body.find(s) != std::string::npos;
  }

  testing::TempDir dir_;
  std::unique_ptr<storage::Store> store_;
  std::unique_ptr<S3Api> api_;
};

TEST_F(S3ApiTest, BucketLifecycleAndErrors) {
  EXPECT_EQ(Do("PUT", "/s3/b1").status, 200);
  Response r = Do("PUT", "/s3/b1");
  EXPECT_EQ(r.status, 409);
  EXPECT_TRUE(Has(r, "<Code>BucketAlreadyOwnedByYou</Code>"));
  EXPECT_TRUE(Has(Do("GET", "/s3"), "<Name>b1</Name>"));
  EXPECT_EQ(Do("HEAD", "/s3/b1").status, 200);
  EXPECT_EQ(Do("HEAD", "/s3/nob").status, 404);
  EXPECT_TRUE(Has(Do("GET", "/s3/nob"), "<Code>NoSuchBucket</Code>"));
  EXPECT_TRUE(Has(Do("GET", "/s3/b1?location"), "<LocationConstraint"));
  ASSERT_EQ(Do("PUT", "/s3/b1/k", "x").status, 200);
  r = Do("DELETE", "/s3/b1");
  EXPECT_EQ(r.status, 409);
  EXPECT_TRUE(Has(r, "<Code>BucketNotEmpty</Code>"));
  EXPECT_EQ(Do("DELETE", "/s3/b1/k").status, 204);
  EXPECT_EQ(Do("DELETE", "/s3/b1/k").status, 204);  // missing key: still a success
  EXPECT_EQ(Do("DELETE", "/s3/b1").status, 204);
  EXPECT_TRUE(Has(Do("PUT", "/s3/bad*name"), "<Code>InvalidBucketName</Code>"));
}

TEST_F(S3ApiTest, PutGetEtagMetadataRangeConditionals) {
  ASSERT_EQ(Do("PUT", "/s3/b").status, 200);
  Response r = Do("PUT", "/s3/b/dir/obj", "hello\n",
                  {{"Content-Type", "text/plain"}, {"X-Amz-Meta-Color", "blue"}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.headers.Get("ETag"), "\"b1946ac92492d2347c6235b4d2611184\"");
  r = Do("GET", "/s3/b/dir/obj");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.headers.Get("Content-Type"), "text/plain");
  EXPECT_EQ(r.headers.Get("x-amz-meta-color"), "blue");
  EXPECT_FALSE(r.headers.Get("Last-Modified").empty());
  // A small object is read whole with its header: served from memory (one writev), as the
  // native GET does; larger ones go out as a file range (sendfile).
  EXPECT_FALSE(r.file.has_value());
  EXPECT_EQ(r.body, "hello\n");
  r = Do("GET", "/s3/b/dir/obj", "", {{"Range", "bytes=1-2"}});
  EXPECT_EQ(r.status, 206);
  EXPECT_EQ(r.headers.Get("Content-Range"), "bytes 1-2/6");
  EXPECT_EQ(r.body, "el");
  r = Do("GET", "/s3/b/dir/obj", "", {{"Range", "bytes=10-"}});
  EXPECT_EQ(r.status, 416);
  EXPECT_TRUE(Has(r, "<Code>InvalidRange</Code>"));
  EXPECT_EQ(
      Do("GET", "/s3/b/dir/obj", "", {{"If-None-Match", "\"b1946ac92492d2347c6235b4d2611184\""}})
          .status,
      304);
  EXPECT_EQ(Do("GET", "/s3/b/dir/obj", "", {{"If-Match", "\"other\""}}).status, 412);
  EXPECT_EQ(Do("HEAD", "/s3/b/dir/obj").head_length, 6u);
  r = Do("GET", "/s3/b/missing");
  EXPECT_EQ(r.status, 404);
  EXPECT_TRUE(Has(r, "<Code>NoSuchKey</Code>"));
  // Content-MD5 mismatch stores nothing.
  r = Do("PUT", "/s3/b/bad", "abc", {{"Content-MD5", Base64(Md5("xyz"))}});
  EXPECT_EQ(r.status, 400);
  EXPECT_TRUE(Has(r, "<Code>BadDigest</Code>"));
  EXPECT_EQ(Do("GET", "/s3/b/bad").status, 404);
  // Copy keeps the ETag and metadata.
  r = Do("PUT", "/s3/b/copy", "", {{"x-amz-copy-source", "/b/dir/obj"}});
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_TRUE(Has(r, "b1946ac92492d2347c6235b4d2611184"));
  EXPECT_EQ(Do("GET", "/s3/b/copy").headers.Get("x-amz-meta-color"), "blue");
}

TEST_F(S3ApiTest, ListingsWithDelimiterAndPaging) {
  ASSERT_EQ(Do("PUT", "/s3/b").status, 200);
  for (const char* k : {"a/1", "a/2", "a/b/3", "c/4", "d", "e"})
    ASSERT_EQ(Do("PUT", std::string("/s3/b/") + k, k).status, 200);
  Response r = Do("GET", "/s3/b?list-type=2&delimiter=/");
  EXPECT_TRUE(Has(r,
                  "<CommonPrefixes><Prefix>a/</Prefix></CommonPrefixes>"
                  "<CommonPrefixes><Prefix>c/</Prefix></CommonPrefixes>"));
  EXPECT_TRUE(Has(r, "<Key>d</Key>"));
  EXPECT_TRUE(Has(r, "<KeyCount>4</KeyCount>"));
  // Pages of 1: a/, c/, d, e — each common prefix counted once.
  std::vector<std::string> seen;
  std::string token;
  for (int i = 0; i < 10; ++i) {
    std::string t = "/s3/b?list-type=2&delimiter=/&max-keys=1";
    if (!token.empty()) t += "&continuation-token=" + UriEncode(token, true);
    r = Do("GET", t);
    size_t p = r.body.find("<Key>");
    size_t c = r.body.find("<CommonPrefixes><Prefix>");
    if (p != std::string::npos) seen.push_back(r.body.substr(p + 5, r.body.find("</Key>") - p - 5));
    if (c != std::string::npos)
      seen.push_back(r.body.substr(c + 24, r.body.find("</Prefix></Common") - c - 24));
    size_t n = r.body.find("<NextContinuationToken>");
    if (n == std::string::npos) break;
    token = r.body.substr(n + 23, r.body.find("</NextContinuationToken>") - n - 23);
  }
  EXPECT_EQ(seen, (std::vector<std::string>{"a/", "c/", "d", "e"}));
  // v1 with a marker that is a common prefix skips everything under it.
  r = Do("GET", "/s3/b?delimiter=/&marker=a/");
  EXPECT_FALSE(Has(r, "<Prefix>a/</Prefix>"));
  EXPECT_TRUE(Has(r, "<Prefix>c/</Prefix>"));
  r = Do("GET", "/s3/b?prefix=a/&max-keys=2");
  EXPECT_TRUE(Has(r, "<IsTruncated>true</IsTruncated>"));
  EXPECT_TRUE(Has(r, "<NextMarker>a/2</NextMarker>"));
  r = Do("GET", "/s3/b?prefix=a/&marker=a/2");
  EXPECT_TRUE(Has(r, "<Key>a/b/3</Key>"));
  EXPECT_FALSE(Has(r, "<Key>a/1</Key>"));
  EXPECT_EQ(Do("GET", "/s3/b?max-keys=x").status, 400);
}

TEST_F(S3ApiTest, MultipartUploadAssemblesParts) {
  ASSERT_EQ(Do("PUT", "/s3/b").status, 200);
  Response r = Do("POST", "/s3/b/big?uploads", "", {{"Content-Type", "a/b"}});
  ASSERT_EQ(r.status, 200);
  size_t p = r.body.find("<UploadId>");
  std::string id = r.body.substr(p + 10, 32);
  std::string p1(5 << 20, 'x'), p2 = "tail";
  r = Do("PUT", "/s3/b/big?partNumber=1&uploadId=" + id, p1);
  ASSERT_EQ(r.status, 200) << r.body;
  std::string e1 = r.headers.Get("ETag");
  std::string e2 = Do("PUT", "/s3/b/big?partNumber=2&uploadId=" + id, p2).headers.Get("ETag");
  EXPECT_TRUE(Has(Do("GET", "/s3/b/big?uploadId=" + id), "<PartNumber>2</PartNumber>"));
  EXPECT_TRUE(Has(Do("GET", "/s3/b?uploads"), id));
  r = Do("POST", "/s3/b/big?uploadId=" + id,
         "<CompleteMultipartUpload><Part><PartNumber>2</PartNumber><ETag>" + e2 +
             "</ETag></Part><Part><PartNumber>1</PartNumber><ETag>" + e1 +
             "</ETag></Part></CompleteMultipartUpload>");
  EXPECT_TRUE(Has(r, "<Code>InvalidPartOrder</Code>"));
  r = Do("POST", "/s3/b/big?uploadId=" + id,
         "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>" + e1 +
             "</ETag></Part><Part><PartNumber>2</PartNumber><ETag>" + e2 +
             "</ETag></Part></CompleteMultipartUpload>");
  ASSERT_EQ(r.status, 200) << r.body;
  std::string want = ToHex(Md5(Md5(p1) + Md5(p2))) + "-2";
  EXPECT_TRUE(Has(r, want));
  r = Do("HEAD", "/s3/b/big");
  EXPECT_EQ(r.head_length, p1.size() + p2.size());
  EXPECT_EQ(r.headers.Get("ETag"), "\"" + want + "\"");
  EXPECT_EQ(r.headers.Get("Content-Type"), "a/b");
  EXPECT_EQ(Do("GET", "/s3/b/big?uploadId=" + id).status, 404);  // upload gone
  r = Do("PUT", "/s3/b/big?partNumber=1&uploadId=" + id, "x");
  EXPECT_TRUE(Has(r, "<Code>NoSuchUpload</Code>"));
  EXPECT_EQ(Do("PUT", "/s3/b/big?partNumber=0&uploadId=" + id, "x").status, 400);
}

TEST_F(S3ApiTest, DeleteObjectsAndVirtualHost) {
  ASSERT_EQ(Do("PUT", "/s3/vb").status, 200);
  ASSERT_EQ(Do("PUT", "/", "", {{"Host", "vb2.s3.test:8080"}}).status, 200);
  ASSERT_EQ(Do("PUT", "/k1", "1", {{"Host", "vb2.s3.test:8080"}}).status, 200);
  EXPECT_EQ(Do("GET", "/s3/vb2/k1").status, 200);
  ASSERT_EQ(Do("PUT", "/s3/vb/k2", "2").status, 200);
  Response r =
      Do("POST", "/s3/vb?delete",
         "<Delete><Object><Key>k2</Key></Object><Object><Key>none</Key></Object></Delete>");
  EXPECT_EQ(r.status, 200);
  EXPECT_TRUE(Has(r, "<Deleted><Key>k2</Key></Deleted><Deleted><Key>none</Key></Deleted>"));
  EXPECT_EQ(Do("GET", "/s3/vb/k2").status, 404);
  EXPECT_EQ(Do("POST", "/s3/vb?delete", "<nonsense").status, 400);
  EXPECT_EQ(Do("GET", "/other/path", "", {{"Host", "127.0.0.1:1"}}).status, 404);
}

}  // namespace
}  // namespace aisle::api::s3
