// The target's ETL handlers (server/etl) driven through TargetApi with in-memory requests on a
// standalone target: /v1/etl lifecycle, inline GET ?etl_name= (range, pipeline, shard member),
// errors, and the offline etl-bck / copy-bck job. Built-in transforms only: no processes.
#include <gtest/gtest.h>

#include <chrono>
#include <cstring>
#include <nlohmann/json.hpp>
#include <optional>
#include <thread>

#include "common/archive/shard_writer.h"
#include "tests/testing/target_api_fixture.h"

namespace aisle::api {
namespace {

using json = nlohmann::json;

// RFC 1321 test vectors, so the expected digests do not come from the code under test.
constexpr const char* kMd5Abc = "900150983cd24fb0d6963f7d28e17f72";
constexpr const char* kMd5A = "0cc175b9c0f1b6a831c399e269772661";
constexpr const char* kMd5Msg = "f96b697d7cb7938d525a2f31aaf161d0";  // "message digest"
constexpr const char* kMd5Empty = "d41d8cd98f00b204e9800998ecf8427e";
constexpr const char* kMd5OfMd5Abc = "ec0405c5aef93e771cd80e0db180b88b";  // md5(kMd5Abc)

class EtlApiTest : public testing::TargetApiFixture {
 protected:
  void SetUp() override {
    BuildApi(/*with_etl=*/true);
    ASSERT_EQ(Do("POST", "/v1/buckets/b", R"({"action":"create-bck"})").status, 200);
  }

  void Put(const std::string& bucket, const std::string& name, const std::string& data) {
    ASSERT_EQ(Do("PUT", "/v1/objects/" + bucket + "/" + name, data).status, 200) << name;
  }

  // Registers a built-in through the API and waits (bounded) until the manager says Running.
  void InitBuiltin(const std::string& name, const std::string& builtin) {
    Response r = Do("PUT", "/v1/etl", R"({"name":")" + name + R"(","builtin":")" + builtin + "\"}");
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.body, "etl-" + name);
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    for (;;) {
      auto s = etl_->Get(name);
      ASSERT_TRUE(s.ok()) << s.status().ToString();
      if (s->stage == etl::Stage::kRunning) return;
      ASSERT_LT(std::chrono::steady_clock::now(), deadline) << name << " never ran";
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }

  // Waits (bounded) for a job to leave Running; returns its final snapshot.
  jobs::JobSnapshot WaitJob(const std::string& id) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    for (;;) {
      auto s = jobs_.Get(id);
      EXPECT_TRUE(s.has_value()) << "no job " << id;
      if (!s || s->state != jobs::JobState::kRunning) return s.value_or(jobs::JobSnapshot{});
      if (std::chrono::steady_clock::now() > deadline) {
        ADD_FAILURE() << "job " << id << " still running";
        return *s;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }

  // Every object name in a bucket, in order (straight from the store).
  std::vector<std::string> Names(const std::string& bucket) {
    auto page = store_->List(bucket, storage::ListOptions{});
    EXPECT_TRUE(page.ok()) << page.status().ToString();
    std::vector<std::string> out;
    if (page.ok())
      for (const auto& e : page->entries) out.push_back(e.name);
    return out;
  }

  // An object's stored bytes (straight from the store: big GETs answer with a file range).
  std::string Body(const std::string& bucket, const std::string& name) {
    auto r = store_->Get(bucket, name);
    EXPECT_TRUE(r.ok()) << bucket << "/" << name << ": " << r.status().ToString();
    if (!r.ok()) return "";
    auto d = storage::ReadObjectData(*r);
    EXPECT_TRUE(d.ok()) << d.status().ToString();
    return d.ok() ? *d : "";
  }
};

void ExpectAistoreError(const Response& r, int status, const std::string& needle) {
  EXPECT_EQ(r.status, status) << r.body;
  auto j = json::parse(r.body, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << r.body;
  for (auto k : {"message", "method", "url_path", "remote_addr", "caller", "node", "status"})
    EXPECT_TRUE(j.contains(k)) << k << " in " << r.body;
  EXPECT_EQ(j["status"], status);
  EXPECT_EQ(j["node"], "t[tTestNode]");
  EXPECT_NE(j["message"].get<std::string>().find(needle), std::string::npos) << r.body;
}

TEST_F(EtlApiTest, InitListsRunningAndShowsItsInitMessage) {
  EXPECT_EQ(Do("GET", "/v1/etl").body, "[]");
  InitBuiltin("md", "md5");
  Response r = Do("GET", "/v1/etl");
  ASSERT_EQ(r.status, 200);
  auto list = json::parse(r.body);
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0]["id"], "md");
  EXPECT_EQ(list[0]["stage"], "Running");
  EXPECT_EQ(list[0]["xaction_id"], "etl-md");
  EXPECT_EQ(list[0]["target_id"], "tTestNode");
  EXPECT_FALSE(list[0].contains("init_msg"));  // only in the per-ETL view

