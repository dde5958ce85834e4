#include <gtest/gtest.h>

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

TEST(StatusTest, ContextAndResult) {
  Status st = Status::NotFound("x").WithContext("put ais://b/o");
  EXPECT_EQ(st.message(), "put ais://b/o: x");
  EXPECT_TRUE(st.IsNotFound());
  Result<int> r = 5;
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(*r, 5);
  Result<int> e = Status::IOError("disk");
  EXPECT_FALSE(e.ok());
  EXPECT_EQ(e.status().code(), StatusCode::kIOError);
}

}  // namespace
}  // namespace aisle
