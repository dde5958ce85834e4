// Integrity of stored objects: VerifyObject finds flipped and missing bytes, Quarantine moves
// the file aside (never served again) and spares a newer version written meanwhile.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "common/checksum.h"
#include "server/storage/file_util.h"
#include "server/storage/store.h"
#include "server/storage/verify.h"
#include "server/storage/work_dirs.h"
#include "tests/testing/temp_dir.h"

namespace aisle::storage {
namespace {

class IntegrityTest : public ::testing::Test {
 protected:
  void SetUp() override {
    StoreOptions o;
    o.mountpaths = {dir_.Sub("mp1"), dir_.Sub("mp2")};
    store_ = std::move(Store::Open(o)).value();
    ASSERT_TRUE(store_->CreateBucket("b").ok());
  }
  void Put(const std::string& name, const std::string& data) {
    StringBodyReader r(data);
    ASSERT_TRUE(store_->Put("b", name, r, {}).ok());
  }
  // Flips one bit of the data byte at `at` in the object's file.
  void FlipByte(const std::string& name, uint64_t at) {
    auto r = store_->Get("b", name);
    ASSERT_TRUE(r.ok());
    auto path = store_->ObjectFile("b", name);
    ASSERT_TRUE(path.ok());
    auto fh = OpenFile(*path, O_RDWR);
    ASSERT_TRUE(fh.ok());
    char c;
    ASSERT_EQ(::pread(fh->get(), &c, 1, static_cast<off_t>(r->data_offset + at)), 1);
    c ^= 0x10;
    ASSERT_EQ(::pwrite(fh->get(), &c, 1, static_cast<off_t>(r->data_offset + at)), 1);
  }
  size_t Quarantined() {
    size_t n = 0;
    for (const auto& mp : store_->mountpaths())
      if (std::filesystem::exists(QuarantineDir(mp)))
        for (auto& e : std::filesystem::directory_iterator(QuarantineDir(mp))) (void)e, ++n;
    return n;
  }

  testing::TempDir dir_;
  std::unique_ptr<Store> store_;
};

std::string Data(size_t n) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>('a' + (i * 7) % 26);
  return s;
}

TEST_F(IntegrityTest, IntactObjectsVerify) {
  for (size_t n : {size_t{0}, size_t{10}, kSmallObject, kSmallObject + 1, size_t{3} << 20}) {
    Put("o" + std::to_string(n), Data(n));
    auto r = store_->Get("b", "o" + std::to_string(n));
    ASSERT_TRUE(r.ok());
    EXPECT_TRUE(VerifyObject(*r, "b").ok()) << n;
  }
}

TEST_F(IntegrityTest, FlippedByteFailsNamingTheObject) {
  for (size_t n : {size_t{100}, size_t{1} << 20}) {
    std::string name = "flip" + std::to_string(n);
    Put(name, Data(n));
    FlipByte(name, n / 2);
    auto r = store_->Get("b", name);
    ASSERT_TRUE(r.ok());
    Status st = VerifyObject(*r, "b");
    EXPECT_EQ(st.code(), StatusCode::kDataCorruption) << n;
    EXPECT_EQ(st.subject(), Subject::kObject);
    EXPECT_NE(st.message().find("ais://b/" + name), std::string::npos) << st.message();
    EXPECT_NE(st.message().find(Hex64(r->meta.xxhash)), std::string::npos);
  }
}

TEST_F(IntegrityTest, TruncatedFileFails) {
  Put("t", Data(1 << 20));
  auto path = store_->ObjectFile("b", "t");
  ASSERT_TRUE(path.ok());
  auto r = store_->Get("b", "t");
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(::truncate(path->c_str(), static_cast<off_t>(r->data_offset + 1000)), 0);
  Status st = VerifyObject(*r, "b");
  EXPECT_EQ(st.code(), StatusCode::kDataCorruption);
  EXPECT_NE(st.message().find("truncated, 1000 of 1048576 bytes"), std::string::npos)
      << st.message();
}

TEST_F(IntegrityTest, RateCallbackSeesEveryByteAndCanStop) {
  Put("big", Data(3 << 20));
  auto r = store_->Get("b", "big");
  ASSERT_TRUE(r.ok());
  uint64_t seen = 0;
  EXPECT_TRUE(VerifyObject(*r, "b", [&](uint64_t n) {
                seen += n;
                return Status::OK();
              }).ok());
  EXPECT_EQ(seen, uint64_t{3} << 20);
  Status st = VerifyObject(*r, "b", [](uint64_t) { return Status::Conflict("aborted"); });
  EXPECT_EQ(st.code(), StatusCode::kConflict);
}

TEST_F(IntegrityTest, QuarantineMovesTheFileAside) {
  Put("q", Data(200000));
  FlipByte("q", 5);
  auto r = store_->Get("b", "q");
  ASSERT_TRUE(r.ok());
  ASSERT_FALSE(VerifyObject(*r, "b").ok());
  ASSERT_TRUE(store_->Quarantine("b", "q", &*r).ok());
  EXPECT_TRUE(store_->Get("b", "q").status().IsNotFound());
  EXPECT_EQ(store_->ObjectCount(), 0u);
  EXPECT_EQ(Quarantined(), 1u);
  // A new PUT of the name is a new, good object.
  Put("q", "fresh");
  auto again = store_->Get("b", "q");
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(VerifyObject(*again, "b").ok());
}

TEST_F(IntegrityTest, QuarantineSparesANewerVersion) {
  Put("v", Data(200000));
  auto old = store_->Get("b", "v");
  ASSERT_TRUE(old.ok());
  Put("v", Data(1000));  // replaced after the reader opened it
  ASSERT_TRUE(store_->Quarantine("b", "v", &*old).ok());
  auto now = store_->Get("b", "v");
  ASSERT_TRUE(now.ok());
  EXPECT_EQ(now->meta.size, 1000u);
  EXPECT_EQ(Quarantined(), 0u);
  EXPECT_TRUE(store_->Quarantine("b", "missing", nullptr).IsNotFound());
}

}  // namespace
}  // namespace aisle::storage
