// fs/core writes: create/write/flush, streamed PUTs and the spool fallback, append, truncate,
// unlink/rmdir/mkdir/rename errnos, read-only mounts. MockClusterClient; no FUSE, no sockets.
#include <fcntl.h>
#include <gtest/gtest.h>

#include <cerrno>

#include "tests/testing/fs_core_fixture.h"

namespace aisle::fs {
namespace {

TEST_F(FsCoreTest, CreateWriteFlushReadBack) {
  auto fs = Make();
  auto a = Walk(*fs, {"b", "a"});
  ASSERT_TRUE(a.ok());
  auto names0 = ReadDirNames(*fs, a->attr.ino);  // cache the listing
  auto cr = fs->Create(a->attr.ino, "new.bin", O_WRONLY | O_CREAT);
  ASSERT_TRUE(cr.ok()) << cr.status().ToString();
  uint64_t fh = cr->second.fh;
  // Out-of-order writes are spooled and assembled.
  ASSERT_TRUE(fs->Write(fh, 5, "world", 5).ok());
  ASSERT_TRUE(fs->Write(fh, 0, "hello", 5).ok());
  auto attr = fs->GetAttr(cr->first.attr.ino);
  ASSERT_TRUE(attr.ok());
  EXPECT_EQ(attr->size, 10u);
  ASSERT_TRUE(fs->Flush(fh).ok());
  EXPECT_EQ(client_.Data("b", "a/new.bin"), "helloworld");
  ASSERT_TRUE(fs->Release(fh).ok());
  EXPECT_EQ(client_.put_calls, 1);              // release after a clean flush does not PUT again
  auto names = ReadDirNames(*fs, a->attr.ino);  // own write invalidated the listing
  EXPECT_NE(std::find(names.begin(), names.end(), "new.bin"), names.end());
  EXPECT_EQ(ReadAll(*fs, cr->first.attr.ino), "helloworld");
}

TEST_F(FsCoreTest, SequentialWritesStreamTheirPut) {
  auto fs = Make();
  auto b = Walk(*fs, {"b"});
  auto cr = fs->Create(b->attr.ino, "seq.bin", O_WRONLY | O_CREAT);
  ASSERT_TRUE(cr.ok());
  std::string want;
  for (int i = 0; i < 300; ++i) {
    std::string chunk(64 << 10, static_cast<char>('a' + i % 26));
    ASSERT_TRUE(fs->Write(cr->second.fh, want.size(), chunk.data(), chunk.size()).ok());
    want += chunk;
  }
  ASSERT_TRUE(fs->Release(cr->second.fh).ok());
  EXPECT_EQ(client_.Data("b", "seq.bin"), want);
  EXPECT_EQ(client_.put_calls, 1);
  EXPECT_EQ(client_.streamed_puts, 1);
}

TEST_F(FsCoreTest, OutOfOrderWriteFallsBackToSpool) {
  auto fs = Make();
  auto b = Walk(*fs, {"b"});
  auto cr = fs->Create(b->attr.ino, "mixed.bin", O_WRONLY | O_CREAT);
  ASSERT_TRUE(cr.ok());
  ASSERT_TRUE(fs->Write(cr->second.fh, 0, "aaaa", 4).ok());  // streams
  ASSERT_TRUE(fs->Write(cr->second.fh, 4, "bbbb", 4).ok());
  ASSERT_TRUE(fs->Write(cr->second.fh, 2, "XX", 2).ok());  // aborts the stream
  ASSERT_TRUE(fs->Write(cr->second.fh, 8, "cc", 2).ok());
  ASSERT_TRUE(fs->Flush(cr->second.fh).ok());
  EXPECT_EQ(client_.Data("b", "mixed.bin"), "aaXXbbbbcc");
  ASSERT_TRUE(fs->Write(cr->second.fh, 10, "d", 1).ok());  // after a flush: spool again
  ASSERT_TRUE(fs->Release(cr->second.fh).ok());
  EXPECT_EQ(client_.Data("b", "mixed.bin"), "aaXXbbbbccd");
}

TEST_F(FsCoreTest, FailedStreamFallsBackToSpool) {
  auto fs = Make();
  auto b = Walk(*fs, {"b"});
  auto cr = fs->Create(b->attr.ino, "f.bin", O_WRONLY | O_CREAT);
  ASSERT_TRUE(cr.ok());
  client_.FailNext(1, Status::Unavailable("node restarting"));  // the streamed PUT fails
  ASSERT_TRUE(fs->Write(cr->second.fh, 0, "hello", 5).ok());
  ASSERT_TRUE(fs->Write(cr->second.fh, 5, " world", 6).ok());
  ASSERT_TRUE(fs->Release(cr->second.fh).ok());
  EXPECT_EQ(client_.Data("b", "f.bin"), "hello world");
}

TEST_F(FsCoreTest, EmptyCreatedFileIsStored) {
  auto fs = Make();
  auto b = Walk(*fs, {"b"});
  auto cr = fs->Create(b->attr.ino, "empty", O_WRONLY | O_CREAT);
  ASSERT_TRUE(cr.ok());
  ASSERT_TRUE(fs->Release(cr->second.fh).ok());
  EXPECT_TRUE(client_.Has("b", "empty"));
}

TEST_F(FsCoreTest, AppendAndTruncate) {
  auto fs = Make();
  auto t = Walk(*fs, {"b", "top"});
  ASSERT_TRUE(t.ok());
  auto o = fs->Open(t->attr.ino, O_WRONLY);
  ASSERT_TRUE(o.ok());
  ASSERT_TRUE(fs->Write(o->fh, 1, "op", 2).ok());
  ASSERT_TRUE(fs->Release(o->fh).ok());
  EXPECT_EQ(client_.Data("b", "top"), "top");
  auto r = fs->SetAttr(t->attr.ino, 2, std::nullopt);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->size, 2u);
  EXPECT_EQ(client_.Data("b", "top"), "to");
  auto o2 = fs->Open(t->attr.ino, O_WRONLY | O_TRUNC);
  ASSERT_TRUE(o2.ok());
  ASSERT_TRUE(fs->Release(o2->fh).ok());
  EXPECT_EQ(client_.Data("b", "top"), "");
}

TEST_F(FsCoreTest, UnlinkRmdirMkdirErrnos) {
  auto fs = Make();
  auto b = Walk(*fs, {"b"});
  uint64_t bi = b->attr.ino;
  EXPECT_EQ(Err(fs->Unlink(bi, "a")), EISDIR);
  EXPECT_EQ(Err(fs->RmDir(bi, "top")), ENOTDIR);
  EXPECT_EQ(Err(fs->RmDir(bi, "a")), ENOTEMPTY);
  EXPECT_EQ(Err(fs->Unlink(bi, "nope")), ENOENT);
  ASSERT_TRUE(fs->Unlink(bi, "top").ok());
  EXPECT_FALSE(client_.Has("b", "top"));
  EXPECT_EQ(Err(fs->Lookup(bi, "top").status()), ENOENT);
  auto d = fs->MkDir(bi, "newdir");
  ASSERT_TRUE(d.ok());
  EXPECT_TRUE(d->attr.is_dir);
  EXPECT_EQ(Err(fs->MkDir(bi, "newdir").status()), EEXIST);
  EXPECT_EQ(Err(fs->MkDir(bi, "a").status()), EEXIST);
  auto names = ReadDirNames(*fs, bi);
  EXPECT_NE(std::find(names.begin(), names.end(), "newdir"), names.end());
  auto inner = fs->MkDir(d->attr.ino, "inner");
  ASSERT_TRUE(inner.ok());
  EXPECT_EQ(Err(fs->RmDir(bi, "newdir")), ENOTEMPTY);
  ASSERT_TRUE(fs->RmDir(d->attr.ino, "inner").ok());
  ASSERT_TRUE(fs->RmDir(bi, "newdir").ok());
  EXPECT_EQ(Err(fs->Lookup(bi, "newdir").status()), ENOENT);
  EXPECT_EQ(Err(fs->RmDir(kRootIno, "b")), EPERM);
}

TEST_F(FsCoreTest, RenameFilesAndRefusals) {
  client_.AddBucket("other");
  auto fs = Make();
  auto b = Walk(*fs, {"b"});
  auto a = Walk(*fs, {"b", "a"});
  auto other = Walk(*fs, {"other"});
  uint64_t bi = b->attr.ino, ai = a->attr.ino;
  ASSERT_TRUE(fs->Rename(bi, "top", ai, "moved", 0).ok());
  EXPECT_TRUE(client_.Has("b", "a/moved"));
  EXPECT_FALSE(client_.Has("b", "top"));
  EXPECT_EQ(Err(fs->Rename(ai, "moved", other->attr.ino, "m", 0)), EXDEV);
  EXPECT_EQ(Err(fs->Rename(ai, "moved", ai, "x.txt", RENAME_NOREPLACE)), EEXIST);
  EXPECT_EQ(Err(fs->Rename(ai, "moved", bi, "a", 0)), EISDIR);
  EXPECT_EQ(Err(fs->Rename(bi, "a", bi, "a2", 0)), EXDEV);  // prefix with objects
  EXPECT_EQ(Err(fs->Rename(bi, "a", bi, "a2", RENAME_EXCHANGE)), EINVAL);
  auto m = fs->Lookup(ai, "moved");
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(ReadAll(*fs, m->attr.ino), "t");
  ASSERT_TRUE(fs->MkDir(bi, "e").ok());
  ASSERT_TRUE(fs->Rename(bi, "e", bi, "e2", 0).ok());  // client-side empty dir
  EXPECT_TRUE(fs->Lookup(bi, "e2").ok());
}

TEST_F(FsCoreTest, ReadOnlyMountRefusesWrites) {
  opts_.read_only = true;
  auto fs = Make();
  auto b = Walk(*fs, {"b"});
  uint64_t bi = b->attr.ino;
  EXPECT_EQ(Err(fs->Create(bi, "n", O_WRONLY | O_CREAT).status()), EROFS);
  EXPECT_EQ(Err(fs->Unlink(bi, "top")), EROFS);
  EXPECT_EQ(Err(fs->MkDir(bi, "d").status()), EROFS);
  auto t = fs->Lookup(bi, "top");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->attr.mode & 0222, 0u);
  EXPECT_EQ(Err(fs->Open(t->attr.ino, O_RDWR).status()), EROFS);
  EXPECT_EQ(Err(fs->SetAttr(t->attr.ino, 0, std::nullopt).status()), EROFS);
  EXPECT_EQ(ReadAll(*fs, t->attr.ino), "t");
}

}  // namespace
}  // namespace aisle::fs