  auto one = json::parse(Do("GET", "/v1/etl/md").body);
  EXPECT_EQ(one["init_msg"], json({{"name", "md"}, {"builtin", "md5"}}));
  EXPECT_EQ(one["stage"], "Running");
  auto health = json::parse(Do("GET", "/v1/etl/md/health").body);
  EXPECT_EQ(health[0]["health_status"], "Running");

  // A second init of the same name conflicts; the first stays.
  EXPECT_EQ(Do("PUT", "/v1/etl", R"({"name":"md","builtin":"sha256"})").status, 409);
  EXPECT_EQ(json::parse(Do("GET", "/v1/etl").body).size(), 1u);
}

TEST_F(EtlApiTest, BadInitMessagesAre400AndRegisterNothing) {
  ExpectAistoreError(Do("PUT", "/v1/etl", "{not json"), 400, "");
  ExpectAistoreError(Do("PUT", "/v1/etl", R"({"name":"Bad_Name","builtin":"md5"})"), 400, "");
  // Unknown built-in: the start fails in the background and Init reports why.
  ExpectAistoreError(Do("PUT", "/v1/etl", R"({"name":"nob","builtin":"no-such"})"), 400, "no-such");
  EXPECT_EQ(Do("GET", "/v1/etl").body, "[]");
  EXPECT_TRUE(etl_->Desired().empty());
}

TEST_F(EtlApiTest, InlineGetReturnsTransformedBytes) {
  InitBuiltin("md", "md5");
  Put("b", "o", "abc");
  Response r = Do("GET", "/v1/objects/b/o?etl_name=md");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body, kMd5Abc);
  EXPECT_EQ(r.headers.Get("Content-Type"), "application/octet-stream");
  EXPECT_EQ(Body("b", "o"), "abc");  // the stored object is untouched

  // HEAD reports the transformed length.
  r = Do("HEAD", "/v1/objects/b/o?etl_name=md");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.head_length, std::optional<uint64_t>(32));
  EXPECT_TRUE(r.body.empty());

  // A pipeline: etl_name first, then etl_pipeline in order.
  InitBuiltin("ident", "identity");
  r = Do("GET", "/v1/objects/b/o?etl_name=ident&etl_pipeline=md,md");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body, kMd5OfMd5Abc);
  r = Do("GET", "/v1/objects/b/o?etl_pipeline=ident");
  EXPECT_EQ(r.body, "abc");

  // Accounting reaches the per-ETL status.
  auto s = etl_->Get("ident");
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->obj_count, 2u);
}

TEST_F(EtlApiTest, RangeAppliesToTheTransformedBytes) {
  InitBuiltin("md", "md5");
  Put("b", "o", "abc");
  Response r = Do("GET", "/v1/objects/b/o?etl_name=md", "", {{"Range", "bytes=4-11"}});
  EXPECT_EQ(r.status, 206) << r.body;
  EXPECT_EQ(r.headers.Get("Content-Range"), "bytes 4-11/32");
  EXPECT_EQ(r.body, std::string(kMd5Abc).substr(4, 8));
  r = Do("GET", "/v1/objects/b/o?etl_name=md", "", {{"Range", "bytes=-2"}});
  EXPECT_EQ(r.status, 206);
  EXPECT_EQ(r.body, "72");
  // Past the 3-byte object but inside the 32-byte result: satisfiable.
  r = Do("GET", "/v1/objects/b/o?etl_name=md", "", {{"Range", "bytes=30-"}});
  EXPECT_EQ(r.status, 206);
  EXPECT_EQ(r.body, "72");
  r = Do("GET", "/v1/objects/b/o?etl_name=md", "", {{"Range", "bytes=32-"}});
  EXPECT_EQ(r.status, 416);
  EXPECT_EQ(r.headers.Get("Content-Range"), "bytes */32");
}

std::string TarOf(const std::vector<std::pair<std::string, std::string>>& members) {
  std::string out;
  auto w = archive::ShardWriter::Open(archive::Format::kTar, [&](std::string_view b) {
    out.append(b);
    return Status::OK();
  });
  EXPECT_TRUE(w.ok()) << w.status().ToString();
  for (const auto& [name, data] : members) {
    size_t pos = 0;
    Status st =
        (*w)->Add(name, data.size(), 0644, 1700000000, [&](char* buf, size_t n) -> Result<size_t> {
          size_t k = std::min(n, data.size() - pos);
          std::memcpy(buf, data.data() + pos, k);
          pos += k;
          return k;
        });
    EXPECT_TRUE(st.ok()) << st.ToString();
  }
  EXPECT_TRUE((*w)->Finish().ok());
  return out;
}

