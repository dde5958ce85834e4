// Archive job pieces without a node: brace templates, shard naming, message parsing, registry.
#include "server/jobs/archive_job.h"

#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "server/jobs/job_registry.h"

namespace aisle::jobs {
namespace {

TEST(ExpandTemplateTest, RangesListsAndPadding) {
  auto r = ExpandTemplate("img-{0008..0011}.jpg", 100);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, (std::vector<std::string>{"img-0008.jpg", "img-0009.jpg", "img-0010.jpg",
                                          "img-0011.jpg"}));
  r = ExpandTemplate("{a,b}/x-{0..20..10}", 100);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r,
            (std::vector<std::string>{"a/x-0", "a/x-10", "a/x-20", "b/x-0", "b/x-10", "b/x-20"}));
  EXPECT_EQ(ExpandTemplate("plain", 10)->size(), 1u);
  EXPECT_FALSE(ExpandTemplate("a-{9..1}", 10).ok());
  EXPECT_FALSE(ExpandTemplate("a-{1..", 10).ok());
  EXPECT_FALSE(ExpandTemplate("a-{0..1000}", 10).ok());  // bounded
  EXPECT_FALSE(ExpandTemplate("{0..9}{0..9}", 50).ok());
}

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
  EXPECT_FALSE(ParseArchiveMsg("[1]", "src").ok());
  EXPECT_EQ(ParseArchiveMsg(R"({"archname":"x.tar","aate":true})", "src").status().code(),
            StatusCode::kUnsupported);
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
  Registry& r = Registry::Global();
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

}  // namespace
}  // namespace aisle::jobs
