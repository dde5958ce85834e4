// HttpClient against the scripted in-process HTTP/1.1 server on 127.0.0.1 (tests/testing),
// answering canned responses and recording what it received.
#include "common/net/http_client.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <fstream>
#include <functional>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "tests/testing/http_test_server.h"

namespace aisle {
namespace {

using TestRequest = testing::HttpTestRequest;

struct TestReply {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  bool close = false;
  std::chrono::milliseconds delay{0};
};

// The scripted loopback server (tests/testing) answering TestReplys.
class TestServer {
 public:
  using Handler = std::function<TestReply(const TestRequest&)>;
  // `early` may answer from the request head alone, before the body is read (like an AIStore
  // proxy redirecting a PUT); the connection is closed afterwards.
  using EarlyHandler = std::function<std::optional<TestReply>(const TestRequest&)>;

  explicit TestServer(Handler h, EarlyHandler early = nullptr)
      : srv_([h](const TestRequest& r) { return Scripted(r, h(r)); },
             early ? testing::HttpTestServer::EarlyScript(
                         [early](const TestRequest& r) -> std::optional<testing::HttpTestReply> {
                           std::optional<TestReply> rep = early(r);
                           if (!rep) return std::nullopt;
                           return Scripted(r, *rep);
                         })
                   : nullptr) {}

  std::string url() const { return srv_.url(); }
  int connections() const { return srv_.connections(); }
  std::vector<TestRequest> requests() const { return srv_.requests(); }

 private:
  static testing::HttpTestReply Scripted(const TestRequest& req, const TestReply& rep) {
    auto headers = rep.headers;
    if (rep.close) headers.emplace_back("Connection", "close");
    testing::HttpTestReply out;
    out.bytes = testing::HttpReplyBytes(rep.status, rep.body, headers, req.method != "HEAD");
    out.after = rep.close ? testing::HttpTestReply::kClose : testing::HttpTestReply::kKeep;
    out.delay = rep.delay;
    return out;
  }

