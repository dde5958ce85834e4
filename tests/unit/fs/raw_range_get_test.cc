// RawRangeGetter against the scripted loopback HTTP server (tests/testing): bodies land in the
// caller's buffer, connections are kept alive and reused, and every failure (error status, stale or
// dropped connection, stall, refused connect, replies it leaves to libcurl) is a clear Status.
#include "fs/client/raw_range_get.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <string>

#include "tests/testing/http_test_server.h"

namespace aisle::fs {
namespace {

using testing::HttpTestRequest;
using Scripted = testing::HttpTestReply;
using ScriptedServer = testing::HttpTestServer;

std::string Reply(int status, const std::string& body,
                  const std::vector<std::pair<std::string, std::string>>& headers = {}) {
  return testing::HttpReplyBytes(status, body, headers);
}

// One ranged GET received whole into dest: the status, the body length, an error's body.
struct GetReply {
  int status = 0;
  uint64_t body_len = 0;
  std::string error_body;
};
Result<GetReply> Get(RawRangeGetter& g, const std::string& hostport, const std::string& target,
                     uint64_t offset, uint64_t length, char* dest) {
  AISLE_ASSIGN_OR_RETURN(RawStreamReply r, g.Open(hostport, target, offset, length));
  GetReply reply{r.status, 0, std::move(r.error_body)};
  if (r.body != nullptr) {
    AISLE_ASSIGN_OR_RETURN(reply.body_len, r.body->Read(dest, r.body->remaining()));
  }
  return reply;
}

RawRangeGetter Getter(int stall_ms = 2000) {
  return RawRangeGetter(std::chrono::milliseconds(1000), std::chrono::milliseconds(stall_ms));
}

TEST(RawRangeGetTest, BodyLandsInTheBufferOverOneKeptAliveConnection) {
  std::string object(300000, '\0');
  for (size_t i = 0; i < object.size(); ++i) object[i] = static_cast<char>(i * 7);
  ScriptedServer srv([&](const HttpTestRequest& got) {
    const std::string& req = got.raw;
    size_t r = req.find("Range: bytes=");
    EXPECT_NE(r, std::string::npos);
    uint64_t a = std::stoull(req.substr(r + 13)), b = std::stoull(req.substr(req.find('-', r) + 1));
    EXPECT_NE(req.find("GET /v1/objects/b/o HTTP/1.1\r\n"), std::string::npos);
    return Scripted{Reply(206, object.substr(a, b - a + 1))};
  });
  auto g = Getter();
  for (uint64_t off : {0ull, 1000ull, 299000ull}) {
    std::string dest(200000, 'x');
    auto r = Get(g, srv.hostport(), "/v1/objects/b/o", off, 200000, dest.data());
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(r->status, 206);
    uint64_t want = std::min<uint64_t>(200000, object.size() - off);
    ASSERT_EQ(r->body_len, want);
    EXPECT_EQ(dest.substr(0, want), object.substr(off, want));
  }
  EXPECT_EQ(srv.connections(), 1);
}

TEST(RawRangeGetTest, ErrorStatusCarriesItsBody) {
  ScriptedServer srv([](const HttpTestRequest&) {
    return Scripted{Reply(404, R"({"message":"ais://b/o does not exist"})")};
  });
  auto g = Getter();
  char dest[16];
  auto r = Get(g, srv.hostport(), "/v1/objects/b/o", 0, sizeof dest, dest);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 404);
  EXPECT_NE(r->error_body.find("does not exist"), std::string::npos);
}

TEST(RawRangeGetTest, RepliesForLibcurlAreUnsupported) {
  int n = 0;
  ScriptedServer srv([&](const HttpTestRequest&) {
    switch (n++) {
      case 0:  // chunked
        return Scripted{
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"};
      case 1:  // a redirect
        return Scripted{Reply(307, "", {{"Location", "http://elsewhere/"}})};
      default:  // Range ignored: the whole (longer) object
        return Scripted{Reply(200, std::string(100, 'z'))};
    }
  });
  auto g = Getter();
  char dest[10];
  for (int i = 0; i < 3; ++i) {
    auto r = Get(g, srv.hostport(), "/o", 0, sizeof dest, dest);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), StatusCode::kUnsupported) << i;
  }
}

TEST(RawRangeGetTest, ReconnectsWhenTheNodeClosedAKeptConnection) {
  ScriptedServer srv([](const HttpTestRequest&) {
    return Scripted{Reply(206, "abcd"), Scripted::kClose};
  });
  auto g = Getter();
  char dest[4];
  for (int i = 0; i < 3; ++i) {
    auto r = Get(g, srv.hostport(), "/o", 0, 4, dest);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(std::string(dest, 4), "abcd");
  }
  EXPECT_EQ(srv.connections(), 3);
}

TEST(RawRangeGetTest, ShortBodyStallAndRefusedAreErrors) {
  ScriptedServer short_body([](const HttpTestRequest&) {
    return Scripted{"HTTP/1.1 206 X\r\nContent-Length: 10\r\n\r\nabc", Scripted::kClose};
  });
  auto g = Getter(300);
  char dest[10];
  auto r = Get(g, short_body.hostport(), "/o", 0, 10, dest);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable);