TEST_F(EtlApiTest, ShardMemberThroughArchpath) {
  InitBuiltin("md", "md5");
  Put("b", "s.tar", TarOf({{"x/a.txt", "a"}, {"x/m.txt", "message digest"}, {"empty", ""}}));
  EXPECT_EQ(Do("GET", "/v1/objects/b/s.tar?etl_name=md&archpath=x/a.txt").body, kMd5A);
  EXPECT_EQ(Do("GET", "/v1/objects/b/s.tar?etl_name=md&archpath=x%2Fm.txt").body, kMd5Msg);
  EXPECT_EQ(Do("GET", "/v1/objects/b/s.tar?etl_name=md&archpath=empty").body, kMd5Empty);
  Response r =
      Do("GET", "/v1/objects/b/s.tar?etl_name=md&archpath=x/m.txt", "", {{"Range", "bytes=0-3"}});
  EXPECT_EQ(r.status, 206);
  EXPECT_EQ(r.body, "f96b");
  EXPECT_EQ(Do("GET", "/v1/objects/b/s.tar?etl_name=md&archpath=x/nope").status, 404);
}

TEST_F(EtlApiTest, ErrorsHaveAistoreShape) {
  Put("b", "o", "abc");
  ExpectAistoreError(Do("GET", "/v1/objects/b/o?etl_name=nope"), 404, "nope");
  ExpectAistoreError(Do("GET", "/v1/etl/nope"), 404, "etl job nope does not exist");
  ExpectAistoreError(Do("DELETE", "/v1/etl/nope"), 404, "nope");
  InitBuiltin("md", "md5");
  ExpectAistoreError(Do("GET", "/v1/objects/b/missing?etl_name=md"), 404, "b/missing");
  ExpectAistoreError(Do("GET", "/v1/objects/nob/o?etl_name=md"), 404, "ais://nob");
  // md5 takes no arguments: a per-request one is refused, naming the ETL.
  ExpectAistoreError(Do("GET", "/v1/objects/b/o?etl_name=md&etl_args=k%3Dv"), 400, "etl md");
  EXPECT_EQ(Do("PUT", "/v1/objects/b/o?etl_name=md", "x").status, 405);
  EXPECT_EQ(Body("b", "o"), "abc");
}

TEST_F(EtlApiTest, StopStartAndDelete) {
  InitBuiltin("md", "md5");
  Put("b", "o", "abc");
  ASSERT_EQ(Do("POST", "/v1/etl/md/stop").status, 200);
  EXPECT_EQ(json::parse(Do("GET", "/v1/etl").body)[0]["stage"], "Stopped");
  ExpectAistoreError(Do("GET", "/v1/objects/b/o?etl_name=md"), 503, "stopped");
  ASSERT_EQ(Do("POST", "/v1/etl/md/start").status, 200);
  EXPECT_EQ(Do("GET", "/v1/objects/b/o?etl_name=md").body, kMd5Abc);

  ASSERT_EQ(Do("DELETE", "/v1/etl/md").status, 200);
  EXPECT_EQ(Do("GET", "/v1/etl").body, "[]");
  ExpectAistoreError(Do("GET", "/v1/objects/b/o?etl_name=md"), 404, "etl job md does not exist");
  // The name is free again.
  InitBuiltin("md", "sha256");
}

TEST_F(EtlApiTest, EtlBucketJobTransformsRenamesAndFilters) {
  InitBuiltin("md", "md5");
  Put("b", "img/a.txt", "a");
  Put("b", "img/sub/m.txt", "message digest");
  Put("b", "img/c.bin", "abc");
  Put("b", "img.d/e", "");       // a dot in a directory is no extension
  Put("b", "other/z.txt", "a");  // outside the prefix
  Response r = Do("POST", "/v1/buckets/b?bck_to=ais%2F%40%23%2Fdst%2F",
                  R"({"action":"etl-bck","value":{"id":"md","prefix":"img","prepend":"out/",
                      "ext":{".txt":"md5"},"num-workers":3}})");
  ASSERT_EQ(r.status, 200) << r.body;
  ASSERT_FALSE(r.body.empty());
  jobs::JobSnapshot s = WaitJob(r.body);
  EXPECT_EQ(s.state, jobs::JobState::kFinished) << s.error;
  EXPECT_EQ(s.kind, "etl-bck");
  EXPECT_EQ(s.bucket, "b");
  EXPECT_EQ(s.dst_bucket, "dst");
  EXPECT_EQ(s.total_objects, 4u);
  EXPECT_EQ(s.out_objects, 4u);
  EXPECT_EQ(s.out_bytes, 4u * 32);

  EXPECT_EQ(Names("dst"), (std::vector<std::string>{"out/img.d/e", "out/img/a.md5", "out/img/c.bin",
                                                    "out/img/sub/m.md5"}));
  EXPECT_EQ(Body("dst", "out/img/a.md5"), kMd5A);
  EXPECT_EQ(Body("dst", "out/img/sub/m.md5"), kMd5Msg);
  EXPECT_EQ(Body("dst", "out/img/c.bin"), kMd5Abc);
  EXPECT_EQ(Body("dst", "out/img.d/e"), kMd5Empty);
  EXPECT_EQ(Names("b").size(), 5u);  // the source is untouched
  EXPECT_EQ(Body("b", "img/c.bin"), "abc");
}

