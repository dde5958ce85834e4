// Validated GETs and the scrub job on a standalone target (no copies: nothing to repair from).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <thread>

#include "server/storage/file_util.h"
#include "tests/testing/target_api_fixture.h"

namespace aisle::api {
namespace {

class IntegrityApiTest : public testing::TargetApiFixture {
 protected:
  void Build(bool validate) {
    BuildApi(false, validate);
    ASSERT_TRUE(store_->CreateBucket("b").ok());
  }
  void Put(const std::string& name, size_t n) {
    std::string data(n, 'x');
    for (size_t i = 0; i < n; ++i) data[i] = static_cast<char>(i * 13);
    ASSERT_EQ(Do("PUT", "/v1/objects/b/" + name, data).status, 200);
  }
  void Flip(const std::string& name) {
    auto r = store_->Get("b", name);
    ASSERT_TRUE(r.ok());
    auto path = store_->ObjectFile("b", name);
    auto fh = storage::OpenFile(*path, O_RDWR);
    ASSERT_TRUE(fh.ok());
    char c = 0;
    off_t at = static_cast<off_t>(r->data_offset + r->meta.size / 2);
    ASSERT_EQ(::pread(fh->get(), &c, 1, at), 1);
    c ^= 1;
    ASSERT_EQ(::pwrite(fh->get(), &c, 1, at), 1);
  }
  jobs::JobSnapshot WaitJob(const std::string& id) {
    for (int i = 0; i < 500; ++i) {
      auto s = jobs_.Get(id);
      if (s && s->state != jobs::JobState::kRunning) return *s;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    ADD_FAILURE() << "job " << id << " did not end";
    return {};
  }
};

TEST_F(IntegrityApiTest, ValidatedGetOfACorruptObjectIs500NamingObjectAndNode) {
  Build(true);
  for (size_t n : {size_t{1000}, size_t{1} << 20}) {
    std::string name = "o" + std::to_string(n);
    Put(name, n);
    EXPECT_EQ(Do("GET", "/v1/objects/b/" + name).status, 200);
    Flip(name);
    Response r = Do("GET", "/v1/objects/b/" + name);
    EXPECT_EQ(r.status, 500);
    EXPECT_FALSE(r.file.has_value());  // never the bytes
    auto j = nlohmann::json::parse(r.body);
    std::string msg = j["message"];
    EXPECT_NE(msg.find("BAD DATA CHECKSUM: ais://b/" + name), std::string::npos) << msg;
    EXPECT_NE(msg.find("t[tTestNode]"), std::string::npos) << msg;
    EXPECT_EQ(j["node"], "t[tTestNode]");
    EXPECT_EQ(j["status"], 500);
    // Quarantined: gone, not served later either.
    EXPECT_EQ(Do("GET", "/v1/objects/b/" + name).status, 404);
  }
}

TEST_F(IntegrityApiTest, WithoutValidationAndForRangesTheBytesAreServed) {
  Build(false);
  Put("o", 100000);
  Flip("o");
  Response r = Do("GET", "/v1/objects/b/o");
  EXPECT_EQ(r.status, 200);
  EXPECT_TRUE(r.file.has_value());
  BuildApi(false, true);
  r = Do("GET", "/v1/objects/b/o", "", {{"Range", "bytes=0-99"}});
  EXPECT_EQ(r.status, 206);  // a range read is not verified (docs/API.md)
}

TEST_F(IntegrityApiTest, ScrubFindsAndQuarantinesCorruptObjects) {
  Build(false);
  for (int i = 0; i < 20; ++i) Put("s" + std::to_string(i), 5000 + i * 1000);
  Flip("s3");
  Flip("s17");
  Response r =
      Do("PUT", "/v1/cluster", R"({"action":"start","value":{"kind":"scrub","bck":{"name":"b"}}})");
  ASSERT_EQ(r.status, 200) << r.body;
  auto s = WaitJob(r.body);
  EXPECT_EQ(s.kind, "scrub");
  EXPECT_EQ(s.ext["checked"], 20u);
  EXPECT_EQ(s.ext["corrupt"], 2u);
  EXPECT_EQ(s.ext["repaired"], 0u);
  EXPECT_EQ(s.objects, 20u);
  EXPECT_EQ(store_->ObjectCount(), 18u);
  EXPECT_NE(s.error.find("no copy to repair it from"), std::string::npos) << s.error;
}

TEST_F(IntegrityApiTest, ScrubIsRateBoundAndAborts) {
  Build(false);
  for (int i = 0; i < 4; ++i) Put("r" + std::to_string(i), 100000);
  auto t0 = std::chrono::steady_clock::now();
  Response r =
      Do("PUT", "/v1/cluster", R"({"action":"start","value":{"kind":"scrub","rate":1000000}})");
  ASSERT_EQ(r.status, 200) << r.body;
  auto s = WaitJob(r.body);
  EXPECT_EQ(s.state, jobs::JobState::kFinished);
  EXPECT_GE(std::chrono::steady_clock::now() - t0, std::chrono::milliseconds(350));
  r = Do("PUT", "/v1/cluster", R"({"action":"start","value":{"kind":"scrub","rate":1000}})");
  ASSERT_EQ(r.status, 200);
  std::string id = r.body;
  EXPECT_EQ(Do("PUT", "/v1/cluster", R"({"action":"stop","value":{"ID":")" + id + R"("}})").status,
            200);
  EXPECT_EQ(WaitJob(id).state, jobs::JobState::kAborted);
}

TEST_F(IntegrityApiTest, BadStartRequestsAre4xx) {
  Build(false);
  EXPECT_EQ(Do("PUT", "/v1/cluster", R"({"action":"start","value":{"kind":"nope"}})").status, 400);
  EXPECT_EQ(Do("PUT", "/v1/cluster",
               R"({"action":"start","value":{"kind":"scrub","bck":{"name":"missing"}}})")
                .status,
            404);
  EXPECT_EQ(
      Do("PUT", "/v1/cluster", R"({"action":"start","value":{"kind":"scrub","rate":-1}})").status,
      400);
}

}  // namespace
}  // namespace aisle::api
