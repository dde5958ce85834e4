// fs/core semantics against MockClusterClient: namespace, caches, readdirplus lookup counts,
// prefetching, writes, errno mapping. No FUSE, no sockets.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cerrno>
#include <future>
#include <random>
#include <set>
#include <thread>

#include "fs/core/errno_map.h"
#include "fs/core/filesystem.h"
#include "fs/core/mount_options.h"
#include "fs/core/prefetcher.h"
#include "tests/testing/fs_mock_cluster_client.h"

namespace aisle::fs {
namespace {

int Err(const Status& st) { return ToErrno(st); }

class FsCoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    client_.AddBucket("b");
    client_.AddObject("b", "a/b/c.txt", "ccc");
    client_.AddObject("b", "a/x.txt", "xx");
    client_.AddObject("b", "top", "t");
    opts_.spool_dir = "/tmp";
  }
  std::unique_ptr<Filesystem> Make() { return std::make_unique<Filesystem>(client_, opts_); }
  // Walks a path from the root with lookups, as the kernel would.
  Result<EntryOut> Walk(Filesystem& fs, const std::vector<std::string>& parts) {
    uint64_t ino = kRootIno;
    Result<EntryOut> last = ErrnoStatus(ENOENT, "empty");
    for (const auto& p : parts) {
      last = fs.Lookup(ino, p);
      if (!last.ok()) return last;
      ino = last->attr.ino;
    }
    return last;
  }
  std::vector<std::string> ReadDirNames(Filesystem& fs, uint64_t ino, bool plus = true) {
    auto fh = fs.OpenDir(ino);
    EXPECT_TRUE(fh.ok()) << fh.status().ToString();
    std::vector<std::string> names;
    EXPECT_TRUE(fs.ReadDir(*fh, 0, plus, [&](const DirentOut& d, const EntryOut*) {
                    names.push_back(d.name);
                    return true;
                  }).ok());
    fs.ReleaseDir(*fh);
    return names;
  }
  // Opens the file at `parts` read-only (asserting it exists).
  OpenOut OpenForRead(Filesystem& fs, const std::vector<std::string>& parts) {
    auto e = Walk(fs, parts);
    EXPECT_TRUE(e.ok()) << e.status().ToString();
    auto o = e.ok() ? fs.Open(e->attr.ino, O_RDONLY) : Result<OpenOut>(e.status());
    EXPECT_TRUE(o.ok()) << o.status().ToString();
    return o.ok() ? *o : OpenOut{};
  }
  std::string ReadAll(Filesystem& fs, uint64_t ino) {
    auto o = fs.Open(ino, O_RDONLY);
    EXPECT_TRUE(o.ok()) << o.status().ToString();
    std::string out;
    char buf[4096];
    for (;;) {
      auto n = fs.Read(o->fh, out.size(), sizeof buf, buf);
      EXPECT_TRUE(n.ok()) << n.status().ToString();
      if (!n.ok() || *n == 0) break;
      out.append(buf, *n);
    }
    EXPECT_TRUE(fs.Release(o->fh).ok());
    return out;
  }

  MockClusterClient client_;
  FsOptions opts_;
};

TEST_F(FsCoreTest, PrefixesAreDirectoriesObjectsAreFiles) {
  auto fs = Make();
  auto b = Walk(*fs, {"b"});
  ASSERT_TRUE(b.ok());
  EXPECT_TRUE(b->attr.is_dir);
  EXPECT_EQ(ReadDirNames(*fs, b->attr.ino), (std::vector<std::string>{".", "..", "a", "top"}));
  auto c = Walk(*fs, {"b", "a", "b", "c.txt"});
  ASSERT_TRUE(c.ok());
  EXPECT_FALSE(c->attr.is_dir);
  EXPECT_EQ(c->attr.size, 3u);
  EXPECT_EQ(ReadAll(*fs, c->attr.ino), "ccc");
  EXPECT_EQ(client_.head_calls, 0);  // attributes come from listings
  EXPECT_EQ(Err(Walk(*fs, {"b", "nope"}).status()), ENOENT);
  EXPECT_EQ(Err(Walk(*fs, {"nobucket"}).status()), ENOENT);
}

