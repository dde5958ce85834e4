// The CLI's ais://BUCKET[/OBJECT] argument parser.
#include <gtest/gtest.h>

#include "cli/uri.h"

namespace aisle::cli {
namespace {

TEST(CliUriTest, SchemeAndPlainForms) {
  Result<AisUri> u = ParseAisUri("ais://b");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->bucket, "b");
  EXPECT_EQ(u->object, "");

  u = ParseAisUri("b");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->bucket, "b");
  EXPECT_EQ(u->object, "");

  u = ParseAisUri("ais://my-bucket.1/dir/sub/obj.txt");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->bucket, "my-bucket.1");
  EXPECT_EQ(u->object, "dir/sub/obj.txt");

  u = ParseAisUri("b/o");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->bucket, "b");
  EXPECT_EQ(u->object, "o");
}

TEST(CliUriTest, TrailingSlashMarksPrefix) {
  Result<AisUri> u = ParseAisUri("ais://b/");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->object, "");
  u = ParseAisUri("ais://b/pre/");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->object, "pre/");
}

TEST(CliUriTest, ObjectNamesKeptVerbatim) {
  Result<AisUri> u = ParseAisUri("ais://b/a b/ü?x=1#frag");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->object, "a b/ü?x=1#frag");
}

TEST(CliUriTest, Rejects) {
  EXPECT_FALSE(ParseAisUri("").ok());
  EXPECT_FALSE(ParseAisUri("ais://").ok());
  EXPECT_FALSE(ParseAisUri("ais:///o").ok());
  EXPECT_FALSE(ParseAisUri("ais://bad name/o").ok());
  EXPECT_FALSE(ParseAisUri("ais://..").ok());
  Result<AisUri> u = ParseAisUri("s3://b/o");
  ASSERT_FALSE(u.ok());
  EXPECT_EQ(u.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(u.status().message().find("s3://"), std::string::npos);
}

TEST(CliUriTest, BucketArg) {
  EXPECT_EQ(*ParseBucketArg("b"), "b");
  EXPECT_EQ(*ParseBucketArg("ais://b"), "b");
  EXPECT_EQ(*ParseBucketArg("ais://b/"), "b");
  EXPECT_FALSE(ParseBucketArg("ais://b/o").ok());
}

TEST(CliUriTest, Format) {
  EXPECT_EQ(FormatAisUri("b"), "ais://b");
  EXPECT_EQ(FormatAisUri("b", "x/y"), "ais://b/x/y");
}

}  // namespace
}  // namespace aisle::cli
