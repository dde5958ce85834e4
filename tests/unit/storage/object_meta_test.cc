#include "server/storage/object_meta.h"

#include <gtest/gtest.h>

namespace aisle::storage {
namespace {

TEST(ObjectMetaTest, RoundTripsAndPadsToPages) {
  ObjectMeta m;
  m.name = "dir/obj.jpg";
  m.size = 12345;
  m.xxhash = 0xdeadbeef;
  m.version = 7;
  m.mtime_ns = 1;
  m.atime_ns = 2;
  m.custom = {{"a", "1"}, {"k", "v=w"}};
  std::string h = EncodeHeader(m);
  EXPECT_EQ(h.size(), EncodedHeaderLen(m));
  EXPECT_EQ(h.size() % kHeaderAlign, 0u);
  ObjectMeta d;
  uint32_t hlen = 0, need = 0;
  ASSERT_TRUE(DecodeHeader(h, &d, &hlen, &need).ok());
  EXPECT_EQ(need, 0u);
  EXPECT_EQ(hlen, h.size());
  EXPECT_EQ(d.name, m.name);
  EXPECT_EQ(d.size, m.size);
  EXPECT_EQ(d.xxhash, m.xxhash);
  EXPECT_EQ(d.version, m.version);
  EXPECT_EQ(d.custom, m.custom);
}

TEST(ObjectMetaTest, LongNamesAndCustomGrowTheHeader) {
  ObjectMeta m;
  m.name = std::string(1024, 'n');
  for (int i = 0; i < 100; ++i)
    m.custom.emplace_back("key" + std::to_string(i), std::string(50, 'v'));
  std::string h = EncodeHeader(m);
  EXPECT_GT(h.size(), kHeaderAlign);
  EXPECT_EQ(h.size(), EncodedHeaderLen(m));
  ObjectMeta d;
  uint32_t hlen = 0, need = 0;
  // A first 4 KiB read asks for the rest.
  ASSERT_TRUE(DecodeHeader(std::string_view(h).substr(0, kHeaderAlign), &d, &hlen, &need).ok());
  EXPECT_EQ(need, h.size());
  ASSERT_TRUE(DecodeHeader(h, &d, &hlen, &need).ok());
  EXPECT_EQ(d.custom.size(), 100u);
}

TEST(ObjectMetaTest, DetectsCorruption) {
  ObjectMeta m;
  m.name = "x";
  std::string h = EncodeHeader(m);
  ObjectMeta d;
  uint32_t hlen, need;
  std::string bad = h;
  bad[0] = 'X';
  EXPECT_EQ(DecodeHeader(bad, &d, &hlen, &need).code(), StatusCode::kDataCorruption);
  bad = h;
  bad[kHeaderFixedLen + 3] ^= 1;  // flip a bit in the record
  EXPECT_EQ(DecodeHeader(bad, &d, &hlen, &need).code(), StatusCode::kDataCorruption);
  EXPECT_EQ(DecodeHeader(h.substr(0, 10), &d, &hlen, &need).code(), StatusCode::kDataCorruption);
}

}  // namespace
}  // namespace aisle::storage
