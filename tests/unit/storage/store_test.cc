#include "server/storage/store.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <set>
#include <thread>

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

// A missing bucket and a missing object are told apart by the status's subject.
TEST_F(StoreTest, NotFoundSaysWhatIsMissing) {
  ASSERT_TRUE(store_->CreateBucket("b").ok());
  Status no_bucket = store_->Get("nob", "o").status();
  EXPECT_TRUE(no_bucket.IsNotFound());
  EXPECT_EQ(no_bucket.subject(), Subject::kBucket);
  EXPECT_EQ(store_->Delete("nob", "o").subject(), Subject::kBucket);
  Status no_object = store_->Get("b", "o").status();
  EXPECT_TRUE(no_object.IsNotFound());
  EXPECT_EQ(no_object.subject(), Subject::kObject);
  EXPECT_EQ(store_->CreateBucket("b").subject(), Subject::kBucket);
}

// A simulated crash is the hook's typed answer, whatever its status says; a status that
// merely reads "crash" is an ordinary error.
TEST_F(StoreTest, FaultHookCrashIsTypedNotText) {
  ASSERT_TRUE(store_->CreateBucket("b").ok());
  store_->SetFaultHook([](std::string_view s) {
    if (s != "put.fsync") return FaultResult();
    FaultResult f(Status::IOError("power cut"));
    f.crash = true;
    return f;
  });
  EXPECT_FALSE(Put("b", "o", "data").ok());
  EXPECT_EQ(TempFiles(), 1u);  // left behind, as a real crash would
  Reopen();
  EXPECT_EQ(TempFiles(), 0u);
  store_->SetFaultHook([](std::string_view s) {
    return s == "put.fsync" ? Status::Internal("crash") : Status::OK();
  });
  EXPECT_FALSE(Put("b", "o", "data").ok());
  store_->SetFaultHook(nullptr);
  EXPECT_EQ(TempFiles(), 0u);  // cleaned up: an error, not a crash
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
        if (s != step) return FaultResult();
        return crash ? FaultResult::Crash() : FaultResult(Status::IOError("injected"));
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

// ---- in-place append ----------------------------------------------------------------------

class InPlaceTest : public StoreTest {
 protected:
  // A tar-like object: `body` then `end` zero bytes (the "end blocks" an append replaces).
  void PutShard(const std::string& body, size_t end = 1024) {
    ASSERT_TRUE(store_->CreateBucket("b").ok() || store_->HeadBucket("b").ok());
    old_ = body + std::string(end, '\0');
    auto m = Put("b", "s.tar", old_);
    ASSERT_TRUE(m.ok()) << m.status().ToString();
    old_meta_ = *m;
    eoe_ = body.size();
  }
  Result<InPlaceResult> Append(const std::string& tail, std::string prefix_state = "") {
    InPlaceAppend ia;
    ia.expected_version = old_meta_.version;
    ia.overwrite_at = eoe_;
    ia.tail_len = tail.size();
    ia.snapshot_at = eoe_ + tail.size() - 1024;
    ia.prefix_state = std::move(prefix_state);
    StringBodyReader r(tail);
    return store_->AppendInPlace("b", "s.tar", ia, r);
  }
  size_t UndoRecords() {
    size_t n = 0;
    for (auto mp : {"mp1", "mp2"})
      for (auto& e : std::filesystem::directory_iterator(dir_.Sub(mp) + "/.aisle/undo"))
        (void)e, ++n;
    return n;
  }
  // The object is exactly `want`: bytes, header checksum and listing agree.
  void ExpectObject(const std::string& want) {
    auto r = store_->Get("b", "s.tar");
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(r->meta.size, want.size());
    EXPECT_TRUE(ReadAll(*r) == want) << "object bytes differ";
    EXPECT_EQ(r->meta.xxhash, Xxh64(want));
    auto page = store_->List("b", {.prefix = "s.tar", .start_after = {}});
    ASSERT_TRUE(page.ok());
    ASSERT_EQ(page->entries.size(), 1u);
    EXPECT_EQ(page->entries[0].size, want.size());
    EXPECT_EQ(page->entries[0].xxhash, Xxh64(want));
    EXPECT_EQ(page->entries[0].version, r->meta.version);
  }
  std::string Tail(const std::string& member) { return member + std::string(1024, '\0'); }

  std::string old_;
  ObjectMeta old_meta_;
  uint64_t eoe_ = 0;
};

constexpr size_t inplace_max_old_tail = 1 << 20;  // inplace::kMaxOldTail

std::string Pattern(size_t n, int seed) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>((i * 131 + seed * 7 + i / 977) & 0xff);
  return s;
}

