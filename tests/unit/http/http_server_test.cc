// HttpServer on 127.0.0.1:0 with an echo handler, spoken to over raw sockets so malformed
// requests can be sent: requests and responses, keep-alive and pipelining, Connection: close,
// and the transport's own errors (400 malformed, 413 body over the limit, 431 headers too
// large).
#include "server/http/http_server.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <string>

namespace aisle::http {
namespace {

// Answers "<method> <path> q=<x> body=<body>" with an X-Echo header.
class EchoHandler : public api::Handler {
 public:
  void Handle(api::Request& req, api::Response& resp) override {
    auto body = req.ReadBody(1 << 20);
    resp.headers.Set("Content-Type", "text/plain");
    resp.headers.Set("X-Echo", "yes");
    resp.body = req.method + " " + req.path + " q=" + req.Query("x").value_or("") +
                " body=" + (body.ok() ? *body : "!" + body.status().ToString());
  }
};

struct Reply {
  int status = 0;
  std::string head;  // status line and headers
  std::string body;
  bool ok = false;
};

class HttpServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ServerOptions o;
    o.io_threads = 1;
    o.workers = 4;
    o.header_limit = 1024;
    o.body_limit = 4096;
    server_ = std::make_unique<HttpServer>(o, &handler_);
    ASSERT_TRUE(server_->Listen().ok());
    server_->Start();
  }
  void TearDown() override {
    server_->Shutdown(std::chrono::milliseconds(1000));
    for (int fd : fds_) ::close(fd);
  }

  int Connect() {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    timeval tv{5, 0};  // a stuck read fails the test instead of hanging it
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(server_->port());
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    fds_.push_back(fd);
    return fd;
  }
  static void Send(int fd, const std::string& data) {
    size_t off = 0;
    while (off < data.size()) {
      ssize_t n = ::send(fd, data.data() + off, data.size() - off, MSG_NOSIGNAL);
      if (n <= 0) return;  // the server may close early (e.g. after 431)
      off += static_cast<size_t>(n);
    }
  }
  // Reads one response (Content-Length bodies); bytes past it stay in `pending_`.
  Reply Read(int fd) {
    Reply r;
    size_t end;
    while ((end = pending_.find("\r\n\r\n")) == std::string::npos) {
      if (!Fill(fd)) return r;
    }
    r.head = pending_.substr(0, end + 2);
    pending_.erase(0, end + 4);
    r.status = std::atoi(r.head.c_str() + 9);
    size_t len = 0;
    if (auto p = Lower(r.head).find("\r\ncontent-length:"); p != std::string::npos)
      len = std::strtoul(r.head.c_str() + p + 17, nullptr, 10);
    while (pending_.size() < len) {
      if (!Fill(fd)) return r;
    }
    r.body = pending_.substr(0, len);
    pending_.erase(0, len);
    r.ok = true;
    return r;
  }
  // True when the server closed the connection (nothing more to read).
  bool Closed(int fd) {
    char c;
    return pending_.empty() && ::recv(fd, &c, 1, 0) == 0;
  }
  bool Fill(int fd) {
    char buf[4096];
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) return false;
    pending_.append(buf, static_cast<size_t>(n));
    return true;
  }
  static std::string Lower(std::string s) {
    for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
  }

  EchoHandler handler_;
  std::unique_ptr<HttpServer> server_;
  std::vector<int> fds_;
  std::string pending_;
};

TEST_F(HttpServerTest, ServesARequest) {
  int fd = Connect();
  Send(fd, "GET /v1/a%20b?x=1 HTTP/1.1\r\nHost: h\r\n\r\n");
  Reply r = Read(fd);
  ASSERT_TRUE(r.ok);
  EXPECT_EQ(r.head.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << r.head;
  EXPECT_NE(Lower(r.head).find("\r\nx-echo: yes\r\n"), std::string::npos) << r.head;
  EXPECT_EQ(r.body, "GET /v1/a b q=1 body=");
}

TEST_F(HttpServerTest, ReadsTheBody) {
  int fd = Connect();
  Send(fd, "PUT /o HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello");
  Reply r = Read(fd);
  ASSERT_TRUE(r.ok);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "PUT /o q= body=hello");
  Send(fd,
       "POST /c HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n");
  r = Read(fd);
  ASSERT_TRUE(r.ok);
  EXPECT_EQ(r.body, "POST /c q= body=abc");
}