TEST_F(FsCoreTest, ReadDirPlusCountsLookupsAndForgetFrees) {
  auto fs = Make();
  auto b = Walk(*fs, {"b"});
  ASSERT_TRUE(b.ok());
  size_t before = fs->inode_count();
  auto fh = fs->OpenDir(b->attr.ino);
  ASSERT_TRUE(fh.ok());
  std::vector<EntryOut> got;
  // Accept only the first three entries (".", "..", "a"): "top" must get no lookup.
  int n = 0;
  ASSERT_TRUE(fs->ReadDir(*fh, 0, true, [&](const DirentOut&, const EntryOut* e) {
                  if (n++ == 3) return false;
                  got.push_back(*e);
                  return true;
                }).ok());
  ASSERT_EQ(got.size(), 3u);
  uint64_t a_ino = got[2].attr.ino;
  EXPECT_TRUE(got[2].attr.is_dir);
  int lists = client_.list_calls;
  auto a = fs->Lookup(b->attr.ino, "a");  // served from the listing cache
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->attr.ino, a_ino);
  EXPECT_EQ(client_.list_calls, lists);
  fs->Forget(a_ino, 2);  // one from readdirplus, one from lookup
  EXPECT_FALSE(fs->GetAttr(a_ino).ok());
  EXPECT_LE(fs->inode_count(), before + 1);  // "top" may linger with zero lookups
  auto again = fs->Lookup(b->attr.ino, "a");
  ASSERT_TRUE(again.ok());
  EXPECT_NE(again->attr.ino, a_ino);  // numbers are never reused
  EXPECT_TRUE(fs->GetAttr(kRootIno).ok());
  fs->Forget(kRootIno, 100);
  EXPECT_TRUE(fs->GetAttr(kRootIno).ok());
  fs->ReleaseDir(*fh);
}

TEST_F(FsCoreTest, NegativeCacheAvoidsRepeatedLists) {
  auto fs = Make();
  auto b = Walk(*fs, {"b"});
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(Err(fs->Lookup(b->attr.ino, "missing").status()), ENOENT);
  int lists = client_.list_calls;
  EXPECT_EQ(Err(fs->Lookup(b->attr.ino, "missing").status()), ENOENT);
  EXPECT_EQ(client_.list_calls, lists);
}

TEST_F(FsCoreTest, ZeroTtlsAlwaysAskTheCluster) {
  opts_.negative_timeout = 0;
  opts_.dir_timeout = 0;
  opts_.attr_timeout = 0;
  auto fs = Make();
  auto b = Walk(*fs, {"b"});
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(Err(fs->Lookup(b->attr.ino, "late").status()), ENOENT);
  client_.AddObject("b", "late", "now");
  auto l = fs->Lookup(b->attr.ino, "late");
  ASSERT_TRUE(l.ok());
  EXPECT_EQ(l->attr.size, 3u);
}

TEST_F(FsCoreTest, DirectoryWinsOverSameNamedObject) {
  client_.AddObject("b", "a", "shadowed");
  auto fs = Make();
  auto a = Walk(*fs, {"b", "a"});
  ASSERT_TRUE(a.ok());
  EXPECT_TRUE(a->attr.is_dir);
  auto b = Walk(*fs, {"b"});
  auto names = ReadDirNames(*fs, b->attr.ino);
  EXPECT_EQ(std::count(names.begin(), names.end(), "a"), 1);
}

TEST_F(FsCoreTest, ColdLookupOfAFileIsOneListingWindow) {
  client_.AddObject("b", "d/000001.jpg", "x");
  client_.AddObject("b", "d/000002.jpg", "y");
  client_.AddObject("b", "d/sub/000003.jpg", "z");
  client_.AddObject("b", "d/sub-x", "w");
  client_.AddObject("b", "d/sub", "shadowed by the prefix");
  auto fs = Make();
  auto d = Walk(*fs, {"b", "d"});
  ASSERT_TRUE(d.ok());
  int before = client_.list_calls;
  // Opening a file by path in a directory nobody listed: one list request, no HEAD.
  auto f = fs->Lookup(d->attr.ino, "000001.jpg");
  ASSERT_TRUE(f.ok());
  EXPECT_FALSE(f->attr.is_dir);
  EXPECT_EQ(f->attr.size, 1u);
  EXPECT_EQ(client_.list_calls - before, 1);
  EXPECT_EQ(client_.head_calls, 0);
  // The names after it in the directory are settled by that window: no more requests,
  // and the prefix "sub/" shadows the object "sub" as in listings.
  before = client_.list_calls;
  auto f2 = fs->Lookup(d->attr.ino, "000002.jpg");
  ASSERT_TRUE(f2.ok());
  EXPECT_EQ(f2->attr.size, 1u);
  auto sub = fs->Lookup(d->attr.ino, "sub");
  ASSERT_TRUE(sub.ok());
  EXPECT_TRUE(sub->attr.is_dir);
  auto subx = fs->Lookup(d->attr.ino, "sub-x");
  ASSERT_TRUE(subx.ok());
  EXPECT_FALSE(subx->attr.is_dir);
  EXPECT_EQ(Err(fs->Lookup(d->attr.ino, "nope").status()), ENOENT);
  EXPECT_EQ(client_.list_calls - before, 0);
  // The first lookup took the directory's head, which here is all of it: names in any
  // order are settled, also before the looked-up one.
  EXPECT_EQ(Err(fs->Lookup(d->attr.ino, "0000").status()), ENOENT);
  EXPECT_EQ(client_.list_calls - before, 0);
}

