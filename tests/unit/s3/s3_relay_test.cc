// The proxy's S3 relay client against a scripted loopback peer (tests/testing): framing both ways
// (Content-Length, chunked), 100-continue, early refusals and unreachable peers.
#include "server/s3/s3_relay.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>

#include "tests/testing/http_test_server.h"

namespace aisle::api::s3 {
namespace {

using aisle::testing::HttpTestReply;
using aisle::testing::HttpTestRequest;
using aisle::testing::HttpTestServer;

// A body without a declared length (as a chunked client upload looks).
class UnsizedReader : public BodyReader {
 public:
  explicit UnsizedReader(std::string d) : data_(std::move(d)), inner_(data_) {}
  Result<size_t> Read(char* buf, size_t n) override {
    return inner_.Read(buf, std::min<size_t>(n, 3));
  }
  std::optional<uint64_t> DeclaredLength() const override { return std::nullopt; }

 private:
  std::string data_;
  StringBodyReader inner_;
};

// A loopback peer answering `answer` and closing; early: right after the request head, its
// body unread. "Expect: 100-continue" gets a 100 Continue before the body is read.
class Peer {
 public:
  explicit Peer(std::string answer, bool early = false)
      : srv_([answer](const HttpTestRequest&) { return Answer(answer); },
             early ? HttpTestServer::EarlyScript([answer](const HttpTestRequest&) {
               return std::optional<HttpTestReply>(Answer(answer));
             })
                   : nullptr) {}
  uint16_t port() const { return srv_.port(); }
  // The request as it came over the wire (head and body).
  std::string request() const {
    auto r = srv_.requests();
    return r.empty() ? "" : r.front().raw;
  }

 private:
  static HttpTestReply Answer(const std::string& a) { return {a, HttpTestReply::kClose}; }
  HttpTestServer srv_;
};

std::string ReadAll(BodyReader& r) {
  std::string out;
  char buf[5];
  for (;;) {
    auto n = r.Read(buf, sizeof buf);
    EXPECT_TRUE(n.ok()) << n.status().message();
    if (!n.ok() || *n == 0) return out;
    out.append(buf, *n);
  }
}

Request MakeRequest(const std::string& method, BodyReader* body, bool has_body) {
  Request req;
  req.method = method;
  req.target = "/s3/b/k?x=1";
  req.headers.Add("Host", "example:1234");
  req.headers.Add("Authorization", "AWS4-HMAC-SHA256 sig");
  req.headers.Add("Connection", "keep-alive");
  req.body = body;
  req.has_body = has_body;
  return req;
}

TEST(S3RelayTest, SizedBodyUpChunkedAnswerBack) {
  Peer peer(
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nETag: \"e\"\r\n\r\n"
      "4\r\nabcd\r\n3;ext=1\r\nefg\r\n0\r\nX-Trailer: 1\r\n\r\n");
  StringBodyReader body("hello world");
  Request req = MakeRequest("PUT", &body, true);
  req.headers.Add("Content-Length", "11");
  RelayOptions ro;
  ro.extra_headers.emplace_back("Aisle-Intra", "p1");
  auto r = Relay("127.0.0.1", peer.port(), req, ro);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->status, 200);
  EXPECT_FALSE(r->content_length);
  ASSERT_TRUE(r->body);
  EXPECT_FALSE(r->body->DeclaredLength());
  EXPECT_EQ(ReadAll(*r->body), "abcdefg");
  std::string seen = peer.request();
  EXPECT_EQ(seen.rfind("PUT /s3/b/k?x=1 HTTP/1.1\r\n", 0), 0u) << seen;
  EXPECT_NE(seen.find("Host: example:1234\r\n"), std::string::npos);
  EXPECT_NE(seen.find("Authorization: AWS4-HMAC-SHA256 sig\r\n"), std::string::npos);
  EXPECT_NE(seen.find("Aisle-Intra: p1\r\n"), std::string::npos);
  EXPECT_NE(seen.find("Content-Length: 11\r\n"), std::string::npos);
  EXPECT_EQ(seen.find("keep-alive"), std::string::npos);  // hop-by-hop dropped
  EXPECT_TRUE(seen.ends_with("\r\n\r\nhello world"));
}

TEST(S3RelayTest, UnsizedBodyGoesChunkedAndLengthAnswerIsDeclared) {
  Peer peer("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n12345");
  UnsizedReader body("abcdefgh");
  Request req = MakeRequest("PUT", &body, true);
  auto r = Relay("127.0.0.1", peer.port(), req, {});
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->body->DeclaredLength(), 5u);
  EXPECT_EQ(ReadAll(*r->body), "12345");
  std::string seen = peer.request();
  EXPECT_NE(seen.find("Transfer-Encoding: chunked\r\n"), std::string::npos);
  EXPECT_TRUE(seen.ends_with("3\r\nabc\r\n3\r\ndef\r\n2\r\ngh\r\n0\r\n\r\n")) << seen;
}