TEST_F(HttpServerTest, KeepsTheConnectionAliveAndServesPipelinedRequests) {
  int fd = Connect();
  for (int i = 0; i < 3; ++i) {
    Send(fd, "GET /k" + std::to_string(i) + " HTTP/1.1\r\nHost: h\r\n\r\n");
    Reply r = Read(fd);
    ASSERT_TRUE(r.ok) << i;
    EXPECT_EQ(r.body, "GET /k" + std::to_string(i) + " q= body=");
    EXPECT_EQ(Lower(r.head).find("connection: close"), std::string::npos);
  }
  Send(fd, "GET /p1 HTTP/1.1\r\nHost: h\r\n\r\nGET /p2 HTTP/1.1\r\nHost: h\r\n\r\n");
  EXPECT_EQ(Read(fd).body, "GET /p1 q= body=");
  EXPECT_EQ(Read(fd).body, "GET /p2 q= body=");
}

TEST_F(HttpServerTest, ConnectionCloseIsHonoured) {
  int fd = Connect();
  Send(fd, "GET /bye HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n");
  Reply r = Read(fd);
  ASSERT_TRUE(r.ok);
  EXPECT_NE(Lower(r.head).find("connection: close"), std::string::npos) << r.head;
  EXPECT_TRUE(Closed(fd));
}

TEST_F(HttpServerTest, MalformedRequestIs400AndCloses) {
  int fd = Connect();
  Send(fd, "NOT A REQUEST\r\n\r\n");
  Reply r = Read(fd);
  ASSERT_TRUE(r.ok);
  EXPECT_EQ(r.status, 400) << r.head;
  EXPECT_NE(r.body.find("\"status\":400"), std::string::npos) << r.body;
  EXPECT_TRUE(Closed(fd));
}

TEST_F(HttpServerTest, OversizedHeaderIs431) {
  int fd = Connect();
  Send(fd, "GET / HTTP/1.1\r\nHost: h\r\nX-Big: " + std::string(4000, 'a') + "\r\n\r\n");
  Reply r = Read(fd);
  ASSERT_TRUE(r.ok);
  EXPECT_EQ(r.status, 431) << r.head;
  EXPECT_NE(r.body.find("\"status\":431"), std::string::npos) << r.body;
}

// A declared Content-Length over body_limit is refused from the head, before any body byte is
// read or a worker committed: 413 in the AIS error shape, then close.
TEST_F(HttpServerTest, DeclaredBodyOverTheLimitIsRefused) {
  int fd = Connect();
  Send(fd, "PUT /o HTTP/1.1\r\nHost: h\r\nContent-Length: 100000\r\n\r\n");
  Reply r = Read(fd);
  ASSERT_TRUE(r.ok);
  EXPECT_EQ(r.status, 413) << r.head;
  EXPECT_NE(r.body.find("\"status\":413"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("larger than 4096"), std::string::npos) << r.body;
  EXPECT_TRUE(Closed(fd));
}

TEST_F(HttpServerTest, ServesSeveralConnectionsAtOnce) {
  int a = Connect();
  int b = Connect();
  Send(a, "GET /a HTTP/1.1\r\nHost: h\r\n\r\n");
  Send(b, "GET /b HTTP/1.1\r\nHost: h\r\n\r\n");
  Reply rb = Read(b);
  EXPECT_EQ(rb.body, "GET /b q= body=");
  Reply ra = Read(a);
  EXPECT_EQ(ra.body, "GET /a q= body=");
}

}  // namespace
}  // namespace aisle::http
