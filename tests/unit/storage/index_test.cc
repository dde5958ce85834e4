// The persistent object index (meta_index.h) through the Store: crash ordering at each step,
// start without a scan, building from an existing data directory, a damaged index, long names.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <thread>

#include "server/storage/meta_index.h"
#include "server/storage/store.h"
#include "server/storage/work_dirs.h"
#include "tests/testing/temp_dir.h"

namespace aisle::storage {
namespace {

namespace fs = std::filesystem;

class IndexTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Reopen();
    ASSERT_TRUE(store_->CreateBucket("b").ok());
  }
  void Reopen() {
    store_.reset();
    StoreOptions o;
    o.mountpaths = {dir_.Sub("mp1"), dir_.Sub("mp2")};
    auto s = Store::Open(o);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(s).value();
  }
  Status Put(const std::string& name, const std::string& data) {
    StringBodyReader r(data);
    return store_->Put("b", name, r, {}).status();
  }
  std::string Get(const std::string& name) {
    auto r = store_->Get("b", name);
    if (!r.ok()) return "<" + r.status().ToString() + ">";
    auto d = ReadObjectData(*r);
    return d.ok() ? *d : "<read error>";
  }
  // Every name listed (small pages), checked against the files: each listed entry's size is its
  // file's, and every object file on disk is listed.
  std::vector<std::string> ListAndCheckFiles() {
    std::vector<std::string> names;
    ListOptions lo;
    lo.page_size = 3;
    for (;;) {
      auto page = store_->List("b", lo);
      EXPECT_TRUE(page.ok());
      if (!page.ok()) break;
      for (const auto& e : page->entries) {
        names.push_back(e.name);
        auto r = store_->Get("b", e.name);
        EXPECT_TRUE(r.ok()) << e.name << " listed but does not read";
        if (r.ok()) {
          EXPECT_EQ(r->meta.size, e.size) << e.name;
        }
      }
      if (page->next_token.empty()) break;
      lo.start_after = page->next_token;
    }
    size_t files = 0;
    for (auto mp : {"mp1", "mp2"})
      for (auto& e : fs::recursive_directory_iterator(dir_.Sub(mp) + "/ais/b"))
        if (e.is_regular_file() && e.path().filename() != ".props" &&
            e.path().parent_path().filename() != ".shards")
          ++files;
    EXPECT_EQ(files, names.size()) << "object files and index disagree";
    EXPECT_EQ(store_->ObjectCount(), names.size());
    return names;
  }

  testing::TempDir dir_;
  std::unique_ptr<Store> store_;
};

// "put.index": the index is durable, the file still a temp file. A crash there rolls the PUT
// forward at start (the data was durable); an error puts the index back.
TEST_F(IndexTest, CrashAfterTheIndexRollsForwardErrorRollsBack) {
  for (bool crash : {false, true}) {
    SCOPED_TRACE(crash ? "crash" : "error");
    ASSERT_TRUE(Put("obj", "old").ok());
    store_->SetFaultHook([&](std::string_view s) {
      if (s != "put.index") return FaultResult();
      return crash ? FaultResult::Crash() : FaultResult(Status::IOError("injected"));
    });
    EXPECT_FALSE(Put("obj", "new-version").ok());
    store_->SetFaultHook(nullptr);
    if (!crash) {
      EXPECT_EQ(Get("obj"), "old");
    }
    Reopen();
    EXPECT_EQ(Get("obj"), crash ? "new-version" : "old");
    ListAndCheckFiles();
  }
}

// The temp file's fsync runs beside the index commit, so a power loss may leave a durable
// entry whose temp file is torn or gone (that PUT was never acknowledged): start puts back
// the object in place instead of rolling forward.
TEST_F(IndexTest, TornTempFileBehindADurableEntryRollsBack) {
  for (bool gone : {false, true}) {
    SCOPED_TRACE(gone ? "temp file gone" : "temp file torn");
    ASSERT_TRUE(Put("obj", "old").ok());
    store_->SetFaultHook([&](std::string_view s) {
      return s == "put.index" ? FaultResult::Crash() : FaultResult();
    });
    EXPECT_FALSE(Put("obj", std::string(5000, 'n')).ok());
    store_->SetFaultHook(nullptr);
    size_t temps = 0;
    for (auto mp : {"mp1", "mp2"}) {
      for (auto& e : fs::directory_iterator(dir_.Sub(mp) + "/.aisle/tmp")) {
        ++temps;
        if (gone) {
          fs::remove(e.path());
        } else {  // the data blocks never reached the disk: zeros where data was
          std::fstream f(e.path(), std::ios::in | std::ios::out | std::ios::binary);
          f.seekp(-100, std::ios::end);
          f << std::string(100, '\0');
        }
      }
    }
    ASSERT_EQ(temps, 1u);
    Reopen();
    EXPECT_EQ(Get("obj"), "old");
    ListAndCheckFiles();
  }
}

