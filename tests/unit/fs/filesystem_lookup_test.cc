// fs/core namespace: lookups, negative caching, readdir(plus) lookup counts, streamed and
// paged listings, bucket views. MockClusterClient; no FUSE, no sockets.
#include <gtest/gtest.h>

#include <set>

#include "fs/core/path_scheme.h"
#include "tests/testing/fs_core_fixture.h"

namespace aisle::fs {
namespace {

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

// Shard directories by extension, as the server decides (any case, .tar.zstd too); a name that
// is only an extension is a plain file.
TEST(PathSchemeTest, ShardNames) {
  for (const char* n :
       {"a.tar", "a.TAR", "a.tgz", "a.tar.gz", "a.zip", "a.tar.lz4", "a.tar.zst", "a.tar.zstd"})
    EXPECT_TRUE(IsShardName(n)) << n;
  for (const char* n : {".tar", ".tar.gz", "a.txt", "tar", "a.tar.bak"})
    EXPECT_FALSE(IsShardName(n)) << n;
}

}  // namespace
}  // namespace aisle::fs
