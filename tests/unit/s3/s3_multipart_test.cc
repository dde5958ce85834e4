// MultipartStore against a real Store: which parts land in the assembly file, and that
// completion renames it (no copy) only when that is safe.
#include "server/s3/s3_multipart.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <string>
#include <thread>

#include "common/checksum.h"
#include "server/s3/s3_crypto.h"
#include "tests/testing/temp_dir.h"
#include "tests/testing/test_store.h"

namespace aisle::api::s3 {
namespace {

class MultipartStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = testing::OpenStore(dir_.Sub("mp"));
    ASSERT_TRUE(store_->CreateBucket("b").ok());
    mpu_ = std::make_unique<MultipartStore>(store_.get());
  }
  static std::string Bytes(size_t n, char seed) {
    std::string s(n, '\0');
    for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>(seed + i * 31 + (i >> 9));
    return s;
  }
  std::string Upload(const std::string& id, int number, const std::string& data) {
    StringBodyReader inner(data);
    HashingReader body(inner, "", "");
    auto etag = mpu_->UploadPart("b", "k", id, number, body);
    EXPECT_TRUE(etag.ok()) << etag.status().ToString();
    EXPECT_EQ(etag.ok() ? *etag : "", ToHex(Md5(data)));
    return etag.ok() ? *etag : "";
  }
  std::string Assembly(const std::string& id) const {
    return store_->mountpaths()[0] + "/.aisle/s3-mpu/" + id + "/assembly";
  }
  static uint64_t Inode(const std::string& path) {
    struct stat st;
    return ::stat(path.c_str(), &st) == 0 ? st.st_ino : 0;
  }
  // Completes; returns the stored object's inode.
  uint64_t Complete(const std::string& id, const std::vector<std::pair<int, std::string>>& parts,
                    const std::string& want) {
    auto done = mpu_->Complete("b", "k", id, parts);
    EXPECT_TRUE(done.ok()) << done.status().ToString();
    if (!done.ok()) return 0;
    auto r = store_->Get("b", "k");
    EXPECT_TRUE(r.ok());
    auto data = storage::ReadObjectData(*r);
    EXPECT_TRUE(data.ok() && *data == want);
    EXPECT_EQ(r->meta.xxhash, Xxh64(want));
    EXPECT_EQ(done->first.xxhash, Xxh64(want));
    struct stat st;
    EXPECT_EQ(::fstat(r->file->get(), &st), 0);
    EXPECT_EQ(static_cast<uint64_t>(st.st_size), r->data_offset + want.size());
    EXPECT_FALSE(storage::PathExists(store_->mountpaths()[0] + "/.aisle/s3-mpu/" + id));
    return st.st_ino;
  }

  testing::TempDir dir_;
  std::unique_ptr<storage::Store> store_;
  std::unique_ptr<MultipartStore> mpu_;
};

TEST_F(MultipartStoreTest, UniformPartsAreCommittedWithoutACopy) {
  auto id = mpu_->Create("b", "k", {{"Content-Type", "a/b"}});
  ASSERT_TRUE(id.ok());
  std::string p1 = Bytes(kMinPartSize, 'a'), p2 = Bytes(kMinPartSize, 'b'), p3 = Bytes(99, 'c');
  std::string e2 = Upload(*id, 2, p2), e3 = Upload(*id, 3, p3), e1 = Upload(*id, 1, p1);
  auto parts = mpu_->ListParts("b", "k", *id);
  ASSERT_TRUE(parts.ok());
  ASSERT_EQ(parts->size(), 3u);
  for (const auto& p : *parts) EXPECT_TRUE(p.assembled) << p.number;
  EXPECT_EQ((*parts)[2].size, 99u);
  // A wrong ETag fails and leaves the upload as it was.
  EXPECT_FALSE(mpu_->Complete("b", "k", *id, {{1, e1}, {2, e3}}).ok());
  uint64_t ino = Inode(Assembly(*id));
  ASSERT_NE(ino, 0u);
  EXPECT_EQ(Complete(*id, {{1, e1}, {2, e2}, {3, "\"" + e3 + "\""}}, p1 + p2 + p3), ino);
  auto r = store_->Get("b", "k");
  ASSERT_TRUE(r.ok());
  std::string want_etag =
      ToHex(Md5(Md5(p1) + Md5(p2) + Md5(p3))) + "-3";  // md5 of the part md5s, -N
  EXPECT_EQ(r->meta.custom, (std::vector<std::pair<std::string, std::string>>{
                                {"Content-Type", "a/b"}, {"ETag", want_etag}}));
}