  testing::HttpTestServer srv_;
};

TestReply Ok(std::string body = "") {
  TestReply r;
  r.body = std::move(body);
  return r;
}

std::string Pattern(size_t n) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>('a' + (i * 7 + i / 4096) % 26);
  return s;
}

std::string TempFile(const std::string& content) {
  std::string path = ::testing::TempDir() + "http_client_test_" + std::to_string(::getpid()) + "_" +
                     std::to_string(content.size());
  std::ofstream(path, std::ios::binary) << content;
  return path;
}

TEST(HttpClientTest, GetCollectsBodyAndMultiValuedHeaders) {
  TestServer srv([](const TestRequest&) {
    TestReply r = Ok("hello");
    r.headers = {{"Ais-Custom-Md", "a=1"}, {"ais-custom-md", "b=2"}, {"Ais-Version", "3"}};
    return r;
  });
  HttpClient client;
  HttpRequest req;
  req.url = srv.url() + "/v1/objects/b/o";
  Result<HttpResponse> resp = client.Do(req);
  ASSERT_TRUE(resp.ok()) << resp.status().ToString();
  EXPECT_EQ(resp->status, 200);
  EXPECT_EQ(resp->body, "hello");
  EXPECT_EQ(resp->Header("AIS-VERSION"), "3");
  EXPECT_EQ(resp->HeaderValues("Ais-Custom-Md"), (std::vector<std::string>{"a=1", "b=2"}));
  EXPECT_FALSE(resp->Header("Missing").has_value());
  EXPECT_EQ(resp->effective_url, req.url);
  ASSERT_EQ(srv.requests().size(), 1u);
  EXPECT_EQ(srv.requests()[0].method, "GET");
  EXPECT_EQ(srv.requests()[0].target, "/v1/objects/b/o");
}

TEST(HttpClientTest, HeadReturnsHeadersWithoutBody) {
  TestServer srv([](const TestRequest&) {
    TestReply r = Ok("0123456789");
    r.headers = {{"Ais-Present", "true"}};
    return r;
  });
  HttpClient client;
  HttpRequest req;
  req.method = "HEAD";
  req.url = srv.url() + "/x";
  Result<HttpResponse> resp = client.Do(req);
  ASSERT_TRUE(resp.ok()) << resp.status().ToString();
  EXPECT_EQ(resp->status, 200);
  EXPECT_EQ(resp->Header("Content-Length"), "10");
  EXPECT_EQ(resp->Header("Ais-Present"), "true");
  EXPECT_TRUE(resp->body.empty());
}

TEST(HttpClientTest, PutStringBodyAndCustomMethodsWithBody) {
  TestServer srv([](const TestRequest&) { return Ok(); });
  HttpClient client;
  for (const char* method : {"PUT", "POST", "GET", "DELETE", "PATCH"}) {
    HttpRequest req;
    req.method = method;
    req.url = srv.url() + "/v1/buckets/b";
    req.headers = {{"Content-Type", "application/json"}};
    req.body = std::string(R"({"action":"list"})");
    Result<HttpResponse> resp = client.Do(req);
    ASSERT_TRUE(resp.ok()) << resp.status().ToString();
    EXPECT_EQ(resp->status, 200);
  }
  auto reqs = srv.requests();
  ASSERT_EQ(reqs.size(), 5u);
  for (const auto& r : reqs) {
    EXPECT_EQ(r.body, R"({"action":"list"})") << r.method;
    EXPECT_EQ(r.Header("Content-Type"), "application/json");
    EXPECT_FALSE(r.Header("Expect").has_value());  // small bodies go straight out
  }
  EXPECT_EQ(reqs[2].method, "GET");
  EXPECT_EQ(reqs[3].method, "DELETE");
}

TEST(HttpClientTest, PutWithoutBodySendsZeroLength) {
  TestServer srv([](const TestRequest&) { return Ok(); });
  HttpClient client;
  HttpRequest req;
  req.method = "PUT";
  req.url = srv.url() + "/o";
  ASSERT_TRUE(client.Do(req).ok());
  ASSERT_EQ(srv.requests().size(), 1u);
  EXPECT_EQ(srv.requests()[0].Header("Content-Length"), "0");
}

// The AIStore proxy case: a large PUT is answered with 307 before its body is read; the body
// must arrive, whole, at the target.
TEST(HttpClientTest, PutFileFollows307AndResendsBodyToSecondServer) {
  const std::string data = Pattern(3 * 1024 * 1024 + 17);
  std::string path = TempFile(data);
  TestServer target([](const TestRequest&) {
    TestReply r = Ok();
    r.headers = {{"Ais-Checksum-Value", "abc"}};
    return r;
  });
  std::string target_url = target.url();
  TestServer proxy([&](const TestRequest& r) { return Ok("unexpected"); },
                   [&](const TestRequest& r) -> std::optional<TestReply> {
                     TestReply rep;
                     rep.status = 307;
                     rep.headers = {{"Location", target_url + r.target + "&pid=p1"}};
                     rep.close = true;
                     return rep;
                   });
  std::atomic<uint64_t> max_sent{0};
  HttpClient client;
  HttpRequest req;
  req.method = "PUT";
  req.url = proxy.url() + "/v1/objects/b/dir/o?provider=ais";
  req.body = FileBody{path};
  req.on_upload_progress = [&](uint64_t sent) { max_sent = std::max<uint64_t>(max_sent, sent); };
  Result<HttpResponse> resp = client.Do(req);
  ASSERT_TRUE(resp.ok()) << resp.status().ToString();
  EXPECT_EQ(resp->status, 200);
  EXPECT_EQ(resp->Header("Ais-Checksum-Value"), "abc");
  EXPECT_EQ(resp->effective_url, target_url + "/v1/objects/b/dir/o?provider=ais&pid=p1");
  ASSERT_EQ(proxy.requests().size(), 1u);
  EXPECT_EQ(proxy.requests()[0].Header("Expect"), "100-continue");
  EXPECT_TRUE(proxy.requests()[0].body.empty());
  auto got = target.requests();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].method, "PUT");
  EXPECT_EQ(got[0].target, "/v1/objects/b/dir/o?provider=ais&pid=p1");
  EXPECT_EQ(got[0].body.size(), data.size());
  EXPECT_TRUE(got[0].body == data);
  EXPECT_EQ(max_sent.load(), data.size());
  std::remove(path.c_str());
}