TEST_F(FsCoreTest, LookupWindowThatEndsShortOfTheNameAsksAgain) {
  client_.max_page = 2;  // windows of two keys
  client_.AddObject("b", "d/a", "1");
  client_.AddObject("b", "d/a-1", "2");
  client_.AddObject("b", "d/a-2", "3");
  client_.AddObject("b", "d/a/x", "4");  // "a/" sorts after "a-1", "a-2": beyond the window
  client_.AddObject("b", "d/c", "5");
  client_.AddObject("b", "d/e", "6");
  auto fs = Make();
  auto d = Walk(*fs, {"b", "d"});
  ASSERT_TRUE(d.ok());
  auto a = fs->Lookup(d->attr.ino, "a");
  ASSERT_TRUE(a.ok());
  EXPECT_TRUE(a->attr.is_dir);  // found by the one-key check of "a/"
  int before = client_.list_calls;
  auto c = fs->Lookup(d->attr.ino, "c");  // outside the window [a, a-1]: a new window
  ASSERT_TRUE(c.ok());
  EXPECT_FALSE(c->attr.is_dir);
  EXPECT_EQ(client_.list_calls - before, 1);
  EXPECT_EQ(Err(fs->Lookup(d->attr.ino, "d").status()), ENOENT);  // inside [c, e]
  EXPECT_EQ(client_.list_calls - before, 1);
  auto e = fs->Lookup(d->attr.ino, "e");
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(client_.list_calls - before, 1);
  // A key another client adds inside a window stays unseen for the TTL, as in listings.
  client_.AddObject("b", "d/d", "7");
  EXPECT_EQ(Err(fs->Lookup(d->attr.ino, "d").status()), ENOENT);  // negative entry, TTL
}

TEST_F(FsCoreTest, StreamedListingAcrossPagesLetsDirectoriesWin) {
  client_.max_page = 1;  // every entry its own page: held-back objects cross page boundaries
  client_.AddObject("b", "s/x", "shadowed");
  client_.AddObject("b", "s/x.y", "1");
  client_.AddObject("b", "s/x/a", "2");
  client_.AddObject("b", "s/z", "3");
  auto fs = Make();
  auto dir = Walk(*fs, {"b", "s"});
  ASSERT_TRUE(dir.ok());
  std::vector<std::pair<std::string, bool>> got;
  auto fh = fs->OpenDir(dir->attr.ino);
  ASSERT_TRUE(fh.ok());
  ASSERT_TRUE(fs->ReadDir(*fh, 0, true, [&](const DirentOut& d, const EntryOut* e) {
                  got.emplace_back(d.name, e->attr.is_dir);
                  return true;
                }).ok());
  fs->ReleaseDir(*fh);
  std::sort(got.begin(), got.end());
  EXPECT_EQ(got, (std::vector<std::pair<std::string, bool>>{
                     {".", true}, {"..", true}, {"x", true}, {"x.y", false}, {"z", false}}));
  int lists = client_.list_calls;
  auto xy = fs->Lookup(dir->attr.ino, "x.y");  // the finished stream was cached
  ASSERT_TRUE(xy.ok());
  EXPECT_EQ(client_.list_calls, lists);
}

TEST_F(FsCoreTest, ReadDirInSmallBuffersWhileStreaming) {
  client_.max_page = 7;
  for (int i = 0; i < 100; ++i) client_.AddObject("b", "many/" + std::to_string(1000 + i), "z");
  auto fs = Make();
  auto dir = Walk(*fs, {"b", "many"});
  auto fh = fs->OpenDir(dir->attr.ino);
  ASSERT_TRUE(fh.ok());
  std::vector<std::string> names;
  uint64_t off = 0;
  for (;;) {  // the kernel asks again from the last offset, a few entries at a time
    int taken = 0;
    uint64_t next = off;
    ASSERT_TRUE(fs->ReadDir(*fh, off, false, [&](const DirentOut& d, const EntryOut*) {
                    if (taken == 3) return false;
                    ++taken;
                    names.push_back(d.name);
                    next = d.next_offset;
                    return true;
                  }).ok());
    if (taken == 0) break;
    off = next;
  }
  fs->ReleaseDir(*fh);
  EXPECT_EQ(names.size(), 102u);
  std::set<std::string> uniq(names.begin(), names.end());
  EXPECT_EQ(uniq.size(), 102u);
}

