// The HTTP/1.1 stream layer against the scripted loopback server (tests/testing): framings
// (Content-Length, chunked, until close), bodies received in place and spliced, request
// bodies (sized, chunked, 100-continue, early answers), the idle pool and typed errors.
#include "common/net/http_stream.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <string>

#include "tests/testing/http_test_server.h"

namespace aisle {
namespace {

using testing::HttpReplyBytes;
using testing::HttpTestReply;
using testing::HttpTestRequest;
using testing::HttpTestServer;

HttpStreamOptions Options(int io_ms = 2000) {
  HttpStreamOptions o;
  o.connect_timeout = std::chrono::milliseconds(1000);
  o.io_timeout = std::chrono::milliseconds(io_ms);
  return o;
}

HttpStreamRequest Get(const std::string& target) {
  HttpStreamRequest r;
  r.target = target;
  r.headers = {{"Host", "test"}};
  return r;
}

std::string Pattern(size_t n) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>(i * 7 + (i >> 11));
  return s;
}

// The rest of a body, piece by piece.
std::string Drain(HttpBodyStream& b) {
  std::string out;
  char buf[1000];
  for (;;) {
    auto n = b.ReadSome(buf, sizeof buf);
    EXPECT_TRUE(n.ok()) << n.status().ToString();
    if (!n.ok() || *n == 0) return out;
    out.append(buf, *n);
  }
}

TEST(HttpStreamTest, SizedBodyLandsInTheBufferAndTheConnectionIsReused) {
  const std::string object = Pattern(1 << 20);
  HttpTestServer srv([&](const HttpTestRequest& r) {
    EXPECT_EQ(r.method, "GET");
    EXPECT_EQ(r.Header("Host"), "test");
    return HttpTestReply{HttpReplyBytes(200, object)};
  });
  HttpStreamClient client(Options());
  for (int i = 0; i < 3; ++i) {
    auto r = client.Send(srv.hostport(), Get("/o"));
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(r->head.status, 200);
    ASSERT_NE(r->body, nullptr);
    EXPECT_EQ(r->body->content_length(), object.size());
    std::string dest(object.size() + 10, 'x');
    auto n = r->body->Read(dest.data(), dest.size());
    ASSERT_TRUE(n.ok()) << n.status().ToString();
    ASSERT_EQ(*n, object.size());
    EXPECT_TRUE(dest.substr(0, object.size()) == object);
    EXPECT_TRUE(r->body->at_end());
    EXPECT_EQ(r->body->remaining(), 0u);
  }
  EXPECT_EQ(srv.connections(), 1);
}

TEST(HttpStreamTest, ChunkedBodyWithTrailersThenTheConnectionIsReused) {
  HttpTestServer srv([](const HttpTestRequest&) {
    return HttpTestReply{
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nETag: \"e\"\r\n\r\n"
        "4\r\nabcd\r\n3;ext=1\r\nefg\r\n0\r\nX-Trailer: 1\r\n\r\n"};
  });
  HttpStreamClient client(Options());
  for (int i = 0; i < 2; ++i) {
    auto r = client.Send(srv.hostport(), Get("/c"));
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_TRUE(r->head.chunked);
    EXPECT_FALSE(r->body->content_length());
    EXPECT_EQ(Drain(*r->body), "abcdefg");
    EXPECT_TRUE(r->body->at_end());
    bool full = false;
    EXPECT_EQ(r->body->SpliceTo(1, 1, &full).status().code(), StatusCode::kUnsupported);
  }
  EXPECT_EQ(srv.connections(), 1);
}

TEST(HttpStreamTest, BodyUntilCloseAndBodilessRepliesAsBodyReader) {
  HttpTestServer srv([](const HttpTestRequest& r) {
    if (r.method == "HEAD")
      return HttpTestReply{"HTTP/1.1 200 OK\r\nContent-Length: 99\r\nX-A: b\r\n\r\n"};
    return HttpTestReply{"HTTP/1.0 200 OK\r\n\r\nuntil close", HttpTestReply::kClose};
  });
  HttpStreamClient client(Options());
  HttpStreamRequest head = Get("/h");
  head.method = "HEAD";
  auto h = client.Send(srv.hostport(), head);
  ASSERT_TRUE(h.ok()) << h.status().ToString();
  EXPECT_EQ(h->head.content_length, 99u);
  EXPECT_EQ(h->body, nullptr);
  ASSERT_EQ(h->head.headers.size(), 2u);
  EXPECT_EQ(h->head.headers[1], (std::pair<std::string, std::string>{"X-A", "b"}));
  auto r = client.Send(srv.hostport(), Get("/u"));  // on the kept HEAD connection
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->head.close);
  std::shared_ptr<BodyReader> body = AsBodyReader(std::move(r->body));
  EXPECT_FALSE(body->DeclaredLength());
  std::string got;
  char buf[4];
  for (;;) {
    auto n = body->Read(buf, sizeof buf);
    ASSERT_TRUE(n.ok()) << n.status().ToString();
    if (*n == 0) break;
    got.append(buf, *n);
  }
  EXPECT_EQ(got, "until close");
  EXPECT_EQ(srv.connections(), 1);
}