TEST_F(InPlaceTest, SameBytesAndChecksumAsARewrite) {
  PutShard(Pattern(300000, 1), 10240);  // GNU tar pads to 10 KiB records: the file shrinks
  std::string tail = Tail(Pattern(5000, 2));
  auto res = Append(tail);
  ASSERT_TRUE(res.ok()) << res.status().ToString();
  ASSERT_TRUE(res->applied) << res->fallback;
  std::string want = old_.substr(0, eoe_) + tail;
  EXPECT_EQ(res->meta.version, old_meta_.version + 1);
  EXPECT_EQ(res->meta.size, want.size());
  EXPECT_EQ(res->meta.xxhash, Xxh64(want));
  ExpectObject(want);
  // The snapshot continues the hash at the new append point.
  Xxh64Stream h;
  ASSERT_TRUE(h.LoadState(res->snapshot_state));
  h.Update(want.data() + want.size() - 1024, 1024);
  EXPECT_EQ(h.Digest(), Xxh64(want));
  // A rewrite of the same bytes has the same checksum.
  auto rewritten = Put("b", "copy", want);
  ASSERT_TRUE(rewritten.ok());
  EXPECT_EQ(rewritten->xxhash, res->meta.xxhash);
  EXPECT_EQ(UndoRecords(), 0u);

  // The next append starts from the saved state; a wrong state is detected and recomputed.
  old_ = want;
  old_meta_ = res->meta;
  eoe_ = want.size() - 1024;
  std::string tail2 = Tail(Pattern(777, 3));
  auto res2 = Append(tail2, res->snapshot_state);
  ASSERT_TRUE(res2.ok() && res2->applied);
  want = old_.substr(0, eoe_) + tail2;
  EXPECT_EQ(res2->meta.xxhash, Xxh64(want));
  old_ = want;
  old_meta_ = res2->meta;
  eoe_ = want.size() - 1024;
  std::string tail3 = Tail(Pattern(12345, 4));
  auto res3 = Append(tail3, res->snapshot_state);  // stale state
  ASSERT_TRUE(res3.ok() && res3->applied);
  want = old_.substr(0, eoe_) + tail3;
  EXPECT_EQ(res3->meta.version, 4u);
  ExpectObject(want);
  Reopen();
  ExpectObject(want);
  auto store_copy = store_->Get("b", "copy");
  ASSERT_TRUE(store_copy.ok());
}

TEST_F(InPlaceTest, CrashOrErrorAtEveryStepLeavesOldOrNew) {
  for (const char* step :
       {"append.undo", "append.tail", "append.header", "append.commit", "append.done"}) {
    for (bool crash : {false, true}) {
      SCOPED_TRACE(std::string(step) + (crash ? " crash" : " error"));
      PutShard(Pattern(200000, 5), 4096);
      std::string tail = Tail(Pattern(9000, 6));
      std::string want_new = old_.substr(0, eoe_) + tail;
      store_->SetFaultHook([&](std::string_view s) {
        if (s != step) return FaultResult();
        return crash ? FaultResult::Crash() : FaultResult(Status::IOError("injected"));
      });
      auto res = Append(tail);
      store_->SetFaultHook(nullptr);
      EXPECT_FALSE(res.ok());
      bool durable = std::string_view(step) == "append.done";
      if (!crash) {  // an error rolls back at once (except after the point of no return)
        EXPECT_EQ(UndoRecords(), 0u);
        ExpectObject(durable ? want_new : old_);
      } else {
        EXPECT_EQ(UndoRecords(), durable ? 0u : 1u);
      }
      Reopen();
      EXPECT_EQ(UndoRecords(), 0u);
      ExpectObject(durable ? want_new : old_);
      auto r = store_->Get("b", "s.tar");
      ASSERT_TRUE(r.ok());
      EXPECT_EQ(r->meta.version, old_meta_.version + (durable ? 1 : 0));
    }
  }
}