TEST_F(FsCoreTest, PagedListingAndSubtreeSkip) {
  client_.max_page = 1000;
  for (int i = 0; i < 5000; ++i) client_.AddObject("b", "big/f" + std::to_string(i), "z");
  for (int i = 0; i < 5000; ++i) client_.AddObject("b", "d1/sub/" + std::to_string(i), "z");
  auto fs = Make();
  auto big = Walk(*fs, {"b", "big"});
  ASSERT_TRUE(big.ok());
  EXPECT_EQ(ReadDirNames(*fs, big->attr.ino).size(), 5002u);
  auto b = Walk(*fs, {"b"});
  int lists = client_.list_calls;
  auto names = ReadDirNames(*fs, b->attr.ino);
  EXPECT_EQ(names, (std::vector<std::string>{".", "..", "a", "big", "d1", "top"}));
  // Each subdirectory is skipped in one jump, not paged through (10 pages otherwise).
  EXPECT_LE(client_.list_calls - lists, 5);
}

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

TEST_F(FsCoreTest, SingleBucketMountAndViews) {
  opts_.bucket = "b";
  client_.AddObject("b", "s/shard.tar", "RAWTAR");
  client_.AddMember("b", "s/shard.tar", "img/0001.jpg", "jpeg1");
  client_.AddMember("b", "s/shard.tar", "0001.cls", "7");
  auto fs = Make();
  EXPECT_EQ(ReadDirNames(*fs, kRootIno), (std::vector<std::string>{".", "..", "a", "s", "top"}));
  // The shard is a directory of its members, with nested directories.
  auto shard = Walk(*fs, {"s", "shard.tar"});
  ASSERT_TRUE(shard.ok());
  EXPECT_TRUE(shard->attr.is_dir);
  EXPECT_EQ(ReadDirNames(*fs, shard->attr.ino),
            (std::vector<std::string>{".", "..", "0001.cls", "img"}));
  auto m = Walk(*fs, {"s", "shard.tar", "img", "0001.jpg"});
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->attr.size, 5u);
  EXPECT_EQ(m->attr.mode & 0222, 0u);
  EXPECT_EQ(ReadAll(*fs, m->attr.ino), "jpeg1");
  EXPECT_EQ(client_.last_archpath, "img/0001.jpg");
  // A new file in a shard directory is appended as a member on close.
  auto nm = fs->Create(shard->attr.ino, "0002.txt", O_WRONLY | O_CREAT);
  ASSERT_TRUE(nm.ok()) << nm.status().ToString();
  ASSERT_TRUE(fs->Write(nm->second.fh, 0, "note", 4).ok());
  ASSERT_TRUE(fs->Release(nm->second.fh).ok());
  EXPECT_EQ(ReadDirNames(*fs, shard->attr.ino),
            (std::vector<std::string>{".", "..", "0001.cls", "0002.txt", "img"}));
  EXPECT_EQ(Err(fs->Create(shard->attr.ino, "0001.cls", O_WRONLY | O_CREAT).status()), EEXIST);
  // /.raw shows the shard's bytes.
  auto raw = Walk(*fs, {".raw", "s", "shard.tar"});
  ASSERT_TRUE(raw.ok());
  EXPECT_FALSE(raw->attr.is_dir);
  EXPECT_EQ(ReadAll(*fs, raw->attr.ino), "RAWTAR");
  // /.etl lists the registered transforms; an unknown one is ENOENT right away.
  client_.AddEtl("upper");
  auto etl_root = Walk(*fs, {".etl"});
  ASSERT_TRUE(etl_root.ok());
  EXPECT_EQ(ReadDirNames(*fs, etl_root->attr.ino), (std::vector<std::string>{".", "..", "upper"}));
  EXPECT_EQ(Err(Walk(*fs, {".etl", "uper", "a", "x.txt"}).status()), ENOENT);
  // /.etl/NAME reads through the transform (the mock upper-cases), direct_io.
  auto e = Walk(*fs, {".etl", "upper", "a", "x.txt"});
  ASSERT_TRUE(e.ok());
  auto o = fs->Open(e->attr.ino, O_RDONLY);
  ASSERT_TRUE(o.ok());
  EXPECT_TRUE(o->direct_io);
  char buf[16];
  auto n = fs->Read(o->fh, 0, sizeof buf, buf);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(std::string(buf, *n), "XX");
  EXPECT_EQ(client_.last_etl, "upper");
  EXPECT_TRUE(fs->Release(o->fh).ok());
  // The views are not listed at the root, so find/du stay on the tree.
  auto names = ReadDirNames(*fs, kRootIno);
  EXPECT_EQ(std::count(names.begin(), names.end(), ".raw"), 0);
}

TEST_F(FsCoreTest, ShardsOffShowsFiles) {
  opts_.shards = false;
  client_.AddObject("b", "shard.tgz", "x");
  auto fs = Make();
  auto s = Walk(*fs, {"b", "shard.tgz"});
  ASSERT_TRUE(s.ok());
  EXPECT_FALSE(s->attr.is_dir);
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

class PrefetcherTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::mt19937_64 rng(7);
    data_.resize(40 << 20);
    for (auto& c : data_) c = static_cast<char>(rng());
    client_.AddBucket("b");
    client_.AddObject("b", "obj", data_);
  }
  // A prefetcher of "obj" that serves forward reads from a stream (PrefetchOptions::stream).
  std::unique_ptr<Prefetcher> Streaming() {
    PrefetchOptions po;
    po.stream = true;
    return std::make_unique<Prefetcher>(client_, pool_, BufferPool::Create(64 << 20),
                                        ObjectRef{"b", "obj", "", ""}, data_.size(), po);
  }
  MockClusterClient client_;
  TaskPool pool_{8};
  std::string data_;
};