TEST(HttpStreamTest, SplicesTheBodyIntoAPipeThenReadsTheRest) {
  const std::string object = Pattern(3 << 20);
  HttpTestServer srv(
      [&](const HttpTestRequest&) { return HttpTestReply{HttpReplyBytes(206, object)}; });
  HttpStreamClient client(Options());
  auto r = client.Send(srv.hostport(), Get("/o"));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  int p[2];
  ASSERT_EQ(::pipe2(p, O_CLOEXEC), 0);
  ASSERT_EQ(::fcntl(p[1], F_SETPIPE_SZ, 4096), 4096);
  bool full = false;
  auto moved = r->body->SpliceTo(p[1], 1 << 20, &full);
  ASSERT_TRUE(moved.ok()) << moved.status().ToString();
  EXPECT_TRUE(full);  // a one-page pipe: never waits for room
  ASSERT_GT(*moved, 0u);
  std::string got(*moved, '\0');
  ASSERT_EQ(::read(p[0], got.data(), got.size()), static_cast<ssize_t>(got.size()));
  std::string rest(object.size() - *moved, '\0');
  ASSERT_EQ(*r->body->Read(rest.data(), rest.size()), rest.size());
  EXPECT_TRUE(got + rest == object);
  ::close(p[0]);
  ::close(p[1]);
}

TEST(HttpStreamTest, RequestBodiesSizedChunkedAndAfter100Continue) {
  HttpTestServer srv(
      [](const HttpTestRequest& r) { return HttpTestReply{HttpReplyBytes(200, r.body)}; });
  HttpStreamClient client(Options());
  StringBodyReader sized("hello world");
  HttpStreamRequest put = Get("/p");
  put.method = "PUT";
  put.headers.emplace_back("Content-Length", "11");
  put.headers.emplace_back("Expect", "100-continue");
  put.body = &sized;
  put.expect_continue = true;
  auto r = client.Send(srv.hostport(), put);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->request_body_sent);
  EXPECT_EQ(Drain(*r->body), "hello world");

  StringBodyReader unsized("abcdefgh");
  HttpStreamRequest chunked = Get("/c");
  chunked.method = "PUT";
  chunked.body = &unsized;
  chunked.chunked = true;
  r = client.Send(srv.hostport(), chunked);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(Drain(*r->body), "abcdefgh");
  auto seen = srv.requests();
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_NE(seen[1].raw.find("Transfer-Encoding: chunked\r\n"), std::string::npos);
  EXPECT_TRUE(seen[1].raw.ends_with("8\r\nabcdefgh\r\n0\r\n\r\n")) << seen[1].raw;
  EXPECT_EQ(srv.connections(), 1);
}

TEST(HttpStreamTest, EarlyAnswerSkipsTheBodyAndClosesTheConnection) {
  HttpTestServer srv([](const HttpTestRequest&) { return HttpTestReply{HttpReplyBytes(200, "")}; },
                     [](const HttpTestRequest& r) -> std::optional<HttpTestReply> {
                       if (r.method != "PUT") return std::nullopt;
                       return HttpTestReply{HttpReplyBytes(403, "no!")};
                     });
  HttpStreamClient client(Options());
  StringBodyReader body("data");
  HttpStreamRequest put = Get("/p");
  put.method = "PUT";
  put.headers.emplace_back("Content-Length", "4");
  put.body = &body;
  put.expect_continue = true;
  auto r = client.Send(srv.hostport(), put);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->head.status, 403);
  EXPECT_FALSE(r->request_body_sent);
  EXPECT_EQ(Drain(*r->body), "no!");
  ASSERT_TRUE(client.Send(srv.hostport(), Get("/g")).ok());
  EXPECT_EQ(srv.connections(), 2);  // the refused one was not kept
}