TEST_F(InPlaceTest, TornUndoRecordIsIgnored) {
  PutShard(Pattern(50000, 7));
  for (auto mp : {"mp1", "mp2"}) {
    FILE* f = fopen((dir_.Sub(mp) + "/.aisle/undo/deadbeef").c_str(), "w");
    fputs("AISLUND1 torn", f);
    fclose(f);
  }
  Reopen();
  EXPECT_EQ(UndoRecords(), 0u);
  ExpectObject(old_);
}

TEST_F(InPlaceTest, FallsBackWithoutChangingAnything) {
  PutShard(Pattern(70000, 8));
  std::string tail = Tail("member");
  // The header would grow past its 4 KiB block.
  {
    InPlaceAppend ia;
    ia.expected_version = old_meta_.version;
    ia.overwrite_at = eoe_;
    ia.tail_len = tail.size();
    ia.snapshot_at = eoe_;
    ia.custom = std::vector<std::pair<std::string, std::string>>{{"k", std::string(5000, 'v')}};
    StringBodyReader r(tail);
    auto res = store_->AppendInPlace("b", "s.tar", ia, r);
    ASSERT_TRUE(res.ok());
    EXPECT_FALSE(res->applied);
    EXPECT_NE(res->fallback.find("header"), std::string::npos) << res->fallback;
  }
  // A stale expected version.
  old_meta_.version += 1;
  auto res = Append(tail);
  ASSERT_TRUE(res.ok());
  EXPECT_FALSE(res->applied);
  old_meta_.version -= 1;
  ExpectObject(old_);
  // Too many old bytes after the append point (more than an undo record keeps).
  PutShard(Pattern(1000, 8), inplace_max_old_tail + 1);
  res = Append(tail);
  ASSERT_TRUE(res.ok());
  EXPECT_FALSE(res->applied);
  EXPECT_NE(res->fallback.find("too many bytes"), std::string::npos) << res->fallback;
  ExpectObject(old_);
  EXPECT_EQ(UndoRecords(), 0u);
}

TEST_F(InPlaceTest, ActiveReaderForcesFallbackAndKeepsItsBytes) {
  PutShard(Pattern(100000, 9));
  std::string tail = Tail(Pattern(3000, 10));
  auto reader = store_->Get("b", "s.tar");
  ASSERT_TRUE(reader.ok());
  auto res = Append(tail);
  ASSERT_TRUE(res.ok());
  EXPECT_FALSE(res->applied);
  EXPECT_EQ(res->fallback, "the object is being read");
  EXPECT_TRUE(ReadAll(*reader) == old_);
  // Any copy of the fd (a response body still being sent) keeps the guard.
  auto fd_copy = reader->file;
  uint64_t data_offset = reader->data_offset;
  reader = Status::Internal("gone");
  res = Append(tail);
  ASSERT_TRUE(res.ok());
  EXPECT_FALSE(res->applied);
  fd_copy.reset();
  // Released explicitly (shard member readers do), the append goes in place; the reader's
  // bytes below the append point are unchanged.
  reader = store_->Get("b", "s.tar");
  ASSERT_TRUE(reader.ok());
  reader->ReleaseGuard();
  res = Append(tail);
  ASSERT_TRUE(res.ok());
  ASSERT_TRUE(res->applied) << res->fallback;
  std::string got(eoe_, '\0');
  ASSERT_TRUE(PreadUpTo(reader->file->get(), got.data(), got.size(), data_offset, "t").ok());
  EXPECT_TRUE(got == old_.substr(0, eoe_));
  ExpectObject(old_.substr(0, eoe_) + tail);
}

