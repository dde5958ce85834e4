// Member index and member reads for every shard format, on archives written by ShardWriter.
#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "common/archive/index_builder.h"
#include "common/archive/member_reader.h"
#include "common/archive/shard_writer.h"
#include "common/archive/tar_header.h"

namespace aisle::archive {
namespace {

struct Item {
  std::string name;
  std::string data;
};

std::string RandomBytes(size_t n, uint32_t seed, bool compressible) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(compressible ? 'a' + rng() % 4 : rng());
  return s;
}

std::string Write(Format f, const std::vector<Item>& items) {
  std::string out;
  auto w = ShardWriter::Open(f, [&](std::string_view b) {
    out.append(b);
    return Status::OK();
  });
  EXPECT_TRUE(w.ok()) << w.status().ToString();
  for (const auto& it : items) {
    size_t pos = 0;
    Status st = (*w)->Add(it.name, it.data.size(), 0640, 1700000000, [&](char* buf, size_t n) {
      size_t k = std::min(n, it.data.size() - pos);
      std::memcpy(buf, it.data.data() + pos, k);
      pos += k;
      return Result<size_t>(k);
    });
    EXPECT_TRUE(st.ok()) << st.ToString();
  }
  EXPECT_TRUE((*w)->Finish().ok());
  return out;
}

std::string ReadAll(const RandomAccessSource& src, const ShardIndex& idx, const Member& m,
                    uint64_t off, uint64_t len) {
  std::string got;
  Status st = ReadMember(src, idx, m, off, len, [&](std::string_view b) {
    got.append(b);
    return Status::OK();
  });
  EXPECT_TRUE(st.ok()) << st.ToString();
  return got;
}

class ArchiveIndexTest : public ::testing::TestWithParam<Format> {};

TEST_P(ArchiveIndexTest, IndexesAndReadsEveryMember) {
  std::vector<Item> items;
  for (int i = 0; i < 40; ++i) {
    items.push_back({"dir/sample-" + std::to_string(i) + (i % 2 ? ".jpg" : ".cls"),
                     RandomBytes(static_cast<size_t>(i) * 7919 % 300000, i, i % 3 == 0)});
  }
  items.push_back({std::string(150, 'n') + "/long-name.bin", "long"});
  std::string shard = Write(GetParam(), items);
  MemorySource src(shard);
  Limits lim;
  lim.seek_span = 64 << 10;  // many seek points even for a small shard
  auto idx = BuildIndex(src, FormatFromName(std::string("x") + FormatExtension(GetParam())), lim);
  ASSERT_TRUE(idx.ok()) << idx.status().ToString();
  ASSERT_EQ(idx->members.size(), items.size());
  for (const auto& it : items) {
    const Member* m = idx->Find(it.name);
    ASSERT_NE(m, nullptr) << it.name;
    EXPECT_EQ(m->size, it.data.size());
    EXPECT_EQ(m->mode, 0640u);
    EXPECT_EQ(m->mtime, 1700000000);
    EXPECT_EQ(ReadAll(src, *idx, *m, 0, m->size), it.data) << it.name;
    if (m->size > 10) {
      EXPECT_EQ(ReadAll(src, *idx, *m, 3, 5), it.data.substr(3, 5));
    }
  }
  // Round trip through the sidecar encoding.
  auto back = ShardIndex::Decode(idx->Encode());
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->members.size(), idx->members.size());
  EXPECT_EQ(back->points.size(), idx->points.size());
  const Member* m = back->Find(items[9].name);
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(ReadAll(src, *back, *m, 0, m->size), items[9].data);
  // The same bytes are detected by magic without a name.
  EXPECT_EQ(DetectFormat(src).value(), GetParam());
}

TEST_P(ArchiveIndexTest, TruncatedArchiveIsAnErrorNotACrash) {
  std::vector<Item> items = {{"a", RandomBytes(100000, 1, false)},
                             {"b", RandomBytes(5000, 2, true)}};
  std::string shard = Write(GetParam(), items);
  for (size_t cut : {shard.size() / 3, shard.size() / 2, shard.size() - 700}) {
    std::string part = shard.substr(0, cut);
    MemorySource src(part);
    auto idx = BuildIndex(src, GetParam(), Limits{});
    EXPECT_FALSE(idx.ok()) << "cut at " << cut;
    if (!idx.ok()) {
      EXPECT_EQ(idx.status().code(), StatusCode::kInvalidArgument) << idx.status().ToString();
    }
  }
  std::string garbage = shard;
  for (size_t i = 600; i < garbage.size(); i += 97) garbage[i] ^= 0x5a;
  MemorySource src(garbage);
  auto idx = BuildIndex(src, GetParam(), Limits{});
  if (idx.ok()) {  // zip and plain tar headers may survive; member reads must then fail cleanly
    for (const auto& m : idx->members)
      (void)ReadMember(src, *idx, m, 0, m.size, [](std::string_view) { return Status::OK(); });
  }
}