TEST(S3RelayTest, ExpectContinueWaitsAndEarlyRefusalSkipsTheBody) {
  {
    Peer peer("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
    StringBodyReader body("data");
    Request req = MakeRequest("PUT", &body, true);
    req.headers.Add("Content-Length", "4");
    req.headers.Add("Expect", "100-continue");
    auto r = Relay("127.0.0.1", peer.port(), req, {});
    ASSERT_TRUE(r.ok()) << r.status().message();
    EXPECT_EQ(r->status, 200);
    EXPECT_TRUE(r->request_body_sent);
    EXPECT_TRUE(peer.request().ends_with("data"));
  }
  Peer peer("HTTP/1.1 403 Forbidden\r\nContent-Length: 3\r\n\r\nno!", true);
  StringBodyReader body("data");
  Request req = MakeRequest("PUT", &body, true);
  req.headers.Add("Content-Length", "4");
  req.headers.Add("Expect", "100-continue");
  auto r = Relay("127.0.0.1", peer.port(), req, {});
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->status, 403);
  EXPECT_FALSE(r->request_body_sent);
  EXPECT_EQ(ReadAll(*r->body), "no!");
}

TEST(S3RelayTest, HeadHasNoBodyAndCloseDelimitedBodyReadsToEof) {
  {
    Peer peer("HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n");
    StringBodyReader body("");
    Request req = MakeRequest("HEAD", &body, false);
    Response resp;
    ASSERT_TRUE(RelayInto("127.0.0.1", peer.port(), req, resp, {}).ok());
    EXPECT_EQ(resp.head_length, 99u);
    EXPECT_FALSE(resp.stream);
  }
  Peer peer("HTTP/1.0 200 OK\r\n\r\nuntil close");
  StringBodyReader body("");
  Request req = MakeRequest("GET", &body, false);
  auto r = Relay("127.0.0.1", peer.port(), req, {});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(ReadAll(*r->body), "until close");
}

TEST(S3RelayTest, UnreachablePeerIsUnavailable) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);  // nobody listens on this port now
  StringBodyReader body("");
  Request req = MakeRequest("GET", &body, false);
  auto r = Relay("127.0.0.1", ntohs(a.sin_port), req, {});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable);
}

TEST(S3RelayTest, SplitsUrls) {
  std::string host;
  uint16_t port = 0;
  ASSERT_TRUE(SplitUrl("http://127.0.0.1:8080", &host, &port));
  EXPECT_EQ(host, "127.0.0.1");
  EXPECT_EQ(port, 8080);
  EXPECT_FALSE(SplitUrl("http://nohost", &host, &port));
  bool tls = true;
  ASSERT_TRUE(SplitUrl("http://127.0.0.1:8080", &host, &port, &tls));
  EXPECT_FALSE(tls);
  ASSERT_TRUE(SplitUrl("https://[::1]:8443", &host, &port, &tls));
  EXPECT_TRUE(tls);
  EXPECT_EQ(host, "::1");
  EXPECT_EQ(port, 8443);
}

}  // namespace
}  // namespace aisle::api::s3
