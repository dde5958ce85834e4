// ProxyApi in memory: a ProxyCluster whose maps the test installs, node-to-node calls answered
// by a FakePeerClient. Object requests are redirected to the HRW owner, bucket changes on a
// non-primary go to the primary, listings merge the targets' pages, errors have AIStore's shape.
#include "server/native/proxy_api.h"

#include <gtest/gtest.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <regex>
#include <string>

#include "tests/testing/api_request.h"
#include "tests/testing/fake_peer_client.h"
#include "tests/testing/test_smap.h"

namespace aisle::api {
namespace {

using nlohmann::json;
using testing::Call;

constexpr const char* kPrimaryUrl = "http://127.0.0.1:8001";  // "pPrimary" in the test map

class ProxyApiTest : public ::testing::Test {
 protected:
  // A proxy `self` over targets t1..t4 (ports 9001..9004) and bucket "bkt"; the primary when
  // `primary` is set, else a proxy that forwards to pPrimary.
  void Start(const std::string& self, bool primary, bool ready = true) {
    peers_ = std::make_unique<testing::FakePeerClient>(self);
    cluster::ProxyCluster::Options o;
    o.self = testing::MakeNode(self, "proxy", primary ? 8001 : 8002);
    if (!primary) o.primary_url = kPrimaryUrl;
    cluster_ = std::make_unique<cluster::ProxyCluster>(o, peers_.get());
    if (ready) {
      cluster::Bmd bmd;
      bmd.version = 1;
      bmd.buckets["bkt"] = cluster::BucketProps{};
      cluster_->InstallMapsForTest(
          testing::MakeSmap({"t1", "t2", "t3", "t4"}, {"pPrimary", "pOther"}), bmd);
    }
    api_ = std::make_unique<ProxyApi>(NodeContext{self, "proxy", "127.0.0.1", 8001, 0},
                                      cluster_.get());
  }
  Response Do(const std::string& method, const std::string& target, const std::string& body = "") {
    return Call(*api_, method, target, body);
  }
  // The AIStore error body: every field present, the status repeated, this node named.
  static void ExpectAisError(const Response& r, int status, const std::string& node) {
    EXPECT_EQ(r.status, status) << r.body;
    json j = json::parse(r.body, nullptr, false);
    ASSERT_FALSE(j.is_discarded()) << r.body;
    for (auto k : {"message", "method", "url_path", "remote_addr", "caller", "node", "status"})
      EXPECT_TRUE(j.contains(k)) << k << " in " << r.body;
    EXPECT_EQ(j.value("status", 0), status);
    EXPECT_EQ(j.value("node", ""), "p[" + node + "]");
  }