// "delete.index": the entry is gone (durably), the file not yet: start removes the file.
TEST_F(IndexTest, CrashInADeleteRemovesTheFileAtStart) {
  ASSERT_TRUE(Put("gone", "x").ok());
  ASSERT_TRUE(Put("kept", "y").ok());
  store_->SetFaultHook([](std::string_view s) {
    return s == "delete.index" ? FaultResult::Crash() : FaultResult();
  });
  EXPECT_FALSE(store_->Delete("b", "gone").ok());
  store_->SetFaultHook(nullptr);
  EXPECT_TRUE(store_->Get("b", "gone").status().IsNotFound());
  Reopen();
  EXPECT_TRUE(store_->Get("b", "gone").status().IsNotFound());
  EXPECT_EQ(ListAndCheckFiles(), std::vector<std::string>{"kept"});
}

// Start reads the index, not the object files: an object file put back by hand after its
// object was deleted stays invisible, while everything written through the store is there.
TEST_F(IndexTest, StartDoesNotScanObjectFiles) {
  for (int i = 0; i < 50; ++i) ASSERT_TRUE(Put("o" + std::to_string(i), "d").ok());
  auto path = store_->ObjectFile("b", "o7");
  ASSERT_TRUE(path.ok());
  std::string saved = dir_.Sub("saved");
  fs::copy_file(*path, saved);
  ASSERT_TRUE(store_->Delete("b", "o7").ok());
  store_.reset();
  fs::copy_file(saved, *path);
  Reopen();
  EXPECT_EQ(store_->ObjectCount(), 49u);
  EXPECT_TRUE(store_->Get("b", "o7").status().IsNotFound());
  fs::remove(*path);
  EXPECT_EQ(ListAndCheckFiles().size(), 49u);
}