TEST_F(InPlaceTest, ReadersWaitForAnInPlaceWrite) {
  PutShard(Pattern(100000, 11));
  std::string tail = Tail(Pattern(3000, 12));
  std::string want = old_.substr(0, eoe_) + tail;
  std::atomic<bool> read_done{false};
  std::string seen;
  std::thread reader;
  store_->SetFaultHook([&](std::string_view s) {
    if (s == "append.tail") {  // tail written, header still old: a reader must not get in
      reader = std::thread([&] {
        seen = Get("b", "s.tar");
        read_done = true;
      });
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      EXPECT_FALSE(read_done.load());
    }
    return Status::OK();
  });
  auto res = Append(tail);
  store_->SetFaultHook(nullptr);
  ASSERT_TRUE(res.ok() && res->applied);
  reader.join();
  EXPECT_TRUE(seen == want);
}

// ---- commits from files (S3 multipart completion) -------------------------------------------

class PutFromFilesTest : public StoreTest {
 protected:
  // A file holding `data` at `off` (zeros before it) and `tail` after it.
  std::string WriteFile(const std::string& name, uint64_t off, const std::string& data,
                        const std::string& tail = "") {
    std::string path = dir_.Sub(name);
    auto fh = OpenFile(path, O_CREAT | O_TRUNC | O_RDWR);
    EXPECT_TRUE(fh.ok());
    EXPECT_TRUE(PwriteAll(fh->get(), data.data(), data.size(), off, path).ok());
    EXPECT_TRUE(PwriteAll(fh->get(), tail.data(), tail.size(), off + data.size(), path).ok());
    return path;
  }
  static std::string Bytes(size_t n, uint32_t seed) {
    std::string s(n, '\0');
    for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>((i * 2654435761u + seed) >> 13);
    return s;
  }
  static uint64_t HeaderLen(const std::string& name, const PutOptions& o) {
    ObjectMeta m;
    m.name = name;
    m.custom = o.custom;
    std::sort(m.custom.begin(), m.custom.end());
    return EncodedHeaderLen(m);
  }
  void ExpectStored(const std::string& name, const std::string& data, uint64_t version) {
    auto r = store_->Get("b", name);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_TRUE(ReadAll(*r) == data);
    EXPECT_EQ(r->meta.size, data.size());
    EXPECT_EQ(r->meta.xxhash, Xxh64(data));
    EXPECT_EQ(r->meta.version, version);
    ListOptions lo;
    lo.prefix = name;
    auto page = store_->List("b", lo);
    ASSERT_TRUE(page.ok());
    ASSERT_EQ(page->entries.size(), 1u);
    EXPECT_EQ(page->entries[0].size, data.size());
    EXPECT_EQ(page->entries[0].xxhash, Xxh64(data));
    EXPECT_EQ(page->entries[0].version, version);
  }
  void SetUp() override {
    StoreTest::SetUp();
    ASSERT_TRUE(store_->CreateBucket("b").ok());
  }
};

TEST_F(PutFromFilesTest, PutRangesStoresTheConcatenation) {
  std::string a = Bytes(3 << 20, 1), b = Bytes(12345, 2), c = Bytes(1, 3);
  auto fa = OpenFile(WriteFile("a", 0, a), O_RDONLY);
  auto fb = OpenFile(WriteFile("b", 777, b, "junk"), O_RDONLY);
  auto fc = OpenFile(WriteFile("c", 8192, c), O_RDONLY);
  ASSERT_TRUE(fa.ok() && fb.ok() && fc.ok());
  PutOptions o;
  o.custom = {{"ETag", "abc-3"}, {"Content-Type", "x/y"}};
  std::vector<FileRange> ranges = {
      {fa->get(), 0, a.size()}, {fb->get(), 777, b.size()}, {fc->get(), 8192, 1}};
  for (const char* name : {"obj", "o/on/another/mountpath"}) {
    for (uint64_t version : {1, 2}) {  // a second commit overwrites: the next version
      auto m = store_->PutRanges("b", name, ranges, o);
      ASSERT_TRUE(m.ok()) << m.status().ToString();
      EXPECT_EQ(m->xxhash, Xxh64(a + b + c));
      ExpectStored(name, a + b + c, version);
    }
  }
  auto r = store_->Get("b", "obj");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->meta.custom, (std::vector<std::pair<std::string, std::string>>{
                                {"Content-Type", "x/y"}, {"ETag", "abc-3"}}));
  // A range past its file's end stores nothing.
  auto bad = store_->PutRanges("b", "short", {{fb->get(), 777, b.size() + 100}}, o);
  EXPECT_EQ(bad.status().code(), StatusCode::kDataCorruption);
  EXPECT_EQ(store_->Get("b", "short").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(TempFiles(), 0u);
  Reopen();
  ExpectStored("obj", a + b + c, 2);
}