  std::unique_ptr<testing::FakePeerClient> peers_;
  std::unique_ptr<cluster::ProxyCluster> cluster_;
  std::unique_ptr<ProxyApi> api_;
};

TEST_F(ProxyApiTest, GetIsRedirectedPermanentlyToTheHrwOwner) {
  Start("pPrimary", true);
  // bkt/obj ranks t4 first (tests/unit/cluster/placement_test.cc); t4 listens on 9004.
  Response r = Do("GET", "/v1/objects/bkt/obj");
  EXPECT_EQ(r.status, 301);
  EXPECT_TRUE(std::regex_match(
      r.headers.Get("Location"),
      std::regex(R"(http://127\.0\.0\.1:9004/v1/objects/bkt/obj\?pid=pPrimary&utm=\d+)")))
      << r.headers.Get("Location");
  EXPECT_TRUE(r.body.empty());
  EXPECT_TRUE(peers_->requests().empty());  // no object byte, no call through the proxy
}

// Issue 16: methods no route serves are 405 on every route, never a redirect or a 200.
TEST_F(ProxyApiTest, UnservedMethodsAre405) {
  Start("pPrimary", true);
  for (const char* m : {"TRACE", "CONNECT", "FROB"}) {
    for (const char* path : {"/v1/health", "/v1/daemon?what=smap", "/v1/objects/bkt/obj",
                             "/v1/buckets/bkt", "/v1/cluster"})
      ExpectAisError(Do(m, path), 405, "pPrimary");
  }
  ExpectAisError(Do("POST", "/v1/health"), 405, "pPrimary");
  ExpectAisError(Do("PUT", "/v1/daemon?what=smap"), 405, "pPrimary");
  EXPECT_EQ(Do("GET", "/v1/health").status, 200);
  EXPECT_TRUE(peers_->requests().empty());
}

// Issue 16: a namespace other than the global one is refused, naming the parameter.
TEST_F(ProxyApiTest, NonGlobalNamespaceIsRefused) {
  Start("pPrimary", true);
  Response r = Do("GET", "/v1/objects/bkt/obj?namespace=%40uuid%23ns");
  ExpectAisError(r, 400, "pPrimary");
  EXPECT_NE(r.body.find("namespace"), std::string::npos) << r.body;
  ExpectAisError(Do("GET", "/v1/buckets/bkt?namespace=x"), 400, "pPrimary");
  EXPECT_EQ(Do("GET", "/v1/objects/bkt/obj?namespace=").status, 301);
  EXPECT_EQ(Do("GET", "/v1/objects/bkt/obj?namespace=%40%23").status, 301);
}

// Issue 16: an Expect other than 100-continue is 417 before anything else.
TEST_F(ProxyApiTest, UnknownExpectationIs417) {
  Start("pPrimary", true);
  Response r = Call(*api_, "PUT", "/v1/objects/bkt/obj", "x", {{"Expect", "fancy"}});
  ExpectAisError(r, 417, "pPrimary");
  EXPECT_TRUE(r.close);
  r = Call(*api_, "PUT", "/v1/objects/bkt/obj", "x", {{"Expect", "100-CONTINUE"}});
  EXPECT_EQ(r.status, 307);
}

TEST_F(ProxyApiTest, OtherMethodsAreRedirectedTemporarilyKeepingTheQuery) {
  Start("pPrimary", true);
  for (const char* method : {"PUT", "HEAD", "DELETE", "POST"}) {
    Response r = Do(method, "/v1/objects/bkt/a/b/c.txt?provider=ais", "body is not read");
    EXPECT_EQ(r.status, 307) << method;
    // a/b/c.txt ranks t3 first.
    EXPECT_TRUE(std::regex_match(
        r.headers.Get("Location"),
        std::regex(
            R"(http://127\.0\.0\.1:9003/v1/objects/bkt/a/b/c\.txt\?provider=ais&pid=pPrimary&utm=\d+)")))
        << method << " " << r.headers.Get("Location");
  }
}

TEST_F(ProxyApiTest, NonPrimaryRedirectsObjectsItself) {
  Start("pOther", false);
  Response r = Do("GET", "/v1/objects/bkt/obj");
  EXPECT_EQ(r.status, 301);
  EXPECT_EQ(
      r.headers.Get("Location").rfind("http://127.0.0.1:9004/v1/objects/bkt/obj?pid=pOther&", 0),
      0u);
  EXPECT_TRUE(peers_->requests().empty());
}

TEST_F(ProxyApiTest, OwnerInMaintenanceIsSkipped) {
  Start("pPrimary", true);
  auto smap = *cluster_->smap();
  smap.version++;
  smap.targets["t4"].state = cluster::NodeState::kMaintenance;
  cluster_->InstallMapsForTest(smap, *cluster_->bmd());
  Response r = Do("GET", "/v1/objects/bkt/obj");
  EXPECT_EQ(r.headers.Get("Location").rfind("http://127.0.0.1:9003/", 0), 0u);  // second: t3
}

TEST_F(ProxyApiTest, ObjectErrorsHaveTheAistoreShape) {
  Start("pPrimary", true);
  Response missing = Do("GET", "/v1/objects/nob/obj");
  ExpectAisError(missing, 404, "pPrimary");
  EXPECT_EQ(json::parse(missing.body)["message"], "bucket \"ais://nob\" does not exist");
  ExpectAisError(Do("GET", "/v1/objects/bkt"), 400, "pPrimary");
  ExpectAisError(Do("GET", "/v1/objects/bkt/o?provider=gcp"), 501, "pPrimary");
  ExpectAisError(Do("GET", "/v2/objects/bkt/o"), 404, "pPrimary");

  auto smap = *cluster_->smap();
  smap.version++;
  for (auto& [id, n] : smap.targets) n.state = cluster::NodeState::kDown;
  cluster_->InstallMapsForTest(smap, *cluster_->bmd());
  ExpectAisError(Do("GET", "/v1/objects/bkt/obj"), 503, "pPrimary");
}

TEST_F(ProxyApiTest, NotReadyAnswers503WithRetryAfter) {
  Start("pPrimary", true, /*ready=*/false);
  Response r = Do("GET", "/v1/objects/bkt/obj");
  ExpectAisError(r, 503, "pPrimary");
  EXPECT_EQ(r.headers.Get("Retry-After"), "1");
}

TEST_F(ProxyApiTest, BucketChangesOnANonPrimaryGoToThePrimary) {
  Start("pOther", false);
  HttpResponse answer;
  answer.status = 200;
  answer.headers = {{"Content-Type", "application/json"}, {"Content-Length", "2"}, {"X-From", "p"}};
  answer.body = "{}";
  peers_->Answer(std::string(kPrimaryUrl) + "/v1/buckets/", answer);
  std::string body = R"({"action":"create-bck","value":{"copies":2}})";
  Response r = Do("POST", "/v1/buckets/newbkt?provider=ais", body);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "{}");
  EXPECT_EQ(r.headers.Get("X-From"), "p");
  EXPECT_EQ(r.headers.Get("Content-Length"), "");  // the transport sets its own
  auto sent = peers_->requests();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].method, "POST");
  EXPECT_EQ(sent[0].url, std::string(kPrimaryUrl) + "/v1/buckets/newbkt?provider=ais");
  EXPECT_EQ(std::get<std::string>(sent[0].body), body);
  EXPECT_FALSE(sent[0].follow_redirects);
}