// A small body is already on the wire when the 307 arrives: it is sent again to the target.
TEST(HttpClientTest, SmallPutBodyIsResentAfter307) {
  TestServer target([](const TestRequest&) { return Ok(); });
  std::string target_url = target.url();
  TestServer proxy([&](const TestRequest& r) {
    TestReply rep;
    rep.status = 307;
    rep.headers = {{"Location", target_url + r.target}};
    rep.body = "redirect";
    return rep;
  });
  HttpClient client;
  HttpRequest req;
  req.method = "PUT";
  req.url = proxy.url() + "/v1/objects/b/o";
  req.body = std::string("small body");
  Result<HttpResponse> resp = client.Do(req);
  ASSERT_TRUE(resp.ok()) << resp.status().ToString();
  EXPECT_EQ(resp->status, 200);
  EXPECT_TRUE(resp->body.empty());  // the redirect's body is dropped
  ASSERT_EQ(proxy.requests().size(), 1u);
  EXPECT_EQ(proxy.requests()[0].body, "small body");
  ASSERT_EQ(target.requests().size(), 1u);
  EXPECT_EQ(target.requests()[0].body, "small body");
}

TEST(HttpClientTest, StreamedReaderBodyFollowsRedirectWhenNothingWasSent) {
  const std::string data = Pattern(200 * 1024);
  TestServer target([](const TestRequest&) { return Ok(); });
  std::string target_url = target.url();
  TestServer proxy([](const TestRequest&) { return Ok(); },
                   [&](const TestRequest& r) -> std::optional<TestReply> {
                     TestReply rep;
                     rep.status = 307;
                     rep.headers = {{"Location", target_url + r.target}};
                     rep.close = true;
                     return rep;
                   });
  StringBodyReader reader(data);
  HttpClient client;
  HttpRequest req;
  req.method = "PUT";
  req.url = proxy.url() + "/o";
  req.body = static_cast<BodyReader*>(&reader);
  Result<HttpResponse> resp = client.Do(req);
  ASSERT_TRUE(resp.ok()) << resp.status().ToString();
  EXPECT_EQ(resp->status, 200);
  ASSERT_EQ(target.requests().size(), 1u);
  EXPECT_TRUE(target.requests()[0].body == data);
}

// A reader without a declared length goes out chunked.
class UnsizedReader : public BodyReader {
 public:
  explicit UnsizedReader(std::string_view s) : inner_(s) {}
  Result<size_t> Read(char* buf, size_t n) override {
    return inner_.Read(buf, std::min<size_t>(n, 1000));
  }
  std::optional<uint64_t> DeclaredLength() const override { return std::nullopt; }

 private:
  StringBodyReader inner_;
};