TEST_F(PutFromFilesTest, PutFileRenamesTheFileItselfWhenTheHeaderFits) {
  PutOptions o;
  o.custom = {{"ETag", "0123-2"}};
  std::string data = Bytes((5 << 20) + 3, 7);
  uint64_t hlen = HeaderLen("obj", o);
  // Bytes after the data (a region of a later part) are cut off.
  std::string path = WriteFile("asm", hlen, data, "trailing bytes");
  auto m = store_->PutFile("b", "obj", path, hlen, data.size(), o);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_FALSE(PathExists(path));  // renamed into place: nothing was copied
  EXPECT_EQ(m->xxhash, Xxh64(data));
  ExpectStored("obj", data, 1);
  Reopen();
  ExpectStored("obj", data, 1);
  // Data elsewhere than where the header ends: copied, the file left alone.
  path = WriteFile("asm2", hlen + 4096, data);
  m = store_->PutFile("b", "obj", path, hlen + 4096, data.size(), o);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_TRUE(PathExists(path));
  ExpectStored("obj", data, 2);
  // A file shorter than the data it claims: refused, nothing stored.
  m = store_->PutFile("b", "other", path, hlen + 4096, data.size() + 1, o);
  EXPECT_FALSE(m.ok());
  EXPECT_EQ(store_->Get("b", "other").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(TempFiles(), 0u);
}

// As for Put: a failure or crash at each step leaves the old object or the new one; for
// PutFile the source file stays usable until the rename (a retry commits it).
TEST_F(PutFromFilesTest, CrashAtEveryStepKeepsOldOrNew) {
  PutOptions o;
  o.custom = {{"ETag", "e-1"}};
  std::string data = Bytes(100000, 9);
  uint64_t hlen = HeaderLen("obj", o);
  for (bool whole_file : {true, false}) {
    for (const char* step : {"put.write", "put.fsync", "put.rename", "put.dirsync"}) {
      for (bool crash : {false, true}) {
        SCOPED_TRACE(std::string(whole_file ? "PutFile " : "PutRanges ") + step +
                     (crash ? " crash" : " error"));
        ASSERT_TRUE(Put("b", "obj", "old-version").ok());
        std::string path = WriteFile("src", hlen, data);
        store_->SetFaultHook([&](std::string_view s) {
          if (s != step) return FaultResult();
          return crash ? FaultResult::Crash() : FaultResult(Status::IOError("injected"));
        });
        Result<ObjectMeta> r = Status::Internal("unset");
        if (whole_file) {
          r = store_->PutFile("b", "obj", path, hlen, data.size(), o);
        } else {
          auto fh = OpenFile(path, O_RDONLY);
          ASSERT_TRUE(fh.ok());
          r = store_->PutRanges("b", "obj", {{fh->get(), hlen, data.size()}}, o);
        }
        store_->SetFaultHook(nullptr);
        bool after_rename = std::string_view(step) == "put.dirsync";
        EXPECT_FALSE(r.ok());
        if (!crash) {
          EXPECT_EQ(TempFiles(), 0u);
        }
        Reopen();
        EXPECT_EQ(TempFiles(), 0u);
        if (after_rename) {
          ExpectStored("obj", data, 2);
          if (whole_file) {
            EXPECT_FALSE(PathExists(path));
          }
        } else {
          ExpectStored("obj", "old-version", 1);
          ASSERT_TRUE(PathExists(path));
          // Its data intact: a retry commits it.
          auto again = whole_file ? store_->PutFile("b", "obj", path, hlen, data.size(), o)
                                  : Status::Internal("n/a");
          if (whole_file) {
            ASSERT_TRUE(again.ok()) << again.status().ToString();
            ExpectStored("obj", data, 2);
          }
        }
        ASSERT_TRUE(store_->Delete("b", "obj").ok());
        ::unlink(path.c_str());
      }
    }
  }
}

}  // namespace
}  // namespace aisle::storage