TEST_F(ProxyApiTest, ThePrimarysErrorsComeBackAsTheyAre) {
  Start("pOther", false);
  HttpResponse conflict;
  conflict.status = 409;
  conflict.body = R"({"message":"bucket \"ais://bkt\" already exists","status":409})";
  peers_->Answer(std::string(kPrimaryUrl) + "/v1/buckets/bkt", conflict);
  Response r = Do("POST", "/v1/buckets/bkt", R"({"action":"create-bck"})");
  EXPECT_EQ(r.status, 409);
  EXPECT_EQ(r.body, conflict.body);
}

TEST_F(ProxyApiTest, UnreachablePrimaryIsAnAisError) {
  Start("pOther", false);
  peers_->Answer(kPrimaryUrl, Status::Unavailable("connection refused"));
  ExpectAisError(Do("DELETE", "/v1/buckets/bkt", R"({"action":"destroy-bck"})"), 503, "pOther");
}

TEST_F(ProxyApiTest, BucketReadsOnANonPrimaryAreAnsweredLocally) {
  Start("pOther", false);
  Response list = Do("GET", "/v1/buckets/");
  EXPECT_EQ(list.status, 200);
  json j = json::parse(list.body);
  ASSERT_EQ(j.size(), 1u);
  EXPECT_EQ(j[0]["name"], "bkt");
  Response head = Do("HEAD", "/v1/buckets/bkt");
  EXPECT_EQ(head.status, 200);
  EXPECT_NE(head.headers.Get("Ais-Bucket-Props"), "");
  Response missing = Do("HEAD", "/v1/buckets/nob");  // HEAD: the error goes in Hdr-Error
  EXPECT_EQ(missing.status, 404);
  EXPECT_TRUE(missing.body.empty());
  EXPECT_EQ(json::parse(missing.headers.Get("Hdr-Error")).value("status", 0), 404);
  EXPECT_TRUE(peers_->requests().empty());
}

