// Archive job pieces without a node: shard naming, message parsing, registry (the template
// parser is common/name_template, tested in tests/unit/common/name_template_test.cc).
#include "server/shards/archive_job.h"

#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <nlohmann/json.hpp>
#include <thread>

#include "common/archive/member_reader.h"
#include "common/archive/source.h"
#include "server/jobs/job_registry.h"
#include "server/shards/shard_append.h"
#include "server/shards/shard_cache.h"
#include "tests/testing/temp_dir.h"
#include "tests/testing/test_store.h"

namespace aisle::shards {
namespace {

using jobs::Job;
using jobs::JobSnapshot;
using jobs::JobState;
using jobs::Registry;

TEST(ArchiveMsgTest, ParsesAisMessageAndRejectsBadOnes) {
  auto s = ParseArchiveMsg(
      R"({"objnames":["a","b"],"archname":"x.tar.gz","isbn":true,"coer":false,
          "tobck":{"name":"dst","provider":"ais","namespace":null},"max_shard_size":"1000"})",
      "src");
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(s->dst_bucket, "dst");
  EXPECT_EQ(s->format, archive::Format::kTgz);
  EXPECT_TRUE(s->include_src_bucket);
  EXPECT_EQ(s->max_shard_size, 1000u);
  EXPECT_EQ(ShardName(*s, 3), "x-0003.tar.gz");
  EXPECT_FALSE(ParseArchiveMsg(R"({"archname":"x.rar"})", "src").ok());
  EXPECT_FALSE(ParseArchiveMsg(R"({"objnames":["a"]})", "src").ok());
  EXPECT_FALSE(
      ParseArchiveMsg(R"({"archname":"x.tar","template":"{1..","objnames":[]})", "s").ok());
  EXPECT_TRUE(ParseArchiveMsg(R"({"archname":"x.tar","template":"{a,b}/{0..9}"})", "s").ok());
  EXPECT_FALSE(ParseArchiveMsg("[1]", "src").ok());
  auto aate = ParseArchiveMsg(R"({"archname":"x.tar","AATE":true})", "src");
  ASSERT_TRUE(aate.ok()) << aate.status().ToString();
  EXPECT_TRUE(aate->append_if_exists);
  EXPECT_FALSE(ParseArchiveMsg(R"({"archname":"x.tar"})", "src")->append_if_exists);
  // aate names one shard: with a split it is refused.
  EXPECT_EQ(ParseArchiveMsg(R"({"archname":"x.tar","aate":true,"max_shard_size":100})", "src")
                .status()
                .code(),
            StatusCode::kInvalidArgument);
}

JobSnapshot WaitEnd(Registry& r, const std::string& id) {
  for (int i = 0; i < 500; ++i) {
    auto s = r.Get(id);
    if (s && s->state != JobState::kRunning) return *s;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ADD_FAILURE() << "job did not end";
  return {};
}

TEST(JobRegistryTest, StatesProgressAndAbort) {
  Registry r;
  std::string ok = r.Start("test", "b", "b", [](Job& j) {
    j.AddInput(3, 300);
    return Status::OK();
  });
  JobSnapshot s = WaitEnd(r, ok);
  EXPECT_EQ(s.state, JobState::kFinished);
  EXPECT_EQ(s.objects, 3u);
  EXPECT_GT(s.end_ns, 0);
  std::string bad = r.Start("test", "b", "b", [](Job&) { return Status::NotFound("gone"); });
  s = WaitEnd(r, bad);
  EXPECT_EQ(s.state, JobState::kFailed);
  EXPECT_EQ(s.error, "gone");
  std::string slow = r.Start("test", "b", "b", [](Job& j) {
    while (!j.aborted()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    return Status::OK();
  });
  EXPECT_EQ(r.Get(slow)->state, JobState::kRunning);
  EXPECT_EQ(r.List("test", true).size(), 1u);
  ASSERT_TRUE(r.Abort(slow).ok());
  EXPECT_EQ(WaitEnd(r, slow).state, JobState::kAborted);
  EXPECT_TRUE(r.Abort("nosuch").IsNotFound());
  EXPECT_EQ(r.List("test", false).front().id, slow);  // newest first
}

// aate on a standalone node: create with one job, append with a second, read back.
class AppendJobTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = testing::OpenStore(dir_.Sub("mp"));
    shards_ = std::make_unique<api::ShardCache>(store_.get());
    ASSERT_TRUE(store_->CreateBucket("src").ok());
    ASSERT_TRUE(store_->CreateBucket("dst").ok());
  }
  void PutObj(const std::string& name, const std::string& data) {
    StringBodyReader r(data);
    ASSERT_TRUE(store_->Put("src", name, r, storage::PutOptions{}).ok());
    want_[name] = data;
  }
  // Runs an archive job of `names` into dst/archname; returns its end snapshot.
  JobSnapshot Run(const std::string& archname, const std::vector<std::string>& names, bool aate) {
    nlohmann::json v = {{"archname", archname}, {"tobck", {{"name", "dst"}}}, {"aate", aate}};
    v["objnames"] = names;
    auto spec = ParseArchiveMsg(v.dump(), "src");
    EXPECT_TRUE(spec.ok()) << spec.status().ToString();
    storage::Store* store = store_.get();
    ArchiveIo io = api::StandaloneArchiveIo(shards_.get(), *spec);
    Registry& reg = jobs_;
    std::string id = reg.Start("archive", "src", "dst", [store, io, s = *spec](Job& job) {
      return RunArchiveJob(store, s, io, job);
    });
    return WaitEnd(reg, id);
  }
  // Every member of dst/archname, by name (the visible one for a shadowed name).
  std::map<std::string, std::string> Members(const std::string& archname) {
    std::map<std::string, std::string> out;
    auto sh = shards_->Open("dst", archname, archive::Format::kUnknown);
    EXPECT_TRUE(sh.ok()) << sh.status().ToString();
    if (!sh.ok()) return out;
    archive::FdSource src(sh->obj.file->get(), sh->obj.data_offset, sh->obj.meta.size);
    for (const auto& m : sh->index->members) {
      if (sh->index->Find(m.name) != &m) continue;
      std::string data;
      Status st = archive::ReadMember(
          src, *sh->index, m, 0, m.size,
          [&](std::string_view b) {
            data.append(b);
            return Status::OK();
          },
          archive::Limits{});
      EXPECT_TRUE(st.ok()) << st.ToString();
      out[m.name] = data;
    }
    return out;
  }
  void CheckAppend(const std::string& archname, const std::string& mode) {
    PutObj("a", std::string(1000, 'a'));
    PutObj("b", "bee");
    JobSnapshot s = Run(archname, {"a", "b"}, false);
    ASSERT_EQ(s.state, JobState::kFinished) << s.error;
    std::string c(70000, 'c');  // larger than one read buffer; not compressible (zip limits)
    uint32_t x = 12345;
    for (char& ch : c) ch = static_cast<char>((x = x * 1103515245 + 12345) >> 24);
    PutObj("c", c);
    PutObj("d", "");
    PutObj("a", "new a");  // same name: the new member wins
    s = Run(archname, {"c", "d", "a"}, true);
    ASSERT_EQ(s.state, JobState::kFinished) << s.error;
    EXPECT_EQ(s.ext["shards-" + mode], 1u);
    EXPECT_EQ(s.objects, 3u);
    EXPECT_EQ(Members(archname), want_);
  }

  testing::TempDir dir_;
  std::unique_ptr<storage::Store> store_;
  std::unique_ptr<api::ShardCache> shards_;
  Registry jobs_;  // destroyed first: running jobs end before the cache and store go
  std::map<std::string, std::string> want_;
};

TEST_F(AppendJobTest, TarAppendsInPlace) { CheckAppend("s.tar", "inplace"); }

TEST_F(AppendJobTest, ZipRewrites) { CheckAppend("s.zip", "rewrite"); }

TEST_F(AppendJobTest, TgzRewrites) { CheckAppend("s.tgz", "rewrite"); }

TEST_F(AppendJobTest, CreatesWhenMissing) {
  PutObj("x", "ex");
  PutObj("y", "why");
  JobSnapshot s = Run("new.tar", {"x", "y"}, true);
  ASSERT_EQ(s.state, JobState::kFinished) << s.error;
  EXPECT_EQ(s.ext["shards-create"], 1u);
  EXPECT_EQ(Members("new.tar"), want_);
}

TEST_F(AppendJobTest, NeedsAnAppender) {
  PutObj("x", "ex");
  auto spec = ParseArchiveMsg(R"({"archname":"s.tar","tobck":{"name":"dst"},"aate":true})", "src");
  ASSERT_TRUE(spec.ok());
  storage::Store* store = store_.get();
  Registry& reg = jobs_;
  std::string id = reg.Start("archive", "src", "dst", [store, s = *spec](Job& job) {
    return RunArchiveJob(store, s, job);  // LocalArchiveIo has no append_shard
  });
  EXPECT_EQ(WaitEnd(reg, id).state, JobState::kFailed);
}

}  // namespace
}  // namespace aisle::shards