TEST(HttpClientTest, UnsizedReaderIsSentChunked) {
  const std::string data = Pattern(10'000);
  TestServer srv([](const TestRequest&) { return Ok(); });
  UnsizedReader reader(data);
  HttpClient client;
  HttpRequest req;
  req.method = "PUT";
  req.url = srv.url() + "/o";
  req.body = static_cast<BodyReader*>(&reader);
  Result<HttpResponse> resp = client.Do(req);
  ASSERT_TRUE(resp.ok()) << resp.status().ToString();
  ASSERT_EQ(srv.requests().size(), 1u);
  EXPECT_EQ(srv.requests()[0].Header("Transfer-Encoding"), "chunked");
  EXPECT_TRUE(srv.requests()[0].body == data);
}

TEST(HttpClientTest, GetFollows301AndStreamsOnlyTheFinalBody) {
  const std::string data = Pattern(500'000);
  TestServer target([&](const TestRequest&) { return Ok(data); });
  std::string target_url = target.url();
  TestServer proxy([&](const TestRequest& r) {
    TestReply rep;
    rep.status = 301;
    rep.headers = {{"Location", target_url + r.target}};
    rep.body = "moved";
    return rep;
  });
  HttpClient client;
  HttpRequest req;
  req.url = proxy.url() + "/v1/objects/b/o";
  std::string got;
  req.on_body = [&](std::string_view chunk) {
    got.append(chunk);
    return Status::OK();
  };
  Result<HttpResponse> resp = client.Do(req);
  ASSERT_TRUE(resp.ok()) << resp.status().ToString();
  EXPECT_EQ(resp->status, 200);
  EXPECT_TRUE(resp->body.empty());
  EXPECT_TRUE(got == data);
}

TEST(HttpClientTest, RedirectNotFollowedWhenDisabled) {
  TestServer srv([](const TestRequest&) {
    TestReply rep;
    rep.status = 307;
    rep.headers = {{"Location", "http://127.0.0.1:1/elsewhere"}};
    return rep;
  });
  HttpClient client;
  HttpRequest req;
  req.url = srv.url() + "/o";
  req.follow_redirects = false;
  Result<HttpResponse> resp = client.Do(req);
  ASSERT_TRUE(resp.ok()) << resp.status().ToString();
  EXPECT_EQ(resp->status, 307);
  EXPECT_EQ(resp->Header("Location"), "http://127.0.0.1:1/elsewhere");
}

TEST(HttpClientTest, RelativeLocationIsResolved) {
  TestServer srv([](const TestRequest& r) {
    if (r.target == "/a") {
      TestReply rep;
      rep.status = 308;
      rep.headers = {{"Location", "/b"}};
      return rep;
    }
    return Ok(r.target);
  });
  HttpClient client;
  HttpRequest req;
  req.url = srv.url() + "/a";
  Result<HttpResponse> resp = client.Do(req);
  ASSERT_TRUE(resp.ok()) << resp.status().ToString();
  EXPECT_EQ(resp->body, "/b");
}

TEST(HttpClientTest, RedirectLoopIsAnError) {
  TestServer srv([](const TestRequest& r) {
    TestReply rep;
    rep.status = 302;
    rep.headers = {{"Location", r.target}};
    return rep;
  });
  HttpClient client;
  HttpRequest req;
  req.url = srv.url() + "/loop";
  req.max_redirects = 3;
  Result<HttpResponse> resp = client.Do(req);
  ASSERT_FALSE(resp.ok());
  EXPECT_NE(resp.status().message().find("redirects"), std::string::npos);
  EXPECT_EQ(srv.requests().size(), 4u);
}

TEST(HttpClientTest, ErrorBodyIsCollectedNotStreamed) {
  TestServer srv([](const TestRequest&) {
    TestReply rep;
    rep.status = 404;
    rep.body = R"({"message":"bucket \"ais://b\" does not exist","status":404})";
    return rep;
  });
  HttpClient client;
  HttpRequest req;
  req.url = srv.url() + "/v1/objects/b/o";
  bool called = false;
  req.on_body = [&](std::string_view) {
    called = true;
    return Status::OK();
  };
  Result<HttpResponse> resp = client.Do(req);
  ASSERT_TRUE(resp.ok());
  EXPECT_EQ(resp->status, 404);
  EXPECT_FALSE(called);
  EXPECT_NE(resp->body.find("does not exist"), std::string::npos);
}

TEST(HttpClientTest, OnBodyErrorAbortsTransfer) {
  TestServer srv([](const TestRequest&) { return Ok(Pattern(1 << 20)); });
  HttpClient client;
  HttpRequest req;
  req.url = srv.url() + "/o";
  req.on_body = [](std::string_view) { return Status::NoSpace("disk full"); };
  Result<HttpResponse> resp = client.Do(req);
  ASSERT_FALSE(resp.ok());
  EXPECT_EQ(resp.status().code(), StatusCode::kNoSpace);
}

