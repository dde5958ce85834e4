// What a target's handlers record (server/api/op_metrics) and the /metrics endpoint in front
// of a node's API, driven with in-memory requests.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "server/api/metrics_endpoint.h"
#include "server/api/op_metrics.h"
#include "server/metrics/registry.h"
#include "tests/testing/target_api_fixture.h"

namespace aisle::api {
namespace {

class OpMetricsTest : public testing::TargetApiFixture {
 protected:
  void SetUp() override {
    BuildApi();
    ASSERT_EQ(Do("POST", "/v1/buckets/b", R"({"action":"create-bck"})").status, 200);
  }
};

TEST_F(OpMetricsTest, CountsTimesAndBytesOfObjectRequests) {
  const std::string data(10240, 'x');
  ASSERT_EQ(Do("PUT", "/v1/objects/b/o1", data).status, 200);
  ASSERT_EQ(Do("PUT", "/v1/objects/b/o2", "abc").status, 200);
  ASSERT_EQ(Do("GET", "/v1/objects/b/o1").status, 200);
  ASSERT_EQ(Do("GET", "/v1/objects/b/o1", "", {{"Range", "bytes=0-99"}}).status, 206);
  ASSERT_EQ(Do("GET", "/v1/objects/b/missing").status, 404);
  ASSERT_EQ(Do("HEAD", "/v1/objects/b/o2").status, 200);
  ASSERT_EQ(Do("DELETE", "/v1/objects/b/o2").status, 200);
  ASSERT_EQ(Do("DELETE", "/v1/objects/b/o2").status, 404);
  ASSERT_EQ(Do("GET", "/v1/buckets/b", R"({"action":"list","value":{}})").status, 200);

  const metrics::TargetMetrics& m = metrics_;
  EXPECT_EQ(m.put.count.Value(), 2u);
  EXPECT_EQ(m.put.bytes.Value(), 10240u + 3);
  EXPECT_EQ(m.put.errors.Value(), 0u);
  EXPECT_GT(m.put.ns_total.Value(), 0u);
  EXPECT_EQ(m.get.count.Value(), 2u);
  EXPECT_EQ(m.get.bytes.Value(), 10240u + 100);
  EXPECT_EQ(m.get.errors.Value(), 1u);
  EXPECT_GT(m.get.ns_total.Value(), 0u);
  EXPECT_EQ(m.head.count.Value(), 1u);
  EXPECT_EQ(m.del.count.Value(), 1u);
  EXPECT_EQ(m.del.errors.Value(), 1u);
  EXPECT_EQ(m.lst.Value(), 1u);
  EXPECT_EQ(m.shard_member_reads.Value(), 0u);
}

// A chunked PUT (no declared length) still counts the bytes the handler stored.
TEST_F(OpMetricsTest, PutBytesAreWhatTheHandlerRead) {
  class Chunked : public BodyReader {
   public:
    Result<size_t> Read(char* buf, size_t n) override {
      size_t k = std::min(n, left_);
      std::fill(buf, buf + k, 'z');
      left_ -= k;
      return k;
    }
    std::optional<uint64_t> DeclaredLength() const override { return std::nullopt; }

   private:
    size_t left_ = 70000;
  };
  Request req;
  req.method = "PUT";
  req.target = req.path = "/v1/objects/b/chunked";
  Chunked body;
  req.body = &body;
  req.has_body = true;
  Response resp;
  api_->Handle(req, resp);
  ASSERT_EQ(resp.status, 200) << resp.body;
  EXPECT_EQ(req.body, &body);  // handed back to the transport
  EXPECT_EQ(metrics_.put.bytes.Value(), 70000u);
}

class EchoApi : public Handler {
 public:
  void Handle(Request&, Response& resp) override { resp.body = "inner"; }
};

TEST(MetricsEndpointTest, ServesTextFormatAndRefusesOtherMethods) {
  metrics::Registry reg(metrics::Labels{{"node_id", "t1"}});
  metrics::RequestCounters reqs;
  metrics::RegisterRequests(reg, reqs);
  EchoApi inner;
  NodeContext node{"t1", "target", "127.0.0.1", 1, 0};
  MetricsEndpoint ep(&inner, &reg, &reqs, node,
                     [](const Request& r) { return r.headers.Get("Host") == "bucket.s3.local"; });

  Response get = testing::Call(ep, "GET", "/metrics");
  EXPECT_EQ(get.status, 200);
  EXPECT_EQ(get.headers.Get("Content-Type").rfind("text/plain; version=0.0.4", 0), 0u);
  EXPECT_NE(get.body.find("aisle_http_requests_total{node_id=\"t1\",method=\"GET\"} 1\n"),
            std::string::npos)
      << get.body;

  Response head = testing::Call(ep, "HEAD", "/metrics");
  EXPECT_EQ(head.status, 200);
  EXPECT_TRUE(head.body.empty());
  EXPECT_GT(head.head_length.value_or(0), 0u);

  for (const char* method : {"PUT", "POST", "DELETE", "PATCH"}) {
    Response r = testing::Call(ep, method, "/metrics", "x");
    EXPECT_EQ(r.status, 405) << method;
    auto j = nlohmann::json::parse(r.body);
    EXPECT_EQ(j["status"], 405);
    EXPECT_EQ(j["node"], "t[t1]");
  }
  EXPECT_EQ(testing::Call(ep, "GET", "/v1/health").body, "inner");
  EXPECT_EQ(testing::Call(ep, "GET", "/metrics/").body, "inner");
  // A virtual-host S3 bucket's object named "metrics" is the S3 API's.
  EXPECT_EQ(testing::Call(ep, "GET", "/metrics", "", {{"Host", "bucket.s3.local"}}).body, "inner");
  // Every request was counted, the scrapes included.
  EXPECT_EQ(reqs.Of(0).Value(), 4u);  // GET
  EXPECT_EQ(reqs.Of(1).Value(), 1u);  // HEAD
}

}  // namespace
}  // namespace aisle::api
