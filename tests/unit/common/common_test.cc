#include <gtest/gtest.h>

#include <cerrno>

#include "common/checksum.h"
#include "common/hrw.h"
#include "common/names.h"
#include "common/result.h"

namespace aisle {
namespace {

TEST(NamesTest, BucketNames) {
  EXPECT_TRUE(ValidateBucketName("my-bucket_1.v2").ok());
  EXPECT_FALSE(ValidateBucketName("").ok());
  EXPECT_FALSE(ValidateBucketName(".").ok());
  EXPECT_FALSE(ValidateBucketName("..").ok());
  EXPECT_FALSE(ValidateBucketName("a/b").ok());
  EXPECT_FALSE(ValidateBucketName(std::string(65, 'a')).ok());
  EXPECT_TRUE(ValidateBucketName(std::string(64, 'a')).ok());
}

TEST(NamesTest, ObjectNamesFollowS3ButNeverEscape) {
  EXPECT_TRUE(ValidateObjectName("a").ok());
  EXPECT_TRUE(ValidateObjectName("a/b/c.jpg").ok());
  EXPECT_TRUE(ValidateObjectName("dir/").ok());
  EXPECT_TRUE(ValidateObjectName("a..b/..c").ok());
  EXPECT_TRUE(ValidateObjectName("снимок/файл.jpg").ok());
  EXPECT_FALSE(ValidateObjectName("").ok());
  EXPECT_FALSE(ValidateObjectName("/abs").ok());
  EXPECT_FALSE(ValidateObjectName("../x").ok());
  EXPECT_FALSE(ValidateObjectName("a/../../x").ok());
  EXPECT_FALSE(ValidateObjectName("a/./x").ok());
  EXPECT_FALSE(ValidateObjectName("a/..").ok());
  EXPECT_FALSE(ValidateObjectName(std::string("a\0b", 3)).ok());
  EXPECT_FALSE(ValidateObjectName("\xff\xfe").ok());
  EXPECT_FALSE(ValidateObjectName("\xe2\x82").ok());  // truncated UTF-8
  EXPECT_TRUE(ValidateObjectName(std::string(1024, 'x')).ok());
  EXPECT_FALSE(ValidateObjectName(std::string(1025, 'x')).ok());
  EXPECT_EQ(ValidateObjectName("../x").code(), StatusCode::kInvalidArgument);
}

TEST(ChecksumTest, Xxh64MatchesReferenceVectors) {
  EXPECT_EQ(Hex64(Xxh64("")), "ef46db3751d8e999");
  Xxh64Stream s;
  s.Update("hel", 3);
  s.Update("lo\n", 3);
  EXPECT_EQ(s.Digest(), Xxh64("hello\n"));
  uint64_t v = 0;
  EXPECT_TRUE(ParseHex64("ef46db3751d8e999", &v));
  EXPECT_EQ(v, Xxh64(""));
  EXPECT_FALSE(ParseHex64("xyz", &v));
  EXPECT_FALSE(ParseHex64("", &v));
}

// Vectors computed independently from AIStore's definition (xoshiro256 Hash) in Python.
TEST(HrwTest, ScoreMatchesAistoreMix) {
  EXPECT_EQ(HrwScore(0, 0), 0x1a70a846bd9cc2a9ULL);
  EXPECT_EQ(HrwScore(1, 2), 0x1aca433d32814898ULL);
  EXPECT_EQ(HrwScore(0xdeadbeefcafebabeULL, 0x0123456789abcdefULL), 0xbb7cd928aabed1feULL);
  EXPECT_EQ(HrwScore(~0ULL, 1), 0xdd1d9bb346b0b13fULL);
  EXPECT_EQ(MakeUname("b", "a/o"), "ais/@#/b/a/o");
}

// The typed fields travel with the status; the message is only text.
TEST(StatusTest, TypedFieldsSurviveContext) {
  Status st = Status::NotFound("gone").WithSubject(Subject::kBucket).WithDetail(7).WithErrno(EXDEV);
  Status ctx = st.WithContext("node t1").WithContext("get b/o");
  EXPECT_EQ(ctx.code(), StatusCode::kNotFound);
  EXPECT_EQ(ctx.subject(), Subject::kBucket);
  EXPECT_EQ(ctx.detail(), 7);
  EXPECT_EQ(ctx.sys_errno(), EXDEV);
  EXPECT_EQ(ctx.message(), "get b/o: node t1: gone");
  // An OK status takes no fields: it stays the cheap, bare OK.
  Status ok = Status::OK().WithSubject(Subject::kObject).WithErrno(EIO).WithDetail(1);
  EXPECT_TRUE(ok.ok());
  EXPECT_EQ(ok.subject(), Subject::kNone);
  EXPECT_EQ(ok.sys_errno(), 0);
  EXPECT_EQ(ok.detail(), 0);
  // FromErrno keeps the errno it was given beside the code it maps to.
  Status io = Status::FromErrno(EACCES, "open f");
  EXPECT_EQ(io.code(), StatusCode::kIOError);
  EXPECT_EQ(io.sys_errno(), EACCES);
  Status nf = Status::FromErrno(ENOENT, "open f");
  EXPECT_TRUE(nf.IsNotFound());
  EXPECT_EQ(nf.sys_errno(), ENOENT);
  // Text that looks like a field is just text.
  EXPECT_EQ(Status::Internal("errno:18|x").sys_errno(), 0);
  EXPECT_EQ(Status::NotFound("bucket \"ais://b\" does not exist").subject(), Subject::kNone);
}

TEST(StatusTest, ContextAndResult) {
  Status st = Status::NotFound("x").WithContext("put ais://b/o");
  EXPECT_EQ(st.message(), "put ais://b/o: x");
  EXPECT_TRUE(st.IsNotFound());
  // Values through a function, as real callers get them (GCC 12 warns about a variant
  // built in place from a literal: a false maybe-uninitialized in Status's string).
  auto make = [](bool ok) -> Result<int> { return ok ? Result<int>(5) : Status::IOError("disk"); };
  Result<int> r = make(true);
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(*r, 5);
  Result<int> e = make(false);
  EXPECT_FALSE(e.ok());
  EXPECT_EQ(e.status().code(), StatusCode::kIOError);
}

}  // namespace
}  // namespace aisle