  ScriptedServer stall([](const HttpTestRequest&) {
    return Scripted{"HTTP/1.1 206 X\r\nContent-Length: 10\r\n\r\nab", Scripted::kStall};
  });
  auto t0 = std::chrono::steady_clock::now();
  r = Get(g, stall.hostport(), "/o", 0, 10, dest);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kTimeout);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(5));

  int port;
  {
    ScriptedServer gone([](const HttpTestRequest&) { return Scripted{}; });
    port = std::stoi(gone.hostport().substr(10));
  }
  r = Get(g, "127.0.0.1:" + std::to_string(port), "/o", 0, 10, dest);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable);
}

TEST(RawRangeGetTest, StreamHandsTheBodyOverInPieces) {
  std::string object(3 << 20, '\0');
  for (size_t i = 0; i < object.size(); ++i) object[i] = static_cast<char>(i * 13 + (i >> 12));
  ScriptedServer srv([&](const HttpTestRequest& got) {
    const std::string& req = got.raw;
    EXPECT_NE(req.find("Range: bytes=5-3145727\r\n"), std::string::npos) << req;
    return Scripted{Reply(206, object.substr(5))};  // head and body in one send
  });
  auto g = Getter();
  auto r = g.Open(srv.hostport(), "/v1/objects/b/o", 5, object.size() - 5);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->status, 206);
  ASSERT_NE(r->body, nullptr);
  std::string got;
  for (uint64_t piece : {1ull, 4095ull, 1ull << 20, 1ull << 21}) {
    std::string buf(piece, 'x');
    auto n = r->body->Read(buf.data(), piece);
    ASSERT_TRUE(n.ok()) << n.status().ToString();
    got.append(buf.data(), *n);
  }
  EXPECT_EQ(got, object.substr(5));  // the last piece was cut at the end of the body
  EXPECT_EQ(r->body->remaining(), 0u);
  char b;
  EXPECT_EQ(*r->body->Read(&b, 1), 0u);
}

// Reads n bytes out of a pipe (what the kernel takes of a spliced reply).
std::string FromPipe(int rd, size_t n) {
  std::string out(n, '\0');
  size_t got = 0;
  while (got < n) {
    ssize_t k = ::read(rd, out.data() + got, n - got);
    if (k <= 0) break;
    got += static_cast<size_t>(k);
  }
  out.resize(got);
  return out;
}

TEST(RawRangeGetTest, StreamSplicesTheBodyIntoAPipe) {
  // The body bytes that came with the response head are written, the rest spliced from the
  // socket; pieces of any size, the last cut at the end of the body.
  std::string object(3 << 20, '\0');
  for (size_t i = 0; i < object.size(); ++i) object[i] = static_cast<char>(i * 7 + (i >> 11));
  ScriptedServer srv([&](const HttpTestRequest&) { return Scripted{Reply(206, object)}; });
  int p[2];
  ASSERT_EQ(::pipe2(p, O_CLOEXEC), 0);
  ASSERT_GE(::fcntl(p[1], F_SETPIPE_SZ, 1 << 20), 1 << 20);
  auto g = Getter();
  auto r = g.Open(srv.hostport(), "/o", 0, object.size());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  std::string got;
  for (uint64_t piece : {1ull, 4095ull, 1ull << 19, 1ull << 20, 1ull << 20, 1ull << 20}) {
    bool full = false;
    auto n = r->body->SpliceTo(p[1], piece, &full);
    ASSERT_FALSE(full);
    ASSERT_TRUE(n.ok()) << n.status().ToString();
    got += FromPipe(p[0], *n);
  }
  EXPECT_TRUE(got == object) << got.size();
  EXPECT_EQ(r->body->remaining(), 0u);
  // A pipe with room for one page: the splice stops there, never waiting for room, and the
  // stream goes on with Read from the first byte not moved.
  auto t = g.Open(srv.hostport(), "/o", 0, object.size());
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  int small[2];
  ASSERT_EQ(::pipe2(small, O_CLOEXEC), 0);
  ASSERT_EQ(::fcntl(small[1], F_SETPIPE_SZ, 4096), 4096);
  bool full = false;
  auto moved = t->body->SpliceTo(small[1], 1 << 20, &full);
  ASSERT_TRUE(moved.ok()) << moved.status().ToString();
  EXPECT_TRUE(full);
  ASSERT_GT(*moved, 0u);
  ASSERT_LT(*moved, 1u << 20);
  std::string again = FromPipe(small[0], *moved);
  std::string rest(object.size() - *moved, '\0');
  ASSERT_EQ(*t->body->Read(rest.data(), rest.size()), rest.size());
  EXPECT_TRUE(again + rest == object);
  ::close(small[0]);
  ::close(small[1]);
  // A body cut short: an error, and the stream is spent.
  ScriptedServer short_body([](const HttpTestRequest&) {
    return Scripted{"HTTP/1.1 206 X\r\nContent-Length: 10\r\n\r\nabc", Scripted::kClose};
  });
  auto s = g.Open(short_body.hostport(), "/o", 0, 10);
  ASSERT_TRUE(s.ok());
  auto n = s->body->SpliceTo(p[1], 10, &full);
  EXPECT_EQ(n.status().code(), StatusCode::kUnavailable) << n.status().ToString();
  EXPECT_FALSE(s->body->SpliceTo(p[1], 1, &full).ok());
  ::close(p[0]);
  ::close(p[1]);
}