TEST(HttpStreamTest, ReconnectsWhenThePeerClosedAKeptConnection) {
  HttpTestServer srv([](const HttpTestRequest&) {
    return HttpTestReply{HttpReplyBytes(200, "abcd"), HttpTestReply::kClose};
  });
  HttpStreamClient client(Options());
  for (int i = 0; i < 3; ++i) {
    auto r = client.Send(srv.hostport(), Get("/o"));
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(Drain(*r->body), "abcd");
  }
  EXPECT_EQ(srv.connections(), 3);
}

TEST(HttpStreamTest, DroppedStalledRefusedAndMalformedAreTypedErrors) {
  HttpStreamClient client(Options(300));
  HttpTestServer dropped([](const HttpTestRequest&) {
    return HttpTestReply{"HTTP/1.1 200 X\r\nContent-Length: 10\r\n\r\nabc", HttpTestReply::kClose};
  });
  auto r = client.Send(dropped.hostport(), Get("/o"));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  char dest[10];
  auto n = r->body->Read(dest, sizeof dest);
  EXPECT_EQ(n.status().code(), StatusCode::kUnavailable) << n.status().ToString();
  EXPECT_FALSE(r->body->Read(dest, 1).ok());  // spent

  HttpTestServer stall([](const HttpTestRequest&) {
    return HttpTestReply{"HTTP/1.1 200 X\r\nContent-Length: 10\r\n\r\nab", HttpTestReply::kStall};
  });
  r = client.Send(stall.hostport(), Get("/o"));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  auto t0 = std::chrono::steady_clock::now();
  n = r->body->Read(dest, sizeof dest);
  EXPECT_EQ(n.status().code(), StatusCode::kTimeout) << n.status().ToString();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(5));

  HttpTestServer silent([](const HttpTestRequest&) {
    return HttpTestReply{"", HttpTestReply::kStall};
  });
  EXPECT_EQ(client.Send(silent.hostport(), Get("/o")).status().code(), StatusCode::kTimeout);

  int port;
  {
    HttpTestServer gone([](const HttpTestRequest&) { return HttpTestReply{}; });
    port = gone.port();
  }
  EXPECT_EQ(client.Send("127.0.0.1:" + std::to_string(port), Get("/o")).status().code(),
            StatusCode::kUnavailable);

  HttpTestServer garbage([](const HttpTestRequest&) {
    return HttpTestReply{"SMTP ready\r\n\r\n", HttpTestReply::kClose};
  });
  EXPECT_EQ(client.Send(garbage.hostport(), Get("/o")).status().code(), StatusCode::kIOError);

  // A Content-Length that is not one plain number would misframe this body and the next reply.
  for (const char* bad : {"Content-Length: abc", "Content-Length: -1", "Content-Length: 3 4",
                          "Content-Length: 3\r\nContent-Length: 4"}) {
    HttpTestServer misframed([bad](const HttpTestRequest&) {
      return HttpTestReply{std::string("HTTP/1.1 200 X\r\n") + bad + "\r\n\r\nabcd",
                           HttpTestReply::kClose};
    });
    EXPECT_EQ(client.Send(misframed.hostport(), Get("/o")).status().code(), StatusCode::kIOError)
        << bad;
  }

  HttpStreamOptions small = Options();
  small.max_head = 64;
  HttpStreamClient bounded(small);
  HttpTestServer big_head([](const HttpTestRequest&) {
    return HttpTestReply{HttpReplyBytes(200, "", {{"X-Big", std::string(100, 'h')}})};
  });
  EXPECT_EQ(bounded.Send(big_head.hostport(), Get("/o")).status().code(), StatusCode::kIOError);
}

}  // namespace
}  // namespace aisle