TEST_F(ProxyApiTest, ListingMergesTheTargetsPages) {
  Start("pPrimary", true);
  auto page = [](const std::string& entries, const std::string& token) {
    HttpResponse r;
    r.status = 200;
    r.body = R"({"entries":)" + entries + R"(,"continuation_token":")" + token + "\"}";
    return r;
  };
  peers_->Answer("http://127.0.0.1:9001/", page(R"([{"name":"a"},{"name":"d"}])", ""));
  peers_->Answer("http://127.0.0.1:9002/", page(R"([{"name":"b"},{"name":"d"}])", ""));
  peers_->Answer("http://127.0.0.1:9003/", page(R"([{"name":"c"}])", "c"));
  peers_->Answer("http://127.0.0.1:9004/", page(R"([])", ""));
  Response r = Do("GET", "/v1/buckets/bkt", R"({"action":"list","value":{"pagesize":10}})");
  ASSERT_EQ(r.status, 200) << r.body;
  json j = json::parse(r.body);
  std::vector<std::string> names;
  for (const auto& e : j["entries"]) names.push_back(e["name"]);
  // t3 has more after "c": nothing past it yet.
  EXPECT_EQ(names, (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(j["continuation_token"], "c");
  EXPECT_EQ(peers_->requests().size(), 4u);
}

// A down target's objects would be missing from the merged page: the listing is refused with
// 503 naming it, unless the bucket keeps more copies than there are targets down.
TEST_F(ProxyApiTest, ListingWithATargetDownIsRefusedNotPartial) {
  Start("pPrimary", true);
  auto smap = *cluster_->smap();
  smap.version++;
  smap.targets["t2"].state = cluster::NodeState::kDown;
  auto bmd = *cluster_->bmd();
  bmd.version++;
  bmd.buckets["two"].copies = 2;
  cluster_->InstallMapsForTest(smap, bmd);
  HttpResponse empty;
  empty.status = 200;
  empty.body = R"({"entries":[],"continuation_token":""})";
  for (const char* t : {"9001", "9003", "9004"})
    peers_->Answer(std::string("http://127.0.0.1:") + t + "/", empty);
  Response r = Do("GET", "/v1/buckets/bkt", R"({"action":"list","value":{}})");
  ExpectAisError(r, 503, "pPrimary");
  EXPECT_NE(json::parse(r.body)["message"].get<std::string>().find("target t2 is down"),
            std::string::npos);
  EXPECT_TRUE(peers_->requests().empty());
  EXPECT_EQ(Do("GET", "/v1/buckets/two", R"({"action":"list","value":{}})").status, 200);
}

// A target refusing its page (a 4xx such as a zip bomb under LsArchDir) is not "unavailable":
// its status and message reach the client.
TEST_F(ProxyApiTest, ListingPassesOnATargetsRefusal) {
  Start("pPrimary", true);
  HttpResponse empty;
  empty.status = 200;
  empty.body = R"({"entries":[],"continuation_token":""})";
  HttpResponse refused;
  refused.status = 400;
  refused.body = R"j({"message":"member \"zeros\" expands 1000:1, over the limit (zip bomb?)"})j";
  peers_->Answer("http://127.0.0.1:9001/", empty);
  peers_->Answer("http://127.0.0.1:9002/", refused);
  peers_->Answer("http://127.0.0.1:9003/", empty);
  peers_->Answer("http://127.0.0.1:9004/", empty);
  Response r = Do("GET", "/v1/buckets/bkt", R"({"action":"list","value":{}})");
  ExpectAisError(r, 400, "pPrimary");
  EXPECT_NE(json::parse(r.body)["message"].get<std::string>().find("(zip bomb?)"),
            std::string::npos);
}

}  // namespace
}  // namespace aisle::api