TEST(RawRangeGetTest, StreamReadToItsEndGivesItsConnectionBack) {
  ScriptedServer srv([](const HttpTestRequest&) { return Scripted{Reply(206, "0123456789")}; });
  auto g = Getter();
  char dest[10];
  {
    auto r = g.Open(srv.hostport(), "/o", 0, 10);
    ASSERT_TRUE(r.ok());
    ASSERT_EQ(*r->body->Read(dest, 10), 10u);
  }
  {
    auto r = g.Open(srv.hostport(), "/o", 0, 10);  // the same connection, then dropped early
    ASSERT_TRUE(r.ok());
    ASSERT_EQ(*r->body->Read(dest, 4), 4u);
  }
  auto r = Get(g, srv.hostport(), "/o", 0, 10, dest);  // a new one: the half-read one was closed
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(std::string(dest, 10), "0123456789");
  EXPECT_EQ(srv.connections(), 2);
}

TEST(RawRangeGetTest, StreamErrorStatusKeepsTheConnection) {
  int n = 0;
  ScriptedServer srv([&](const HttpTestRequest&) {
    return n++ == 0 ? Scripted{Reply(404, R"({"message":"ais://b/o does not exist"})")}
                    : Scripted{Reply(206, "abcd")};
  });
  auto g = Getter();
  auto r = g.Open(srv.hostport(), "/o", 0, 4);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 404);
  EXPECT_EQ(r->body, nullptr);
  EXPECT_NE(r->error_body.find("does not exist"), std::string::npos);
  char dest[4];
  auto g2 = Get(g, srv.hostport(), "/o", 0, 4, dest);
  ASSERT_TRUE(g2.ok());
  EXPECT_EQ(std::string(dest, 4), "abcd");
  EXPECT_EQ(srv.connections(), 1);
}

TEST(RawRangeGetTest, StreamThatBreaksOrStallsIsSpent) {
  ScriptedServer dropped([](const HttpTestRequest&) {
    return Scripted{"HTTP/1.1 206 X\r\nContent-Length: 10\r\n\r\nabc", Scripted::kClose};
  });
  auto g = Getter(300);
  auto r = g.Open(dropped.hostport(), "/o", 0, 10);
  ASSERT_TRUE(r.ok());
  char dest[10];
  auto n = r->body->Read(dest, 2);  // what arrived with the head
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(std::string(dest, 2), "ab");
  n = r->body->Read(dest, 8);
  ASSERT_FALSE(n.ok());
  EXPECT_EQ(n.status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(r->body->remaining(), 0u);

  ScriptedServer stall([](const HttpTestRequest&) {
    return Scripted{"HTTP/1.1 206 X\r\nContent-Length: 10\r\n\r\nab", Scripted::kStall};
  });
  r = g.Open(stall.hostport(), "/o", 0, 10);
  ASSERT_TRUE(r.ok());
  auto t0 = std::chrono::steady_clock::now();
  n = r->body->Read(dest, 10);
  ASSERT_FALSE(n.ok());
  EXPECT_EQ(n.status().code(), StatusCode::kTimeout);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(5));
}

TEST(RawRangeGetTest, HostPortOfPlainHttpOnly) {
  EXPECT_EQ(RawRangeGetter::HostPortOf("http://127.0.0.1:8080"), "127.0.0.1:8080");
  EXPECT_EQ(RawRangeGetter::HostPortOf("https://h:1"), "");
  EXPECT_EQ(RawRangeGetter::HostPortOf("http://h:1/x"), "");
}

}  // namespace
}  // namespace aisle::fs
