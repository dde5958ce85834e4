// SigV4 verification and aws-chunked decoding against the worked examples in AWS's
// "Signature Version 4" S3 documentation (same keys, dates and expected signatures).
#include "server/s3/s3_auth.h"

#include <gtest/gtest.h>

#include <string>

#include "server/s3/s3_body.h"

namespace aisle::api::s3 {
namespace {

constexpr char kAk[] = "AKIAIOSFODNN7EXAMPLE";
constexpr char kSk[] = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
constexpr int64_t kWhen = 1369353600;  // 2013-05-24T00:00:00Z

S3Options Keys() {
  S3Options o;
  o.keys = {{kAk, kSk}};
  return o;
}

TEST(S3AuthTest, VerifiesHeaderSignatureOfAwsGetExample) {
  Request req;
  req.method = "GET";
  req.path = "/test.txt";
  req.headers.Add("Host", "examplebucket.s3.amazonaws.com");
  req.headers.Add("Range", "bytes=0-9");
  req.headers.Add("x-amz-content-sha256",
                  "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  req.headers.Add("x-amz-date", "20130524T000000Z");
  req.headers.Add("Authorization",
                  "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/"
                  "aws4_request,SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,"
                  "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
  auto r = VerifyRequest(req, Keys(), kWhen);
  ASSERT_TRUE(std::holds_alternative<AuthInfo>(r)) << std::get<AuthError>(r).message;
  EXPECT_TRUE(std::get<AuthInfo>(r).verified);

  req.headers.Set("Range", "bytes=0-10");  // any signed header changed: rejected
  r = VerifyRequest(req, Keys(), kWhen);
  ASSERT_TRUE(std::holds_alternative<AuthError>(r));
  EXPECT_EQ(std::get<AuthError>(r).code, "SignatureDoesNotMatch");
  EXPECT_EQ(std::get<AuthError>(r).http, 403);
}

TEST(S3AuthTest, RejectsUnknownKeySkewAndAnonymous) {
  Request req;
  req.method = "GET";
  req.path = "/b";
  req.headers.Add("Host", "h");
  req.headers.Add("x-amz-date", "20130524T000000Z");
  req.headers.Add("Authorization",
                  "AWS4-HMAC-SHA256 Credential=NOBODY/20130524/us-east-1/s3/aws4_request,"
                  "SignedHeaders=host;x-amz-date,Signature=00");
  auto r = VerifyRequest(req, Keys(), kWhen);
  EXPECT_EQ(std::get<AuthError>(r).code, "InvalidAccessKeyId");
  r = VerifyRequest(req, Keys(), kWhen + 3600);
  EXPECT_EQ(std::get<AuthError>(r).code, "RequestTimeTooSkewed");
  Request anon;
  anon.method = "GET";
  anon.path = "/b";
  EXPECT_EQ(std::get<AuthError>(VerifyRequest(anon, Keys(), kWhen)).code, "AccessDenied");
  // No keys configured: everything is accepted, unverified.
  auto open = VerifyRequest(anon, S3Options{}, kWhen);
  ASSERT_TRUE(std::holds_alternative<AuthInfo>(open));
  EXPECT_FALSE(std::get<AuthInfo>(open).verified);
}

// Found by fuzzing (tests/fuzz/sigv4_fuzz.cc): the V2 entry point read the access key
// without checking it was there.
TEST(S3AuthTest, V2QueryWithoutAccessKeyIsAnErrorNotACrash) {
  Request req;
  req.method = "GET";
  req.path = "/b/k";
  req.query = {{"Expires", "1369353999"}, {"Signature", "abc="}};
  auto r = VerifyV2Query(req, Keys(), kWhen);
  ASSERT_TRUE(std::holds_alternative<AuthError>(r));
  EXPECT_EQ(std::get<AuthError>(r).code, "InvalidAccessKeyId");
}

TEST(S3AuthTest, VerifiesPresignedUrlOfAwsExampleAndExpiry) {
  Request req;
  req.method = "GET";
  req.path = "/test.txt";
  req.query = ParseQuery(
      "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-"
      "east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-"
      "SignedHeaders=host&X-Amz-Signature="
      "aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404");
  req.headers.Add("Host", "examplebucket.s3.amazonaws.com");
  auto r = VerifyRequest(req, Keys(), kWhen + 60);
  ASSERT_TRUE(std::holds_alternative<AuthInfo>(r)) << std::get<AuthError>(r).message;
  r = VerifyRequest(req, Keys(), kWhen + 86401);
  ASSERT_TRUE(std::holds_alternative<AuthError>(r));
  EXPECT_EQ(std::get<AuthError>(r).code, "AccessDenied");
}

// AWS's streaming example: 66560 bytes of 'a' in chunks of 65536 and 1024.
Request ChunkedExampleRequest() {
  Request req;
  req.method = "PUT";
  req.path = "/examplebucket/chunkObject.txt";
  req.headers.Add("Host", "s3.amazonaws.com");
  req.headers.Add("x-amz-date", "20130524T000000Z");
  req.headers.Add("x-amz-storage-class", "REDUCED_REDUNDANCY");
  req.headers.Add("Authorization",
                  "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/"
                  "aws4_request,SignedHeaders=content-encoding;content-length;host;x-amz-content-"
                  "sha256;x-amz-date;x-amz-decoded-content-length;x-amz-storage-class,Signature="
                  "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9");
  req.headers.Add("x-amz-content-sha256", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD");
  req.headers.Add("Content-Encoding", "aws-chunked");
  req.headers.Add("x-amz-decoded-content-length", "66560");
  req.headers.Add("Content-Length", "66824");
  return req;
}

std::string ChunkedExampleBody(char flip_at_end) {
  std::string body =
      "10000;chunk-signature=ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648\r\n";
  body += std::string(65536, 'a') + "\r\n";
  body +=
      "400;chunk-signature=0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497\r\n";
  body += std::string(1023, 'a') + flip_at_end + "\r\n";
  body +=
      "0;chunk-signature=b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9\r\n\r\n";
  return body;
}

Result<std::string> Drain(BodyReader& r) {
  std::string out;
  char buf[7000];  // odd size: reads straddle chunk boundaries
  for (;;) {
    AISLE_ASSIGN_OR_RETURN(size_t n, r.Read(buf, sizeof buf));
    if (n == 0) return out;
    out.append(buf, n);
  }
}

TEST(S3AuthTest, DecodesAndVerifiesSignedAwsChunkedExample) {
  Request req = ChunkedExampleRequest();
  auto r = VerifyRequest(req, Keys(), kWhen);
  ASSERT_TRUE(std::holds_alternative<AuthInfo>(r)) << std::get<AuthError>(r).message;
  const AuthInfo& auth = std::get<AuthInfo>(r);
  EXPECT_EQ(auth.seed_signature,
            "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9");
  std::string body = ChunkedExampleBody('a');
  StringBodyReader raw(body);
  AwsChunkedReader chunked(raw, 66560, &auth);
  auto data = Drain(chunked);
  ASSERT_TRUE(data.ok()) << data.status().message();
  EXPECT_EQ(*data, std::string(66560, 'a'));

  std::string bad = ChunkedExampleBody('b');  // one byte changed in the second chunk
  StringBodyReader raw2(bad);
  AwsChunkedReader chunked2(raw2, 66560, &auth);
  EXPECT_FALSE(Drain(chunked2).ok());
  EXPECT_EQ(chunked2.failed_check(), "SignatureDoesNotMatch");
}

TEST(S3AuthTest, DecodesUnsignedChunksWithTrailers) {
  std::string body = "3\r\nabc\r\n2\r\nde\r\n0\r\nx-amz-checksum-crc32:AAAAAA==\r\n\r\n";
  StringBodyReader raw(body);
  AwsChunkedReader chunked(raw, 5, nullptr);
  auto data = Drain(chunked);
  ASSERT_TRUE(data.ok());
  EXPECT_EQ(*data, "abcde");
  std::string cut = "5\r\nab";
  StringBodyReader raw2(cut);
  AwsChunkedReader chunked2(raw2, 5, nullptr);
  EXPECT_FALSE(Drain(chunked2).ok());
  EXPECT_EQ(chunked2.failed_check(), "IncompleteBody");
}

TEST(S3AuthTest, HashingReaderChecksContentMd5) {
  StringBodyReader raw("hello\n");
  HashingReader ok(raw, "", "");
  ASSERT_TRUE(Drain(ok).ok());
  EXPECT_EQ(ok.md5_hex(), "b1946ac92492d2347c6235b4d2611184");
  StringBodyReader raw2("hello\n");
  HashingReader bad(raw2, std::string(16, 'x'), "");
  EXPECT_FALSE(Drain(bad).ok());
  EXPECT_EQ(bad.failed_check(), "BadDigest");
}

}  // namespace
}  // namespace aisle::api::s3