TEST_F(PrefetcherTest, SequentialReadsGrowTheWindow) {
  PrefetchOptions po;
  po.max_window = 16 << 20;
  Prefetcher p(client_, pool_, BufferPool::Create(64 << 20), ObjectRef{"b", "obj", "", ""},
               data_.size(), po);
  std::string out(data_.size(), '\0');
  size_t chunk = 128 << 10;
  for (size_t off = 0; off < data_.size(); off += chunk) {
    auto n = p.Read(off, chunk, out.data() + off);
    ASSERT_TRUE(n.ok());
    ASSERT_EQ(*n, std::min(chunk, data_.size() - off));
  }
  EXPECT_TRUE(out == data_);
  EXPECT_EQ(p.window(), 16u << 20);
  // 40 MiB in parts that grow to 4 MiB: far fewer requests than the 320 kernel reads.
  EXPECT_LT(p.requests(), 40u);
  char b;
  EXPECT_EQ(*p.Read(data_.size(), 1, &b), 0u);
}

TEST_F(PrefetcherTest, RandomReadsAreBounded) {
  PrefetchOptions po;
  po.random_read = 64 << 10;
  po.slack = 1 << 20;
  Prefetcher p(client_, pool_, BufferPool::Create(64 << 20), ObjectRef{"b", "obj", "", ""},
               data_.size(), po);
  std::string buf(4096, '\0');
  for (int i = 1; i < 50; ++i) {
    uint64_t off = ((i * 7) % 13) * (3 << 20) + 12345;  // each read >= 3 MiB from the last
    auto n = p.Read(off, 4096, buf.data());
    ASSERT_TRUE(n.ok());
    ASSERT_EQ(buf, data_.substr(off, 4096));
  }
  EXPECT_LE(client_.max_get_len, 64u << 10);
}

TEST_F(PrefetcherTest, OutOfOrderReadaheadStaysSequential) {
  PrefetchOptions po;
  po.max_window = 8 << 20;
  Prefetcher p(client_, pool_, BufferPool::Create(64 << 20), ObjectRef{"b", "obj", "", ""},
               data_.size(), po);
  std::string out(data_.size(), '\0');
  // The kernel's parallel readahead: 1 MiB requests, each group of four in reverse order.
  const uint64_t mb = 1 << 20;
  for (uint64_t g = 0; g < data_.size() / mb; g += 4) {
    for (int k = 3; k >= 0; --k) {
      uint64_t off = (g + k) * mb;
      auto n = p.Read(off, mb, out.data() + off);
      ASSERT_TRUE(n.ok());
      ASSERT_EQ(*n, mb);
    }
  }
  EXPECT_TRUE(out == data_);
  EXPECT_LT(p.requests(), 40u);  // no thrashing: the window was never dropped
}

