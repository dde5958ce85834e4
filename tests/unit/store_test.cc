#include "server/storage/store.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <set>

#include "common/checksum.h"
#include "tests/testing/temp_dir.h"

namespace aisle::storage {
namespace {

std::string ReadAll(const ObjectReader& r) {
  std::string out(r.meta.size, '\0');
  auto n = PreadUpTo(r.file->get(), out.data(), out.size(), r.data_offset, "test");
  EXPECT_TRUE(n.ok());
  return out;
}

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override { Reopen(); }
  void Reopen() {
    store_.reset();
    StoreOptions o;
    o.mountpaths = {dir_.Sub("mp1"), dir_.Sub("mp2")};
    o.max_object_size = max_size_;
    auto s = Store::Open(o);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(s).value();
  }
  Result<ObjectMeta> Put(const std::string& b, const std::string& name, const std::string& data,
                         PutOptions o = {}) {
    StringBodyReader r(data);
    return store_->Put(b, name, r, o);
  }
  std::string Get(const std::string& b, const std::string& name) {
    auto r = store_->Get(b, name);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? ReadAll(*r) : "";
  }
  size_t TempFiles() {
    size_t n = 0;
    for (auto mp : {"mp1", "mp2"})
      for (auto& e : std::filesystem::directory_iterator(dir_.Sub(mp) + "/.aisle/tmp"))
        (void)e, ++n;
    return n;
  }

