// fs/core reads: keep_cache and direct_io choices, idle read streams, and cluster errors seen
// through the filesystem (EIO). MockClusterClient; no FUSE, no sockets.
#include <fcntl.h>
#include <gtest/gtest.h>

#include <cerrno>

#include "tests/testing/fs_core_fixture.h"

namespace aisle::fs {
namespace {

TEST_F(FsCoreTest, ClusterErrorsBecomeEio) {
  auto fs = Make();
  auto b = Walk(*fs, {"b"});
  client_.FailNext(1, Status::Unavailable("node down"));
  EXPECT_EQ(Err(fs->Lookup(b->attr.ino, "zzz").status()), EIO);
  auto t = fs->Lookup(b->attr.ino, "top");
  ASSERT_TRUE(t.ok());
  auto o = fs->Open(t->attr.ino, O_RDONLY);
  ASSERT_TRUE(o.ok());
  client_.FailNext(1, Status::Timeout("stalled"));
  char buf[16];
  EXPECT_EQ(Err(fs->Read(o->fh, 0, sizeof buf, buf).status()), EIO);
  auto n = fs->Read(o->fh, 0, sizeof buf, buf);  // the next read retries
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 1u);
  EXPECT_TRUE(fs->Release(o->fh).ok());
}

TEST_F(FsCoreTest, KeepCacheOnlyWhileVersionUnchanged) {
  auto fs = Make();
  auto t = Walk(*fs, {"b", "top"});
  auto o1 = fs->Open(t->attr.ino, O_RDONLY);
  ASSERT_TRUE(o1.ok());
  EXPECT_FALSE(o1->keep_cache);
  ASSERT_TRUE(fs->Release(o1->fh).ok());
  auto o2 = fs->Open(t->attr.ino, O_RDONLY);
  EXPECT_TRUE(o2->keep_cache);
  ASSERT_TRUE(fs->Release(o2->fh).ok());
}

TEST_F(FsCoreTest, DirectIoAboveASizeOnlyForBigFiles) {
  client_.AddObject("b", "big.bin", std::string(3 << 20, 'z'));
  opts_.direct_io_from = 1 << 20;  // -o direct_io_above=1M
  auto fs = Make();
  auto small = fs->Open(Walk(*fs, {"b", "top"})->attr.ino, O_RDONLY);
  ASSERT_TRUE(small.ok());
  EXPECT_FALSE(small->direct_io);
  auto big = fs->Open(Walk(*fs, {"b", "big.bin"})->attr.ino, O_RDONLY);
  ASSERT_TRUE(big.ok());
  EXPECT_TRUE(big->direct_io);
  EXPECT_FALSE(big->keep_cache);
  std::string buf(1 << 20, '\0');  // read on in order: the second read opens the stream
  for (uint64_t off = 0; off < (3u << 20); off += buf.size()) {
    ASSERT_EQ(*fs->Read(big->fh, off, buf.size(), buf.data()), buf.size());
    EXPECT_EQ(buf, std::string(buf.size(), 'z'));
  }
  EXPECT_EQ(client_.open_range_calls, 1);
  EXPECT_TRUE(fs->Release(small->fh).ok());
  EXPECT_TRUE(fs->Release(big->fh).ok());
}

TEST_F(FsCoreTest, IdleReadStreamIsClosedAndReopened) {
  // A reader that pauses longer than stream_idle_timeout gives its range GET (and the node's
  // worker writing it) back; reading on opens a new one, with the same bytes.
  std::string data(4 << 20, '\0');
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>(i * 7 + (i >> 13));
  client_.AddObject("b", "big.bin", data);
  opts_.stream_idle_timeout = 0.2;
  auto fs = Make();
  auto o = fs->Open(Walk(*fs, {"b", "big.bin"})->attr.ino, O_RDONLY);
  ASSERT_TRUE(o.ok());
  std::string got, buf(1 << 20, '\0');
  for (uint64_t off = 0; off < data.size(); off += buf.size()) {
    if (off == (2u << 20)) std::this_thread::sleep_for(std::chrono::milliseconds(600));
    auto n = fs->Read(o->fh, off, buf.size(), buf.data());
    ASSERT_TRUE(n.ok());
    got.append(buf.data(), *n);
  }
  EXPECT_TRUE(got == data);
  EXPECT_EQ(client_.open_range_calls, 2);
  EXPECT_TRUE(fs->Release(o->fh).ok());
}

}  // namespace
}  // namespace aisle::fs