// After an unclean shutdown (a child process that exits without closing the store), the
// background verification pass indexes a file the index lacks and drops an entry whose file
// is gone, while the store serves.
TEST_F(IndexTest, VerificationAfterAnUncleanShutdownRepairsBothWays) {
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(Put("o" + std::to_string(i), "d").ok());
  auto path7 = store_->ObjectFile("b", "o7");
  auto path8 = store_->ObjectFile("b", "o8");
  ASSERT_TRUE(path7.ok() && path8.ok());
  std::string saved = dir_.Sub("saved");
  fs::copy_file(*path7, saved);
  ASSERT_TRUE(store_->Delete("b", "o7").ok());
  store_.reset();
  pid_t pid = ::fork();
  if (pid == 0) {
    StoreOptions o;
    o.mountpaths = {dir_.Sub("mp1"), dir_.Sub("mp2")};
    auto s = Store::Open(o);
    if (s.ok()) (void)std::move(s).value().release();  // "crash": never closed
    ::_exit(s.ok() ? 0 : 1);
  }
  int wstatus = 0;
  ASSERT_EQ(::waitpid(pid, &wstatus, 0), pid);
  ASSERT_EQ(WEXITSTATUS(wstatus), 0);
  fs::copy_file(saved, *path7);
  fs::remove(*path8);
  Reopen();
  for (int i = 0; i < 500 && (store_->ObjectCount() != 19 || !store_->Get("b", "o7").ok()); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_EQ(Get("o7"), "d");
  EXPECT_TRUE(store_->Get("b", "o8").status().IsNotFound());
  EXPECT_EQ(ListAndCheckFiles().size(), 19u);
}

// A data directory from before the index (no MP/.aisle/index) is indexed once at start.
TEST_F(IndexTest, BuildsTheIndexOfAnExistingDataDirectory) {
  std::set<std::string> want;
  for (int i = 0; i < 40; ++i) {
    want.insert("dir/" + std::to_string(i));
    ASSERT_TRUE(Put("dir/" + std::to_string(i), std::string(i, 'z')).ok());
  }
  store_.reset();
  for (auto mp : {"mp1", "mp2"}) fs::remove_all(IndexDir(dir_.Sub(mp)));
  Reopen();
  auto names = ListAndCheckFiles();
  EXPECT_EQ(std::set<std::string>(names.begin(), names.end()), want);
  EXPECT_EQ(Get("dir/7"), std::string(7, 'z'));
}

// An unreadable index is set aside and rebuilt from the objects.
TEST_F(IndexTest, TornIndexIsRebuiltFromTheObjects) {
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(Put("t" + std::to_string(i), "data").ok());
  store_.reset();
  {
    std::fstream f(IndexDir(dir_.Sub("mp1")) + "/data.mdb",
                   std::ios::in | std::ios::out | std::ios::binary);
    std::string junk(8192, '\x5a');
    f.write(junk.data(), junk.size());
  }
  Reopen();
  EXPECT_EQ(ListAndCheckFiles().size(), 20u);
  bool aside = false;
  for (auto& e : fs::directory_iterator(dir_.Sub("mp1") + "/.aisle"))
    aside |= e.path().filename().string().rfind("index.bad-", 0) == 0;
  EXPECT_TRUE(aside) << "the damaged index was not kept aside";
}

// The S3 ETag (custom metadata) is in the index: a listing reports it without opening the
// object. An index of the first format (no ETags) is rebuilt from the object files once.
TEST_F(IndexTest, ListingCarriesTheEtagAndTheOlderFormatIsRebuilt) {
  PutOptions po;
  po.custom = {{kCustomS3Etag, "0123456789abcdef0123456789abcdef-3"}, {"k", "v"}};
  StringBodyReader r("multi");
  ASSERT_TRUE(store_->Put("b", "mp-object", r, po).ok());
  ASSERT_TRUE(Put("plain", "p").ok());
  auto check = [&] {
    auto page = store_->List("b", {});
    ASSERT_TRUE(page.ok());
    ASSERT_EQ(page->entries.size(), 2u);
    EXPECT_EQ(page->entries[0].name, "mp-object");
    EXPECT_EQ(page->entries[0].etag, "0123456789abcdef0123456789abcdef-3");
    EXPECT_EQ(page->entries[1].etag, "");  // none: the xxhash stands for it
  };
  check();
  Reopen();
  check();
  // Mark both indexes as of the first format: the next start rebuilds them.
  store_.reset();
  for (auto mp : {"mp1", "mp2"}) {
    MetaIndex::OpenInfo info;
    auto idx = MetaIndex::Open(IndexDir(dir_.Sub(mp)), &info);
    ASSERT_TRUE(idx.ok());
    ASSERT_TRUE((*idx)->Commit({IndexOp::Put(IndexTable::kMeta, "format", "aisle-index-1")}).ok());
  }
  Reopen();
  check();
  EXPECT_EQ(ListAndCheckFiles().size(), 2u);
}

// Names longer than an LMDB key: stored with a shortened key, read, listed and paged whole.
TEST_F(IndexTest, LongNamesListAndPage) {
  std::string base(600, 'n');
  std::set<std::string> want;
  for (int i = 0; i < 7; ++i) {
    std::string name = base + std::to_string(i);
    want.insert(name);
    ASSERT_TRUE(Put(name, name.substr(590)).ok());
  }
  ASSERT_TRUE(Put("short", "s").ok());
  Reopen();
  auto names = ListAndCheckFiles();
  EXPECT_EQ(names.size(), 8u);
  EXPECT_EQ(std::set<std::string>(names.begin(), names.end() - 1), want);
  EXPECT_EQ(Get(base + "3"), (base + "3").substr(590));
  ListOptions lo;
  lo.prefix = base;
  auto page = store_->List("b", lo);
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(page->entries.size(), 7u);
  ASSERT_TRUE(store_->Delete("b", base + "3").ok());
  EXPECT_EQ(ListAndCheckFiles().size(), 7u);
}

// A destroyed bucket leaves no entries behind; a new one of the same name starts empty.
TEST_F(IndexTest, DestroyedBucketLeavesNoEntries) {
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(Put("x" + std::to_string(i), "d").ok());
  ASSERT_TRUE(store_->DestroyBucket("b").ok());
  EXPECT_EQ(store_->ObjectCount(), 0u);
  ASSERT_TRUE(store_->CreateBucket("b").ok());
  Reopen();
  EXPECT_EQ(ListAndCheckFiles().size(), 0u);
}

}  // namespace
}  // namespace aisle::storage