  testing::TempDir dir_;
  uint64_t max_size_ = 0;
  std::unique_ptr<Store> store_;
};

TEST_F(StoreTest, BucketLifecycle) {
  ASSERT_TRUE(store_->CreateBucket("b").ok());
  EXPECT_EQ(store_->CreateBucket("b").code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(store_->CreateBucket("bad/name").code(), StatusCode::kInvalidArgument);
  ASSERT_EQ(store_->ListBuckets().size(), 1u);
  ASSERT_TRUE(Put("b", "x", "1").ok());
  ASSERT_TRUE(store_->DestroyBucket("b").ok());
  EXPECT_EQ(store_->DestroyBucket("b").code(), StatusCode::kNotFound);
  EXPECT_EQ(store_->Get("b", "x").status().code(), StatusCode::kNotFound);
  Reopen();
  EXPECT_TRUE(store_->ListBuckets().empty());
  // Recreated bucket starts empty.
  ASSERT_TRUE(store_->CreateBucket("b").ok());
  EXPECT_EQ(store_->Get("b", "x").status().code(), StatusCode::kNotFound);
}

TEST_F(StoreTest, PutGetOverwriteAndS3Naming) {
  ASSERT_TRUE(store_->CreateBucket("b").ok());
  auto m1 = Put("b", "a", "first");
  ASSERT_TRUE(m1.ok());
  EXPECT_EQ(m1->version, 1u);
  EXPECT_EQ(m1->xxhash, Xxh64("first"));
  ASSERT_TRUE(Put("b", "a/b", "nested").ok());
  EXPECT_EQ(Get("b", "a"), "first");
  EXPECT_EQ(Get("b", "a/b"), "nested");
  auto m2 = Put("b", "a", "second!");
  ASSERT_TRUE(m2.ok());
  EXPECT_EQ(m2->version, 2u);
  EXPECT_EQ(Get("b", "a"), "second!");
  EXPECT_EQ(Put("nobucket", "a", "x").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(Put("b", "../escape", "x").status().code(), StatusCode::kInvalidArgument);
  ASSERT_TRUE(Put("b", "empty", "").ok());
  EXPECT_EQ(Get("b", "empty"), "");
}

TEST_F(StoreTest, SurvivesReopenAndSpreadsOverMountpaths) {
  ASSERT_TRUE(store_->CreateBucket("b").ok());
  PutOptions o;
  o.custom = {{"k", "v"}};
  for (int i = 0; i < 200; ++i)
    ASSERT_TRUE(Put("b", "obj" + std::to_string(i), "data" + std::to_string(i), o).ok());
  std::set<std::string> mps;
  for (int i = 0; i < 200; ++i) mps.insert(store_->Get("b", "obj" + std::to_string(i))->mountpath);
  EXPECT_EQ(mps.size(), 2u);
  Reopen();
  EXPECT_EQ(store_->ObjectCount(), 200u);
  for (int i = 0; i < 200; i += 17)
    EXPECT_EQ(Get("b", "obj" + std::to_string(i)), "data" + std::to_string(i));
  auto r = store_->Get("b", "obj5");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->meta.custom, (std::vector<std::pair<std::string, std::string>>{{"k", "v"}}));
}

TEST_F(StoreTest, ListingIsSortedAndPagesHaveNoGapsOrDuplicates) {
  ASSERT_TRUE(store_->CreateBucket("b").ok());
  std::set<std::string> want;
  for (int i = 0; i < 250; ++i) {
    std::string n = (i % 3 ? "p/" : "q/") + std::to_string(i * 7919 % 1000);
    want.insert(n);
    ASSERT_TRUE(Put("b", n, "x").ok());
  }
  std::vector<std::string> got;
  ListOptions o;
  o.page_size = 7;
  for (;;) {
    auto page = store_->List("b", o);
    ASSERT_TRUE(page.ok());
    for (auto& e : page->entries) got.push_back(e.name);
    if (page->next_token.empty()) break;
    EXPECT_EQ(page->entries.size(), 7u);
    o.start_after = page->next_token;
  }
  EXPECT_EQ(got, std::vector<std::string>(want.begin(), want.end()));
  // Prefix.
  o = {};
  o.prefix = "q/";
  o.page_size = 1000;
  auto page = store_->List("b", o);
  ASSERT_TRUE(page.ok());
  for (auto& e : page->entries) EXPECT_EQ(e.name.rfind("q/", 0), 0u);
  EXPECT_EQ(page->entries.size(),
            static_cast<size_t>(
                std::count_if(want.begin(), want.end(), [](auto& n) { return n[0] == 'q'; })));
  EXPECT_TRUE(page->next_token.empty());
}

TEST_F(StoreTest, ChecksumMismatchStoresNothing) {
  ASSERT_TRUE(store_->CreateBucket("b").ok());
  PutOptions o;
  o.expected_xxhash = 123;
  auto r = Put("b", "x", "data", o);
  EXPECT_EQ(r.status().code(), StatusCode::kDataCorruption);
  EXPECT_NE(r.status().message().find("BAD DATA CHECKSUM"), std::string::npos);
  EXPECT_EQ(store_->Get("b", "x").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(TempFiles(), 0u);
  o.expected_xxhash = Xxh64("data");
  EXPECT_TRUE(Put("b", "x", "data", o).ok());
}

TEST_F(StoreTest, SizeLimitLeavesNoPartialObject) {
  max_size_ = 10;
  Reopen();
  ASSERT_TRUE(store_->CreateBucket("b").ok());
  EXPECT_EQ(Put("b", "big", std::string(11, 'x')).status().code(), StatusCode::kTooLarge);
  EXPECT_EQ(store_->Get("b", "big").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(TempFiles(), 0u);
}

TEST_F(StoreTest, RenameCustomAndDelete) {
  ASSERT_TRUE(store_->CreateBucket("b").ok());
  ASSERT_TRUE(Put("b", "old", "payload").ok());
  ASSERT_TRUE(store_->Rename("b", "old", "dir/new").ok());
  EXPECT_EQ(store_->Get("b", "old").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(Get("b", "dir/new"), "payload");
  ASSERT_TRUE(store_->SetCustom("b", "dir/new", {{"a", "1"}}, false).ok());
  ASSERT_TRUE(store_->SetCustom("b", "dir/new", {{"b", "2"}}, false).ok());
  auto r = store_->Get("b", "dir/new");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->meta.custom.size(), 2u);
  EXPECT_EQ(ReadAll(*r), "payload");
  ASSERT_TRUE(store_->SetCustom("b", "dir/new", {{"c", "3"}}, true).ok());
  EXPECT_EQ(store_->Get("b", "dir/new")->meta.custom.size(), 1u);
  ASSERT_TRUE(store_->Delete("b", "dir/new").ok());
  EXPECT_EQ(store_->Delete("b", "dir/new").code(), StatusCode::kNotFound);
  Reopen();
  EXPECT_EQ(store_->ObjectCount(), 0u);
}

TEST_F(StoreTest, AppendSessionsBuildOnTheCurrentObject) {
  ASSERT_TRUE(store_->CreateBucket("b").ok());
  ASSERT_TRUE(Put("b", "log", "abc").ok());
  StringBodyReader p1("def");
  auto id = store_->Append("b", "log", "", p1);
  ASSERT_TRUE(id.ok());
  EXPECT_EQ(Get("b", "log"), "abc");  // not visible until flush
  StringBodyReader p2("ghi");
  ASSERT_TRUE(store_->Append("b", "log", *id, p2).ok());
  auto m = store_->AppendFlush("b", "log", *id, Xxh64("abcdefghi"));
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(Get("b", "log"), "abcdefghi");
  EXPECT_EQ(m->version, 2u);
  EXPECT_FALSE(store_->AppendFlush("b", "log", *id, std::nullopt).ok());
  StringBodyReader p3("x");
  EXPECT_EQ(store_->Append("b", "log", "nosuch", p3).status().code(), StatusCode::kInvalidArgument);
}

// A failure (or crash) at each step of a write leaves the old object or the new one, never
// a torn one, and no temp file survives a restart.
TEST_F(StoreTest, CrashAtEveryWriteStepKeepsOldOrNew) {
  ASSERT_TRUE(store_->CreateBucket("b").ok());
  for (const char* step : {"put.write", "put.fsync", "put.rename", "put.dirsync"}) {
    for (bool crash : {false, true}) {
      SCOPED_TRACE(std::string(step) + (crash ? " crash" : " error"));
      ASSERT_TRUE(Put("b", "obj", "old-version").ok());
      store_->SetFaultHook([&](std::string_view s) {
        if (s != step) return Status::OK();
        return crash ? Status::Internal("crash") : Status::IOError("injected");
      });
      auto r = Put("b", "obj", std::string(100000, 'n'));
      store_->SetFaultHook(nullptr);
      bool after_rename = std::string_view(step) == "put.dirsync";
      EXPECT_EQ(r.ok(), false);
      if (!crash) {
        EXPECT_EQ(TempFiles(), 0u);
      }
      Reopen();
      EXPECT_EQ(TempFiles(), 0u);
      std::string got = Get("b", "obj");
      if (after_rename) {
        EXPECT_EQ(got, std::string(100000, 'n'));
      } else {
        EXPECT_EQ(got, "old-version");
      }
      auto page = store_->List("b", {});
      ASSERT_TRUE(page.ok());
      ASSERT_EQ(page->entries.size(), 1u);
      EXPECT_EQ(page->entries[0].size, got.size());
    }
  }
}

TEST_F(StoreTest, IgnoresForeignAndCorruptFilesAtStart) {
  ASSERT_TRUE(store_->CreateBucket("b").ok());
  ASSERT_TRUE(Put("b", "good", "ok").ok());
  // A stray file inside an object directory: not an object, must not crash or be listed.
  std::string stray = dir_.Sub("mp1") + "/ais/b/00/garbage";
  FILE* f = fopen(stray.c_str(), "w");
  fputs("not an object", f);
  fclose(f);
  Reopen();
  EXPECT_EQ(store_->ObjectCount(), 1u);
  EXPECT_EQ(Get("b", "good"), "ok");
}

}  // namespace
}  // namespace aisle::storage