INSTANTIATE_TEST_SUITE_P(Formats, ArchiveIndexTest,
                         ::testing::Values(Format::kTar, Format::kTgz, Format::kZip,
                                           Format::kTarLz4, Format::kTarZst),
                         [](const auto& info) {
                           std::string s = FormatExtension(info.param) + 1;
                           for (auto& c : s)
                             if (c == '.') c = '_';
                           return s;
                         });

TEST(ArchiveFormatTest, ByNameMimeAndMagic) {
  EXPECT_EQ(FormatFromName("a/b.TAR"), Format::kTar);
  EXPECT_EQ(FormatFromName("x.tar.gz"), Format::kTgz);
  EXPECT_EQ(FormatFromName("x.tgz"), Format::kTgz);
  EXPECT_EQ(FormatFromName("x.tar.lz4"), Format::kTarLz4);
  EXPECT_EQ(FormatFromName("x.tar.zst"), Format::kTarZst);
  EXPECT_EQ(FormatFromName("x.zip"), Format::kZip);
  EXPECT_EQ(FormatFromName("x.jpg"), Format::kUnknown);
  EXPECT_EQ(FormatFromMime("application/zip"), Format::kZip);
  EXPECT_EQ(FormatFromMime(".tar.gz"), Format::kTgz);
  EXPECT_EQ(FormatFromMagic(std::string("\x1f\x8b\x08", 3)), Format::kTgz);
  EXPECT_EQ(FormatFromMagic("hello"), Format::kUnknown);
}

TEST(ArchiveNameTest, UnsafeNamesAreFlagged) {
  EXPECT_EQ(CheckMemberName("a/b.jpg"), 0);
  EXPECT_EQ(CheckMemberName("a..b/c"), 0);
  EXPECT_TRUE(CheckMemberName("../etc/passwd") & kNameDotDot);
  EXPECT_TRUE(CheckMemberName("a/../../x") & kNameDotDot);
  EXPECT_TRUE(CheckMemberName("/etc/passwd") & kNameAbsolute);
  EXPECT_TRUE(CheckMemberName(std::string("a\0b", 3)) & kNameNul);
  EXPECT_EQ(DescribeNameFlags(kNameDotDot | kNameAbsolute), "absolute path, '..' path segment");
}

TEST(ArchiveIndexLimitsTest, MemberCountAndRatioLimits) {
  std::vector<Item> items;
  for (int i = 0; i < 20; ++i) items.push_back({"m" + std::to_string(i), "x"});
  std::string tar = Write(Format::kTar, items);
  MemorySource src(tar);
  Limits lim;
  lim.max_members = 10;
  auto idx = BuildIndex(src, Format::kTar, lim);
  ASSERT_FALSE(idx.ok());
  EXPECT_NE(idx.status().message().find("more than 10 members"), std::string::npos);

  std::string bomb = Write(Format::kTgz, {{"zeros", std::string(50 << 20, '\0')}});
  MemorySource bsrc(bomb);
  auto b = BuildIndex(bsrc, Format::kTgz, Limits{});
  ASSERT_FALSE(b.ok());
  EXPECT_NE(b.status().message().find("expansion ratio"), std::string::npos)
      << b.status().ToString();
  std::string zbomb = Write(Format::kZip, {{"zeros", std::string(50 << 20, '\0')}});
  MemorySource zsrc(zbomb);
  auto z = BuildIndex(zsrc, Format::kZip, Limits{});
  ASSERT_FALSE(z.ok());
  EXPECT_NE(z.status().message().find("zip bomb"), std::string::npos) << z.status().ToString();

  // Small but very compressible members (1000:1) are files, not bombs.
  for (Format f : {Format::kTgz, Format::kZip}) {
    std::string small = Write(f, {{"zeros", std::string(4 << 20, '\0')}});
    MemorySource ssrc(small);
    auto s = BuildIndex(ssrc, f, Limits{});
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    EXPECT_EQ(s->members.size(), 1u);
  }
}

TEST(TarHeaderTest, AppendedMembersAreReadable) {
  std::string tar = Write(Format::kTar, {{"first", "one"}});
  MemorySource src0(tar);
  auto idx0 = BuildIndex(src0, Format::kTar, Limits{});
  ASSERT_TRUE(idx0.ok());
  std::string longname = std::string(120, 'q') + "/\xc3\xa9t\xc3\xa9.txt";
  std::string appended = tar.substr(0, idx0->end_of_entries);
  for (const std::string& name : {std::string("second"), longname}) {
    std::string data = "payload of " + name;
    appended += TarFileHeader(name, data.size(), 0644, 1700000001);
    appended += data;
    appended.append(TarPadding(data.size()), '\0');
  }
  appended.append(kTarEndBlocks, '\0');
  MemorySource src(appended);
  auto idx = BuildIndex(src, Format::kTar, Limits{});
  ASSERT_TRUE(idx.ok()) << idx.status().ToString();
  ASSERT_EQ(idx->members.size(), 3u);
  const Member* m = idx->Find(longname);
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(ReadAll(src, *idx, *m, 0, m->size), "payload of " + longname);
}

}  // namespace
}  // namespace aisle::archive