TEST_F(PrefetcherTest, PartDroppedBeforeItsFetchStillServesItsReader) {
  // Reader A waits for parts that a random read in another thread drops before the pool has
  // started them: A must still get its bytes (a short count would look like the end of file).
  TaskPool one(1);
  std::promise<void> gate;
  std::shared_future<void> opened = gate.get_future().share();
  one.Submit([opened] { opened.wait(); });  // holds the only pool thread
  Prefetcher p(client_, one, BufferPool::Create(64 << 20), ObjectRef{"b", "obj", "", ""},
               data_.size(), PrefetchOptions{});
  const uint64_t mb = 1 << 20;
  std::string a(mb, '\0');
  Result<size_t> ra = size_t{0};
  std::thread reader([&] { ra = p.Read(2 * mb, mb, a.data()); });  // parts queued behind the gate
  while (p.requests() == 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  // The far read drops A's parts at once, then waits for its own part behind them.
  std::thread opener([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    gate.set_value();
  });
  std::string b(4096, '\0');
  ASSERT_EQ(*p.Read(30 * mb, 4096, b.data()), 4096u);
  opener.join();
  reader.join();
  ASSERT_TRUE(ra.ok()) << ra.status().ToString();
  ASSERT_EQ(*ra, mb);
  EXPECT_EQ(a, data_.substr(2 * mb, mb));
}

TEST_F(PrefetcherTest, StreamServesSequentialReadsFromOneRangeGet) {
  auto streaming = Streaming();
  Prefetcher& p = *streaming;
  std::string out(data_.size(), '\0');
  const uint64_t mb = 1 << 20;
  for (uint64_t off = 0; off < data_.size(); off += mb) {
    auto n = p.Read(off, mb, out.data() + off);
    ASSERT_TRUE(n.ok()) << n.status().ToString();
    ASSERT_EQ(*n, mb);
  }
  EXPECT_TRUE(out == data_);
  // The first read goes through the window; every later one comes from one open range.
  EXPECT_EQ(client_.open_range_calls, 1);
  EXPECT_EQ(client_.stream_reads, 39);
  EXPECT_LE(client_.get_calls, 4);
  char b;
  EXPECT_EQ(*p.Read(data_.size(), 1, &b), 0u);
  // A jump is a bounded random read; reading on from there opens a new stream.
  std::string buf(mb, '\0');
  ASSERT_EQ(*p.Read(7 * mb + 5, 4096, buf.data()), 4096u);
  EXPECT_EQ(buf.substr(0, 4096), data_.substr(7 * mb + 5, 4096));
  ASSERT_EQ(*p.Read(7 * mb + 5 + 4096, mb, buf.data()), mb);
  EXPECT_EQ(buf, data_.substr(7 * mb + 5 + 4096, mb));
  EXPECT_EQ(client_.open_range_calls, 2);
  EXPECT_EQ(p.streams(), 2u);
}

TEST_F(PrefetcherTest, ReadsAtTheStreamAreSplicedIntoAPipe) {
  // Once a stream is open, a read at its position moves its bytes into the pipe; anywhere
  // else, or with no stream, it is not served (the caller reads as usual).
  client_.break_streams_after = 5;  // the stream serves 5 reads, then breaks
  auto streaming = Streaming();
  Prefetcher& p = *streaming;
  const uint64_t mb = 1 << 20;
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  ASSERT_GE(::fcntl(fds[1], F_SETPIPE_SZ, 2 * mb), static_cast<int>(mb));
  bool served = true, full = false;
  ASSERT_TRUE(p.SpliceRead(0, mb, fds[1], &served, &full).ok());
  EXPECT_FALSE(served);  // no stream yet
  std::string buf(mb, '\0');
  ASSERT_EQ(*p.Read(0, mb, buf.data()), mb);
  ASSERT_EQ(*p.Read(mb, mb, buf.data()), mb);  // opens the stream (its read 1)
  for (uint64_t off = 2 * mb; off < 4 * mb; off += mb) {
    auto n = p.SpliceRead(off, mb, fds[1], &served, &full);
    ASSERT_TRUE(n.ok()) << n.status().ToString();
    ASSERT_TRUE(served);
    ASSERT_EQ(*n, mb);
    ASSERT_EQ(::read(fds[0], buf.data(), mb), static_cast<ssize_t>(mb));
    EXPECT_TRUE(buf == data_.substr(off, mb)) << off;
  }
  EXPECT_EQ(client_.stream_splices, 2);
  ASSERT_TRUE(p.SpliceRead(9 * mb, mb, fds[1], &served, &full).ok());
  EXPECT_FALSE(served);  // not at the stream
  // A pipe that fills up: a short splice, and Read goes on at the stream from there.
  client_.pipe_room = 300000;
  auto n = p.SpliceRead(4 * mb, mb, fds[1], &served, &full);
  ASSERT_TRUE(n.ok() && served);
  EXPECT_TRUE(full);
  ASSERT_EQ(*n, 300000u);
  ASSERT_EQ(::read(fds[0], buf.data(), *n), static_cast<ssize_t>(*n));
  ASSERT_EQ(*p.Read(4 * mb + *n, mb - *n, buf.data() + *n), mb - *n);
  EXPECT_TRUE(buf == data_.substr(4 * mb, mb));
  client_.pipe_room = 0;
  // The stream breaks while splicing: an error; reading that range again gets its bytes.
  EXPECT_FALSE(p.SpliceRead(5 * mb, mb, fds[1], &served, &full).ok());
  ASSERT_EQ(*p.Read(5 * mb, mb, buf.data()), mb);
  EXPECT_TRUE(buf == data_.substr(5 * mb, mb));
  ::close(fds[0]);
  ::close(fds[1]);
}

TEST_F(PrefetcherTest, StreamTakesReadaheadOutOfOrderFromParallelThreads) {
  // The kernel's readahead: after the first reads, 1 MiB requests queued in order and taken by
  // 4 daemon threads that race, reversed in groups of four besides. A read ahead of the stream
  // stashes the bytes before it for the reads still on their way: nothing is fetched twice.
  auto streaming = Streaming();
  Prefetcher& p = *streaming;
  std::string out(data_.size(), '\0');
  const uint64_t mb = 1 << 20;
  for (uint64_t off = 0; off < 4 * mb; off += mb) {  // the stream opens at the second read
    ASSERT_EQ(*p.Read(off, mb, out.data() + off), mb);
  }
  // The kernel keeps at most its readahead window (8 MiB here) of requests in flight.
  std::atomic<int> bad{0};
  for (uint64_t w = 4; w < data_.size() / mb; w += 8) {
    std::vector<uint64_t> order;
    for (uint64_t g = w; g < std::min<uint64_t>(w + 8, data_.size() / mb); g += 4) {
      for (int k = 3; k >= 0; --k) order.push_back((g + k) * mb);
    }
    std::atomic<size_t> next{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
      threads.emplace_back([&] {
        for (size_t i; (i = next++) < order.size();) {
          auto n = p.Read(order[i], mb, out.data() + order[i]);
          if (!n.ok() || *n != mb) ++bad;
        }
      });
    }
    for (auto& t : threads) t.join();
  }
  EXPECT_EQ(bad, 0);
  EXPECT_TRUE(out == data_);
  EXPECT_EQ(client_.open_range_calls, 1);
  EXPECT_LE(client_.get_calls, 4);  // the first read's window parts
  EXPECT_EQ(p.stashed(), 0u);       // every stashed byte was taken by its read
}

TEST_F(PrefetcherTest, SmallReadsTakeStashedBytesInAnyOrder) {
  // 128 KiB requests (the kernel's size when the readahead could not be raised) arriving out
  // of order: every stashed byte serves its read, whichever part of a buffer goes first.
  auto streaming = Streaming();
  Prefetcher& p = *streaming;
  const uint64_t mb = 1 << 20, k128 = 128 << 10;
  std::string buf(mb, '\0');
  ASSERT_EQ(*p.Read(0, mb, buf.data()), mb);
  ASSERT_EQ(*p.Read(mb, mb, buf.data()), mb);  // the stream opens; it is at 2 MiB
  int gets = client_.get_calls;
  for (uint64_t off : {2 * mb + 2 * k128, 2 * mb + k128, 2 * mb, 2 * mb + 3 * k128}) {
    ASSERT_EQ(*p.Read(off, k128, buf.data()), k128);
    EXPECT_EQ(buf.substr(0, k128), data_.substr(off, k128)) << off;
  }
  EXPECT_EQ(client_.get_calls, gets);  // all from the stream and its stash
  EXPECT_EQ(p.stashed(), 0u);
}

TEST_F(PrefetcherTest, ReadingOnBehindTheStreamGetsReadahead) {
  // A reader that moves back a few MiB and reads on: the first read fetches just its bytes,
  // the next one opens a stream there, not one GET per read.
  auto streaming = Streaming();
  Prefetcher& p = *streaming;
  const uint64_t mb = 1 << 20, k128 = 128 << 10;
  std::string buf(mb, '\0');
  for (uint64_t off = 0; off < 12 * mb; off += mb) ASSERT_EQ(*p.Read(off, mb, buf.data()), mb);
  int gets = client_.get_calls;
  for (uint64_t off = 4 * mb; off < 8 * mb; off += k128) {
    ASSERT_EQ(*p.Read(off, k128, buf.data()), k128);
    ASSERT_EQ(buf.substr(0, k128), data_.substr(off, k128)) << off;
  }
  EXPECT_EQ(client_.get_calls - gets, 1);  // 32 reads
  EXPECT_EQ(client_.open_range_calls, 2);
}

TEST_F(PrefetcherTest, CloseIdleStreamOnlyWhenUnusedSince) {
  auto streaming = Streaming();
  Prefetcher& p = *streaming;
  std::string buf(1 << 20, '\0');
  ASSERT_EQ(*p.Read(0, buf.size(), buf.data()), buf.size());
  ASSERT_EQ(*p.Read(1 << 20, buf.size(), buf.data()), buf.size());  // the stream opens
  auto now = std::chrono::steady_clock::now();
  EXPECT_FALSE(p.CloseIdleStream(now - std::chrono::seconds(10)));  // used since then
  EXPECT_TRUE(p.CloseIdleStream(now + std::chrono::seconds(1)));
  EXPECT_FALSE(p.CloseIdleStream(now + std::chrono::seconds(1)));  // none open any more
  ASSERT_EQ(*p.Read(2 << 20, buf.size(), buf.data()), buf.size());
  EXPECT_EQ(buf, data_.substr(2 << 20, buf.size()));
  EXPECT_EQ(client_.open_range_calls, 2);
}

TEST_F(PrefetcherTest, BrokenStreamFallsBackToTheWindowAndReopens) {
  client_.break_streams_after = 3;  // e.g. a node restart mid-stream, every fourth read
  auto streaming = Streaming();
  Prefetcher& p = *streaming;
  std::string out(data_.size(), '\0');
  const uint64_t chunk = 768 << 10;
  for (uint64_t off = 0; off < data_.size(); off += chunk) {
    auto n = p.Read(off, chunk, out.data() + off);
    ASSERT_TRUE(n.ok()) << n.status().ToString();
    ASSERT_EQ(*n, std::min<uint64_t>(chunk, data_.size() - off));
  }
  EXPECT_TRUE(out == data_);
  EXPECT_GT(client_.open_range_calls, 5);  // each break: that read from the window, then anew
}

TEST_F(PrefetcherTest, ClientWithoutStreamsReadsThroughTheWindow) {
  client_.streams_unsupported = true;  // e.g. an https endpoint
  auto streaming = Streaming();
  Prefetcher& p = *streaming;
  std::string out(data_.size(), '\0');
  const uint64_t mb = 1 << 20;
  for (uint64_t off = 0; off < data_.size(); off += mb) {
    ASSERT_EQ(*p.Read(off, mb, out.data() + off), mb);
  }
  EXPECT_TRUE(out == data_);
  EXPECT_EQ(client_.open_range_calls, 1);  // asked once for this file
  EXPECT_LT(client_.get_calls, 20);        // the window's growing parts, not one GET per read
}

TEST_F(PrefetcherTest, StreamThatCannotOpenIsAnError) {
  auto streaming = Streaming();
  Prefetcher& p = *streaming;
  std::string buf(1 << 20, '\0');
  ASSERT_TRUE(p.Read(0, buf.size(), buf.data()).ok());
  client_.FailNext(1, Status::Unavailable("node down"));  // the open (already retried)
  auto r = p.Read(buf.size(), buf.size(), buf.data());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable);
  // The node is back: the same read goes on.
  ASSERT_EQ(*p.Read(buf.size(), buf.size(), buf.data()), buf.size());
  EXPECT_EQ(buf, data_.substr(buf.size(), buf.size()));
}