TEST_F(EtlApiTest, EtlBucketJobDryRunWritesNothing) {
  InitBuiltin("md", "md5");
  Put("b", "o1", "abc");
  Put("b", "o2", "a");
  Response r = Do("POST", "/v1/buckets/b?bck_to=dry",
                  R"({"action":"etl-bck","value":{"id":"md","dry_run":true}})");
  ASSERT_EQ(r.status, 200) << r.body;
  jobs::JobSnapshot s = WaitJob(r.body);
  EXPECT_EQ(s.state, jobs::JobState::kFinished) << s.error;
  EXPECT_EQ(s.objects, 2u);
  EXPECT_EQ(s.bytes, 4u);
  EXPECT_TRUE(Names("dry").empty());
}

TEST_F(EtlApiTest, CopyBucketJobCopiesEveryObject) {
  Put("b", "a/1", "one");
  Put("b", "a/2.txt", std::string(100000, 'z'));
  Put("b", "b", "");
  // copy-bck runs no transform even when the message names one (and needs no ETL manager entry).
  Response r = Do("POST", "/v1/buckets/b?bck_to=ais://cp",
                  R"({"action":"copy-bck","value":{"id":"not-registered"}})");
  ASSERT_EQ(r.status, 200) << r.body;
  jobs::JobSnapshot s = WaitJob(r.body);
  EXPECT_EQ(s.state, jobs::JobState::kFinished) << s.error;
  EXPECT_EQ(s.kind, "copy-bck");
  EXPECT_EQ(s.out_objects, 3u);
  EXPECT_EQ(Names("cp"), (std::vector<std::string>{"a/1", "a/2.txt", "b"}));
  EXPECT_EQ(Body("cp", "a/1"), "one");
  EXPECT_TRUE(Body("cp", "a/2.txt") == std::string(100000, 'z'));  // no 100 KB diff dump
  EXPECT_EQ(Body("cp", "b"), "");

  // Into the same bucket only with a rename; the job id can be given by the caller.
  EXPECT_EQ(Do("POST", "/v1/buckets/cp?bck_to=cp", R"({"action":"copy-bck","value":{}})").status,
            400);
  r = Do("POST", "/v1/buckets/cp?bck_to=cp&job_id=my-copy",
         R"({"action":"copy-bck","value":{"prefix":"a/","prepend":"bak/"}})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body, "my-copy");
  EXPECT_EQ(WaitJob("my-copy").state, jobs::JobState::kFinished);
  EXPECT_EQ(Names("cp"),
            (std::vector<std::string>{"a/1", "a/2.txt", "b", "bak/a/1", "bak/a/2.txt"}));
}

TEST_F(EtlApiTest, BucketJobRefusals) {
  Put("b", "o", "abc");
  auto post = [&](const std::string& target, const std::string& body) {
    return Do("POST", target, body);
  };
  // etl-bck without the ETL's name, or naming an unknown one.
  ExpectAistoreError(post("/v1/buckets/b?bck_to=d", R"({"action":"etl-bck","value":{}})"), 400,
                     "\"id\"");
  ExpectAistoreError(
      post("/v1/buckets/b?bck_to=d", R"({"action":"etl-bck","value":{"id":"nope"}})"), 404,
      "etl job nope does not exist");
  ExpectAistoreError(post("/v1/buckets/b", R"({"action":"copy-bck","value":{}})"), 400,
                     "destination");
  ExpectAistoreError(post("/v1/buckets/nob?bck_to=d", R"({"action":"copy-bck","value":{}})"), 404,
                     "ais://nob");
  ExpectAistoreError(
      post("/v1/buckets/b?bck_to=d", R"({"action":"copy-bck","value":{"ext":{"a":1}}})"), 400,
      "ext");
  ExpectAistoreError(post("/v1/buckets/b?bck_to=d", R"({"action":"copy-bck","value":[1]})"), 400,
                     "TCBMsg");
  // No refused request started a job or created the destination.
  EXPECT_TRUE(jobs_.List("", false).empty());
  EXPECT_FALSE(store_->HeadBucket("d").ok());
}

}  // namespace
}  // namespace aisle::api