TEST_F(MultipartStoreTest, OtherLayoutsAreCopiedCorrectly) {
  std::string a = Bytes(kMinPartSize, 'a'), b = Bytes(kMinPartSize + 5, 'b');
  std::string b2 = Bytes(kMinPartSize, 'x'), c = Bytes(kMinPartSize, 'c'), d = Bytes(7, 'd');
  {  // A re-uploaded part goes to a file of its own; the copy takes the newest.
    auto id = mpu_->Create("b", "k", {});
    ASSERT_TRUE(id.ok());
    std::string e1 = Upload(*id, 1, a), e2 = Upload(*id, 2, b2);
    e2 = Upload(*id, 2, c);
    auto parts = mpu_->ListParts("b", "k", *id);
    ASSERT_TRUE(parts.ok());
    ASSERT_EQ(parts->size(), 2u);
    EXPECT_TRUE((*parts)[0].assembled);
    EXPECT_FALSE((*parts)[1].assembled);
    uint64_t ino = Inode(Assembly(*id));
    EXPECT_NE(Complete(*id, {{1, e1}, {2, e2}}, a + c), ino);
  }
  {  // Parts larger than the part size, a gap in the numbers, a part left out after them.
    auto id = mpu_->Create("b", "k", {});
    ASSERT_TRUE(id.ok());
    std::string e1 = Upload(*id, 1, a), e3 = Upload(*id, 3, b), e4 = Upload(*id, 4, c);
    std::string e5 = Upload(*id, 5, d);
    uint64_t ino = Inode(Assembly(*id));
    EXPECT_NE(Complete(*id, {{1, e1}, {3, e3}, {4, e4}}, a + b + c), ino);
  }
  {  // Uniform parts 1..2 and a part 3 that is not listed: kept out of the object.
    auto id = mpu_->Create("b", "k", {});
    ASSERT_TRUE(id.ok());
    std::string e1 = Upload(*id, 1, a), e2 = Upload(*id, 2, c), e3 = Upload(*id, 3, b2);
    uint64_t ino = Inode(Assembly(*id));
    // A completion that fails late (here at the fsync) must leave part 3 intact for a retry.
    store_->SetFaultHook([](std::string_view step) {
      return step == "put.fsync" ? Status::IOError("injected") : Status::OK();
    });
    EXPECT_FALSE(mpu_->Complete("b", "k", *id, {{1, e1}, {2, e2}}).ok());
    store_->SetFaultHook(nullptr);
    EXPECT_EQ(Inode(Assembly(*id)), ino);
    EXPECT_EQ(Complete(*id, {{1, e1}, {2, e2}, {3, e3}}, a + c + b2), ino);
  }
}

TEST_F(MultipartStoreTest, SamePartUploadedTwiceAtOnceKeepsOneOfThem) {
  // A client retrying a part while its first attempt still runs: both are acknowledged, so
  // one of the two (the last to finish) must be the part, never neither.
  for (int i = 0; i < 300; ++i) {
    auto id = mpu_->Create("b", "k", {});
    ASSERT_TRUE(id.ok());
    std::string a = Bytes(4096, 'a'), b = Bytes(4096, 'b');
    std::thread t([&] { Upload(*id, 1, a); });
    Upload(*id, 1, b);
    t.join();
    auto parts = mpu_->ListParts("b", "k", *id);
    ASSERT_TRUE(parts.ok());
    ASSERT_EQ(parts->size(), 1u) << "iteration " << i;
    EXPECT_TRUE((*parts)[0].etag == ToHex(Md5(a)) || (*parts)[0].etag == ToHex(Md5(b)));
    ASSERT_TRUE(mpu_->Abort("b", "k", *id).ok());
  }
}

}  // namespace
}  // namespace aisle::api::s3
