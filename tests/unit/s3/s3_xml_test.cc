// The S3 XML helpers: escaping, the request-document scanner, error bodies.
#include "server/s3/s3_xml.h"

#include <gtest/gtest.h>

#include "common/clock.h"
#include "server/s3/s3_error.h"

namespace aisle::api::s3 {
namespace {

TEST(S3XmlTest, EscapesAndWrites) {
  EXPECT_EQ(XmlEscape("a<b>&\"'"), "a&lt;b&gt;&amp;&quot;&apos;");
  XmlWriter w;
  w.Open("R", kS3Xmlns).Leaf("Key", "x&y").Close("R");
  std::string s = w.Take();
  EXPECT_NE(s.find("<R xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Key>x&amp;y</Key></R>"),
            std::string::npos);
}

// Issue 16: characters XML 1.0 forbids (NUL, other controls, bytes that are not UTF-8) never
// reach a body; tab, newline and valid multibyte characters pass.
TEST(S3XmlTest, EscapeDropsXmlForbiddenCharacters) {
  const std::string r = "\xEF\xBF\xBD";
  EXPECT_EQ(XmlEscape(std::string("a\0b", 3)), "a" + r + "b");
  EXPECT_EQ(XmlEscape("a\x01\x1F\x0B"), "a" + r + r + r);
  EXPECT_EQ(XmlEscape("a\tb"), "a\tb");
  EXPECT_EQ(XmlEscape("\xC3\xA9\xF0\x9F\x98\x80"), "\xC3\xA9\xF0\x9F\x98\x80");  // é 😀
  EXPECT_EQ(XmlEscape("\xFF\xC3"), r + r);                                       // not UTF-8
  EXPECT_EQ(XmlEscape("\xED\xA0\x80"), r + r + r);                               // a surrogate
  EXPECT_EQ(XmlEscape("\xEF\xBF\xBF"), r + r + r);                               // U+FFFF
  XmlWriter w;
  w.Leaf("Key", std::string("k\0", 2));
  EXPECT_EQ(w.Take().find('\0'), std::string::npos);
}

TEST(S3XmlTest, ScansDeleteAndCompleteDocuments) {
  std::string del =
      "<?xml version=\"1.0\"?><Delete xmlns=\"x\"><Quiet>true</Quiet>"
      "<Object><Key>a&amp;b</Key></Object><Object><Key>c&#233;</Key><VersionId>1</VersionId>"
      "</Object></Delete>";
  auto objects = XmlBlocks(del, "Object");
  ASSERT_EQ(objects.size(), 2u);
  auto k0 = XmlTexts(objects[0], "Key");
  ASSERT_TRUE(k0.ok());
  EXPECT_EQ(k0->front(), "a&b");
  EXPECT_EQ(XmlTexts(objects[1], "Key")->front(), "c\xc3\xa9");
  EXPECT_EQ(XmlTexts(del, "Quiet")->front(), "true");
  std::string parts =
      "<CompleteMultipartUpload><Part><ETag>\"e1\"</ETag><PartNumber>1</PartNumber></Part>"
      "<Part><PartNumber>2</PartNumber><ETag>&quot;e2&quot;</ETag></Part></"
      "CompleteMultipartUpload>";
  auto blocks = XmlBlocks(parts, "Part");
  ASSERT_EQ(blocks.size(), 2u);
  EXPECT_EQ(XmlTexts(blocks[1], "ETag")->front(), "\"e2\"");
  EXPECT_FALSE(XmlTexts("<Key>a&bogus;</Key>", "Key").ok());
  EXPECT_TRUE(XmlBlocks("<Keys>x</Keys>", "Key").empty());  // <Keys> is not <Key>
}

// The S3 code comes from typed fields only: rewording a message changes nothing, and a
// message that looks like a code is not one.
TEST(S3XmlTest, S3CodeFromTypedFieldsNotText) {
  Status bucket = Status::NotFound("no such container, reworded").WithSubject(Subject::kBucket);
  EXPECT_EQ(S3ErrorFor(bucket, "NoSuchKey").code, "NoSuchBucket");
  EXPECT_EQ(S3ErrorFor(bucket, "NoSuchKey").http, 404);
  EXPECT_EQ(S3ErrorFor(bucket.WithContext("t1"), "NoSuchKey").code, "NoSuchBucket");
  EXPECT_EQ(S3ErrorFor(Status::NotFound("bucket \"ais://b\" does not exist"), "NoSuchKey").code,
            "NoSuchKey");
  Status upload = Status::NotFound("gone").WithSubject(Subject::kUpload);
  EXPECT_EQ(S3ErrorFor(upload).code, "NoSuchUpload");
  EXPECT_EQ(S3ErrorFor(Status::NotFound("x").WithSubject(Subject::kObject)).code, "NoSuchKey");
  S3ErrorCode small =
      S3ErrorFor(WithS3Code(Status::InvalidArgument("part 1 is small"), S3Code::kEntityTooSmall));
  EXPECT_EQ(small.code, "EntityTooSmall");
  EXPECT_EQ(small.http, 400);
  EXPECT_EQ(S3ErrorFor(Status::InvalidArgument("InvalidPart: part 2 missing")).code,
            "InvalidArgument");
  EXPECT_EQ(S3ErrorFor(Status::RangeNotSatisfiable("x")).code, "InvalidRange");
  EXPECT_EQ(S3ErrorFor(Status::RangeNotSatisfiable("x")).http, 416);
  Request req;
  req.method = "GET";
  req.path = "/s3/b/k";
  Response r;
  WriteS3Status(req, r, Status::InvalidArgument("Malformed: text stays the message"));
  EXPECT_NE(r.body.find("<Code>InvalidArgument</Code><Message>Malformed: text stays the message"),
            std::string::npos);
}

TEST(S3XmlTest, ErrorsCarryS3CodesAndNoBodyForHead) {
  Request req;
  req.method = "GET";
  req.path = "/s3/b/k";
  Response resp;
  WriteS3Status(req, resp, Status::NotFound("ais://b/k does not exist"), "NoSuchKey");
  EXPECT_EQ(resp.status, 404);
  EXPECT_NE(resp.body.find("<Code>NoSuchKey</Code>"), std::string::npos);
  Response r2;
  WriteS3Status(req, r2,
                Status::NotFound("bucket \"ais://b\" does not exist").WithSubject(Subject::kBucket),
                "NoSuchKey");
  EXPECT_NE(r2.body.find("<Code>NoSuchBucket</Code>"), std::string::npos);
  Response r3;
  WriteS3Status(req, r3,
                WithS3Code(Status::InvalidArgument("part 2 missing"), S3Code::kInvalidPart));
  EXPECT_EQ(r3.status, 400);
  EXPECT_NE(r3.body.find("<Code>InvalidPart</Code><Message>part 2 missing</Message>"),
            std::string::npos);
  req.method = "HEAD";
  Response r4;
  WriteS3Error(req, r4, 403, "AccessDenied", "no");
  EXPECT_EQ(r4.status, 403);
  EXPECT_TRUE(r4.body.empty());
  EXPECT_EQ(Iso8601Ms(1369353600123000000), "2013-05-24T00:00:00.123Z");
}

}  // namespace
}  // namespace aisle::api::s3