TEST(HttpClientTest, ConnectionRefusedIsUnavailableAndNamesUrl) {
  int port;
  {
    TestServer srv([](const TestRequest&) { return Ok(); });
    port = std::stoi(srv.url().substr(srv.url().rfind(':') + 1));
  }
  HttpClient client;
  HttpRequest req;
  req.url = "http://127.0.0.1:" + std::to_string(port) + "/v1/buckets";
  req.max_retries = 1;
  Result<HttpResponse> resp = client.Do(req);
  ASSERT_FALSE(resp.ok());
  EXPECT_EQ(resp.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(resp.status().message().find(req.url), std::string::npos) << resp.status().message();
}

TEST(HttpClientTest, TimeoutIsReported) {
  TestServer srv([](const TestRequest&) {
    TestReply r = Ok();
    r.delay = std::chrono::milliseconds(1500);
    return r;
  });
  HttpClient client;
  HttpRequest req;
  req.url = srv.url() + "/slow";
  req.total_timeout = std::chrono::milliseconds(200);
  Result<HttpResponse> resp = client.Do(req);
  ASSERT_FALSE(resp.ok());
  EXPECT_EQ(resp.status().code(), StatusCode::kTimeout);
  EXPECT_NE(resp.status().message().find("/slow"), std::string::npos);
}

TEST(HttpClientTest, Retries503ThenSucceeds) {
  std::atomic<int> calls{0};
  TestServer srv([&](const TestRequest&) {
    TestReply r = Ok("done");
    if (++calls <= 2) r.status = 503;
    return r;
  });
  HttpClient client;
  HttpRequest req;
  req.method = "PUT";
  req.url = srv.url() + "/o";
  req.body = std::string("payload");
  Result<HttpResponse> resp = client.Do(req);
  ASSERT_TRUE(resp.ok()) << resp.status().ToString();
  EXPECT_EQ(resp->status, 200);
  EXPECT_EQ(resp->body, "done");
  auto reqs = srv.requests();
  ASSERT_EQ(reqs.size(), 3u);
  EXPECT_EQ(reqs[2].body, "payload");
}

TEST(HttpClientTest, No503RetryWhenDisabled) {
  TestServer srv([](const TestRequest&) {
    TestReply r;
    r.status = 503;
    return r;
  });
  HttpClient client;
  HttpRequest req;
  req.url = srv.url() + "/o";
  req.max_retries = 0;
  Result<HttpResponse> resp = client.Do(req);
  ASSERT_TRUE(resp.ok());
  EXPECT_EQ(resp->status, 503);
  EXPECT_EQ(srv.requests().size(), 1u);
}

TEST(HttpClientTest, KeepAliveReusesOneConnection) {
  TestServer srv([](const TestRequest&) { return Ok("x"); });
  HttpClient client;
  for (int i = 0; i < 5; ++i) {
    HttpRequest req;
    req.url = srv.url() + "/o" + std::to_string(i);
    ASSERT_TRUE(client.Do(req).ok());
  }
  EXPECT_EQ(srv.connections(), 1);
}

TEST(HttpClientTest, ConcurrentRequestsFromManyThreads) {
  TestServer srv([](const TestRequest& r) { return Ok(r.target); });
  HttpClient client;
  std::atomic<int> good{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 25; ++i) {
        HttpRequest req;
        std::string path = "/t" + std::to_string(t) + "/" + std::to_string(i);
        req.url = srv.url() + path;
        Result<HttpResponse> resp = client.Do(req);
        if (resp.ok() && resp->status == 200 && resp->body == path) ++good;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(good.load(), 100);
  EXPECT_LE(srv.connections(), 4);
}

TEST(HttpClientTest, MissingFileBodyIsNotFound) {
  HttpClient client;
  HttpRequest req;
  req.method = "PUT";
  req.url = "http://127.0.0.1:1/o";
  req.body = FileBody{"/nonexistent/file"};
  Result<HttpResponse> resp = client.Do(req);
  ASSERT_FALSE(resp.ok());
  EXPECT_EQ(resp.status().code(), StatusCode::kNotFound);
}

TEST(EscapeTest, PathKeepsSlashesAndUnreserved) {
  EXPECT_EQ(EscapePath("a/b c/ü?#%+&=~._-"), "a/b%20c/%C3%BC%3F%23%25%2B%26%3D~._-");
  EXPECT_EQ(EscapePath("AZaz09"), "AZaz09");
  EXPECT_EQ(EscapeComponent("a/b c"), "a%2Fb%20c");
  EXPECT_EQ(EscapePath(""), "");
}

}  // namespace
}  // namespace aisle