TEST(MountOptionsTest, ParsesEndpointBucketAndOptions) {
  auto c = ParseMountArgs({"aisle-fs", "127.0.0.1:8080/bkt/", "/mnt/x", "-o",
                           "ro,allow_other,uid=5,gid=6,umask=027,attr_timeout=1.5,readahead=32M,"
                           "max_conns=4,shards=off,direct_io,noauto,_netdev,x-systemd.automount",
                           "-f"});
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->endpoint, "http://127.0.0.1:8080");
  EXPECT_EQ(c->fs.bucket, "bkt");
  EXPECT_EQ(c->mountpoint, "/mnt/x");
  EXPECT_TRUE(c->fs.read_only);
  EXPECT_TRUE(c->allow_other);
  EXPECT_TRUE(c->foreground);
  EXPECT_EQ(c->fs.uid, 5u);
  EXPECT_EQ(c->fs.gid, 6u);
  EXPECT_EQ(c->fs.umask, 027u);
  EXPECT_DOUBLE_EQ(c->fs.attr_timeout, 1.5);
  EXPECT_EQ(c->fs.readahead, 32u << 20);
  EXPECT_EQ(c->fs.max_conns, 4);
  EXPECT_FALSE(c->fs.shards);
  EXPECT_EQ(c->fs.direct_io_from, 0u);
  auto big = ParseMountArgs({"aisle-fs", "h:1", "/m", "-o", "direct_io_above=64M"});
  ASSERT_TRUE(big.ok());
  EXPECT_EQ(big->fs.direct_io_from, 64u << 20);
  EXPECT_FALSE(ParseMountArgs({"aisle-fs", "h:1", "/m", "-o", "direct_io_above=lots"}).ok());
  EXPECT_FALSE(ParseMountArgs({"aisle-fs", "h:1", "/m", "-o", "bogus"}).ok());
  EXPECT_FALSE(ParseMountArgs({"aisle-fs", "h:1"}).ok());
  EXPECT_FALSE(ParseMountArgs({"aisle-fs", "h:1", "/m", "-o", "shards=maybe"}).ok());
  auto whole = ParseMountArgs({"aisle-fs", "http://h:1", "/m"});
  ASSERT_TRUE(whole.ok());
  EXPECT_EQ(whole->fs.bucket, "");
  EXPECT_EQ(whole->fs.direct_io_from, UINT64_MAX);  // page cache for every file
}

TEST(ErrnoMapTest, OneTable) {
  EXPECT_EQ(ToErrno(Status::NotFound("x")), ENOENT);
  EXPECT_EQ(ToErrno(Status::Timeout("x")), EIO);
  EXPECT_EQ(ToErrno(Status::Unavailable("x")), EIO);
  EXPECT_EQ(ToErrno(Status::NoSpace("x")), ENOSPC);
  EXPECT_EQ(ToErrno(ErrnoStatus(EXDEV, "x")), EXDEV);
  EXPECT_EQ(ToErrno(ErrnoStatus(ENOTEMPTY, "x").WithContext("ctx")), ENOTEMPTY);
  EXPECT_EQ(ToErrno(Status::OK()), 0);
}

}  // namespace
}  // namespace aisle::fs
