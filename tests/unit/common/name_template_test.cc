// The name templates of multi-object operations (AIStore's bash and "at" ranges, Aisle's lists):
// expansion order, steps, padding, limits and the errors.
#include "common/name_template.h"

#include <gtest/gtest.h>

namespace aisle {
namespace {

std::vector<std::string> Expand(const std::string& text) {
  auto t = ParseNameTemplate(text);
  EXPECT_TRUE(t.ok()) << text << ": " << t.status().message();
  std::vector<std::string> out;
  if (t.ok())
    t->ForEach([&](const std::string& n) {
      out.push_back(n);
      return true;
    });
  return out;
}

TEST(NameTemplate, SingleRangeNoPadding) {
  EXPECT_EQ(Expand("x-{0..3}"), (std::vector<std::string>{"x-0", "x-1", "x-2", "x-3"}));
  EXPECT_EQ(Expand("{8..11}.bin"),
            (std::vector<std::string>{"8.bin", "9.bin", "10.bin", "11.bin"}));
}

TEST(NameTemplate, PaddingIsTheShorterBoundsWidth) {
  EXPECT_EQ(
      Expand("img-{0008..0011}.jpg"),
      (std::vector<std::string>{"img-0008.jpg", "img-0009.jpg", "img-0010.jpg", "img-0011.jpg"}));
  // AIStore: min(len(start), len(end)) digits.
  EXPECT_EQ(Expand("a{01..100..45}"), (std::vector<std::string>{"a01", "a46", "a91"}));
}

TEST(NameTemplate, StepStopsAtOrBeforeEnd) {
  EXPECT_EQ(Expand("s-{0..10..2}"),
            (std::vector<std::string>{"s-0", "s-2", "s-4", "s-6", "s-8", "s-10"}));
  EXPECT_EQ(Expand("s-{1..10..4}"), (std::vector<std::string>{"s-1", "s-5", "s-9"}));
  auto t = ParseNameTemplate("s-{1..10..4}");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->Count(), 3u);
}

TEST(NameTemplate, SeveralRangesLastVariesFastest) {
  EXPECT_EQ(Expand("d{1..2}/f-{00..02..2}.txt"),
            (std::vector<std::string>{"d1/f-00.txt", "d1/f-02.txt", "d2/f-00.txt", "d2/f-02.txt"}));
}

TEST(NameTemplate, AtStyle) {
  EXPECT_EQ(Expand("n-@02.x"), (std::vector<std::string>{"n-00.x", "n-01.x", "n-02.x"}));
}

// Aisle extension (the archive job's templates): "{a,b}" lists multiply like ranges.
TEST(NameTemplate, BraceLists) {
  EXPECT_EQ(Expand("{a,b}/x-{0..20..10}"),
            (std::vector<std::string>{"a/x-0", "a/x-10", "a/x-20", "b/x-0", "b/x-10", "b/x-20"}));
  EXPECT_EQ(Expand("o-{0,1,7,nosuch}.bin"),
            (std::vector<std::string>{"o-0.bin", "o-1.bin", "o-7.bin", "o-nosuch.bin"}));
  EXPECT_EQ(Expand("f{,-old}"), (std::vector<std::string>{"f", "f-old"}));
  EXPECT_EQ(ParseNameTemplate("{a,b}{c,d,e}")->Count(), 6u);
}

TEST(NameTemplate, PrefixOnly) {
  auto t = ParseNameTemplate("logs/2025/");
  ASSERT_TRUE(t.ok());
  EXPECT_TRUE(t->IsPrefixOnly());
  EXPECT_EQ(t->prefix, "logs/2025/");
}

TEST(NameTemplate, StopsWhenAsked) {
  auto t = ParseNameTemplate("{0..999999}");
  ASSERT_TRUE(t.ok());
  int n = 0;
  t->ForEach([&](const std::string&) { return ++n < 5; });
  EXPECT_EQ(n, 5);
}

TEST(NameTemplate, Errors) {
  for (const char* bad :
       {"", "*", "x-{0..9", "x-0..9}", "x-{9..0}", "x-{a..z}", "x-{0..9..0}", "x-{0..9..-1}",
        "x-{0}", "x-{0..1..2..3}", "x-{-1..3}", "x-{{0..1}}", "x-@", "x-{0..99999}{0..99999}"}) {
    auto t = ParseNameTemplate(bad);
    EXPECT_FALSE(t.ok()) << bad;
    if (!t.ok()) {
      EXPECT_EQ(t.status().code(), StatusCode::kInvalidArgument) << bad;
    }
  }
}

}  // namespace
}  // namespace aisle
