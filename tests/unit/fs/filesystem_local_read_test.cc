// fs/core local reads: co-located objects are read from their files (LocalObject) without
// requests, with fallback to the network. MockClusterClient; no FUSE, no sockets.
#include <fcntl.h>
#include <gtest/gtest.h>

#include "tests/testing/fs_core_fixture.h"

namespace aisle::fs {
namespace {

TEST_F(FsCoreTest, LocalReadsServeObjectsWithoutRequests) {
  // The owning target is on this host: every read of the open file is a read of its file.
  std::string data(3 << 20, '\0');
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>(i * 13 + (i >> 12));
  client_.AddObject("b", "big.bin", data);
  client_.AddObject("b", "s.tar", "RAW");
  client_.AddMember("b", "s.tar", "m.txt", "member");
  client_.AddEtl("upper");
  client_.local_objects = true;
  auto fs = Make();
  auto e = Walk(*fs, {"b", "big.bin"});
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(ReadAll(*fs, e->attr.ino), data);
  auto o = fs->Open(e->attr.ino, O_RDONLY);  // random reads too
  ASSERT_TRUE(o.ok());
  std::string buf(1000, '\0');
  for (uint64_t off : {uint64_t{2} << 20, uint64_t{5}, uint64_t{(3 << 20) - 10}}) {
    auto n = fs->Read(o->fh, off, buf.size(), buf.data());
    ASSERT_TRUE(n.ok());
    EXPECT_EQ(buf.substr(0, *n), data.substr(off, 1000));
  }
  EXPECT_TRUE(fs->Release(o->fh).ok());
  EXPECT_EQ(client_.local_opens, 2);
  EXPECT_EQ(client_.get_calls, 0);
  EXPECT_EQ(client_.open_range_calls, 0);
  // Shard members, transforms and -o local_reads=off read over the network.
  EXPECT_EQ(ReadAll(*fs, Walk(*fs, {"b", "s.tar", "m.txt"})->attr.ino), "member");
  auto etl = fs->Open(Walk(*fs, {".etl", "upper", "b", "top"})->attr.ino, O_RDONLY);
  ASSERT_TRUE(etl.ok());
  EXPECT_TRUE(fs->Release(etl->fh).ok());
  EXPECT_EQ(client_.local_opens, 2);
  opts_.local_reads = false;
  auto off = Make();
  EXPECT_EQ(ReadAll(*off, Walk(*off, {"b", "top"})->attr.ino), "t");
  EXPECT_EQ(client_.local_opens, 2);
  EXPECT_GT(client_.get_calls, 0);
}

TEST_F(FsCoreTest, FailedLocalReadFallsBackToTheNetwork) {
  std::string data(2 << 20, '\0');
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>(i * 5 + (i >> 11));
  client_.AddObject("b", "f.bin", data);
  client_.local_objects = true;
  client_.break_local_after = 3;
  auto fs = Make();
  EXPECT_EQ(ReadAll(*fs, Walk(*fs, {"b", "f.bin"})->attr.ino), data);
  EXPECT_EQ(client_.local_reads, 4);  // 3 served, the 4th failed, and no more were tried
  EXPECT_GT(client_.get_calls + client_.open_range_calls, 0);
}

TEST_F(FsCoreTest, LocalObjectIsOpenedByTheFirstRead) {
  // An open whose reads the page cache serves (keep_cache) never asks the target; the first
  // read that reaches us does, once.
  client_.local_objects = true;
  auto fs = Make();
  ASSERT_TRUE(fs->Release(OpenForRead(*fs, {"b", "top"}).fh).ok());
  EXPECT_EQ(client_.local_opens, 0);
  OpenOut o = OpenForRead(*fs, {"b", "top"});
  char buf[8];
  for (int i = 0; i < 3; ++i) {
    auto n = fs->Read(o.fh, 0, sizeof buf, buf);
    ASSERT_TRUE(n.ok());
    EXPECT_EQ(std::string(buf, *n), "t");
  }
  EXPECT_EQ(client_.local_opens, 1);
  EXPECT_EQ(client_.local_reads, 3);
  ASSERT_TRUE(fs->Release(o.fh).ok());
}

TEST_F(FsCoreTest, LocalObjectOfAnotherVersionIsNotUsed) {
  // Overwritten after the kernel got its size (and maybe cached pages): the local file is of
  // another version, so the network path serves the open, as it would without local reads.
  client_.local_objects = true;
  auto fs = Make();
  OpenOut o = OpenForRead(*fs, {"b", "top"});
  client_.AddObject("b", "top", "new");
  char buf[8];
  auto n = fs->Read(o.fh, 0, sizeof buf, buf);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(std::string(buf, *n), "n");  // cut at the size the kernel was told, as over HTTP
  EXPECT_EQ(client_.local_opens, 1);
  EXPECT_EQ(client_.local_reads, 0);
  EXPECT_GT(client_.get_calls, 0);
  ASSERT_TRUE(fs->Release(o.fh).ok());
}

}  // namespace
}  // namespace aisle::fs
