// HttpServer under starvation attempts, over raw loopback sockets: slow-loris heads cost no
// worker and end at the head deadline (408), connections per client address are capped (503),
// and priority requests (a peer's keepalive) have workers of their own.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "server/http/http_server.h"

namespace aisle::http {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// Answers 200 "ok <path>"; requests to /block wait until Release().
class BlockingHandler : public api::Handler {
 public:
  void Handle(api::Request& req, api::Response& resp) override {
    if (req.path == "/block") {
      std::unique_lock<std::mutex> l(mu_);
      ++blocked_;
      cv_.notify_all();
      cv_.wait(l, [this] { return released_; });
    }
    resp.body = "ok " + req.path;
  }
  void WaitBlocked(int n) {
    std::unique_lock<std::mutex> l(mu_);
    cv_.wait_for(l, std::chrono::seconds(5), [&] { return blocked_ >= n; });
  }
  void Release() {
    std::lock_guard<std::mutex> l(mu_);
    released_ = true;
    cv_.notify_all();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  int blocked_ = 0;
  bool released_ = false;
};

class HttpServerLimitsTest : public ::testing::Test {
 protected:
  void TearDown() override {
    handler_.Release();
    if (server_) server_->Shutdown(milliseconds(1000));
    for (int fd : fds_) ::close(fd);
  }

  void StartServer(ServerOptions o) {
    o.io_threads = 1;
    server_ = std::make_unique<HttpServer>(o, &handler_);
    ASSERT_TRUE(server_->Listen().ok());
    server_->Start();
  }

  // A loopback connection; reads give up after `recv_timeout_ms` so a stuck test fails.
  int Connect(int recv_timeout_ms = 5000) {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    timeval tv{recv_timeout_ms / 1000, (recv_timeout_ms % 1000) * 1000};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(server_->port());
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    fds_.push_back(fd);
    return fd;
  }
  static bool Send(int fd, const std::string& data) {
    return ::send(fd, data.data(), data.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(data.size());
  }
  // Reads until the head and `body_len` body bytes arrived, or EOF/timeout; returns all of it.
  static std::string ReadReply(int fd) {
    std::string got;
    char buf[4096];
    for (;;) {
      size_t end = got.find("\r\n\r\n");
      if (end != std::string::npos) {
        size_t p = got.find("Content-Length: ");
        size_t len = p == std::string::npos ? 0 : std::strtoul(got.c_str() + p + 16, nullptr, 10);
        if (got.size() >= end + 4 + len) return got;
      }
      ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n <= 0) return got;
      got.append(buf, static_cast<size_t>(n));
    }
  }
  static int StatusOf(const std::string& reply) {
    return reply.size() > 12 ? std::atoi(reply.c_str() + 9) : 0;
  }
  // True when the server closed the connection (EOF, or a reset after unread bytes).
  static bool ClosedByServer(int fd) {
    char c;
    ssize_t n = ::recv(fd, &c, 1, 0);
    return n == 0 || (n < 0 && errno == ECONNRESET);
  }
  // One request on a new connection; its status, or 0 when nothing came back.
  int Get(const std::string& path, const std::string& extra_headers = "") {
    int fd = Connect();
    Send(fd, "GET " + path + " HTTP/1.1\r\nHost: h\r\n" + extra_headers + "\r\n");
    return StatusOf(ReadReply(fd));
  }

  BlockingHandler handler_;
  std::unique_ptr<HttpServer> server_;
  std::vector<int> fds_;
};

// 200 connections each trickling a head one byte per second hold no worker: 8 workers still
// answer fresh requests at once, an idle keep-alive connection outlives the head deadline, and
// every slow connection gets 408 and is closed at the deadline although it keeps sending.
TEST_F(HttpServerLimitsTest, SlowLorisHeadsDoNotStarveWorkersAndEndAtTheHeadDeadline) {
  ServerOptions o;
  o.workers = 8;
  o.head_timeout_ms = 2000;
  StartServer(o);
  int idle = Connect();
  auto start = Clock::now();
  std::vector<int> slow;
  for (int i = 0; i < 200; ++i) {
    int fd = Connect(6000);
    ASSERT_TRUE(Send(fd, "GET /slow HTTP/1.1\r\nHost: h\r\nX-Slow: "));
    slow.push_back(fd);
  }
  std::atomic<bool> stop{false};
  std::thread trickle([&] {
    while (!stop) {
      for (int fd : slow) ::send(fd, "a", 1, MSG_NOSIGNAL | MSG_DONTWAIT);
      for (int i = 0; i < 10 && !stop; ++i) std::this_thread::sleep_for(milliseconds(100));
    }
  });
  // Fresh requests while every slow head is pending.
  for (int i = 0; i < 20; ++i) {
    auto t0 = Clock::now();
    EXPECT_EQ(Get("/fast" + std::to_string(i)), 200) << i;
    EXPECT_LT(Clock::now() - t0, milliseconds(500)) << i;
    std::this_thread::sleep_for(milliseconds(50));
  }
  EXPECT_LT(Clock::now() - start, milliseconds(2000)) << "the requests above were slow";
  EXPECT_GE(server_->open_connections(), 201);
  // Each slow connection: 408 once its head deadline passed, then closed.
  int timed_out = 0;
  for (int fd : slow) {
    std::string reply = ReadReply(fd);
    if (StatusOf(reply) == 408 && reply.find("\"status\":408") != std::string::npos &&
        ClosedByServer(fd))
      ++timed_out;
  }
  auto all_closed = Clock::now() - start;
  stop = true;
  trickle.join();
  EXPECT_EQ(timed_out, 200);
  EXPECT_GE(all_closed, milliseconds(1900));
  EXPECT_LT(all_closed, milliseconds(4500)) << "slow heads were not cut at the head deadline";
  // The idle keep-alive connection sent no byte: it is governed by the idle limit only.
  ASSERT_TRUE(Send(idle, "GET /idle HTTP/1.1\r\nHost: h\r\n\r\n"));
  EXPECT_EQ(StatusOf(ReadReply(idle)), 200);
}

// A client address holds at most max_conns_per_ip connections; the next one is answered 503
// (AIS error shape) and closed, and a slot frees when one of its connections closes.
TEST_F(HttpServerLimitsTest, ConnectionsPerAddressAreCapped) {
  ServerOptions o;
  o.max_conns_per_ip = 5;
  StartServer(o);
  std::vector<int> held;
  for (int i = 0; i < 5; ++i) {
    int fd = Connect();
    ASSERT_TRUE(Send(fd, "GET /k HTTP/1.1\r\nHost: h\r\n\r\n"));
    ASSERT_EQ(StatusOf(ReadReply(fd)), 200) << i;  // accepted and counted
    held.push_back(fd);
  }
  int over = Connect();
  std::string reply = ReadReply(over);  // sent at accept, before any request
  EXPECT_EQ(StatusOf(reply), 503) << reply;
  EXPECT_NE(reply.find("too many connections from 127.0.0.1"), std::string::npos) << reply;
  EXPECT_NE(reply.find("\"status\":503"), std::string::npos) << reply;
  EXPECT_TRUE(ClosedByServer(over));
  EXPECT_EQ(server_->open_connections(), 5);
  // Kept connections still work; closing one frees its slot.
  ASSERT_TRUE(Send(held[0], "GET /k HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n"));
  EXPECT_EQ(StatusOf(ReadReply(held[0])), 200);
  EXPECT_TRUE(ClosedByServer(held[0]));
  auto deadline = Clock::now() + milliseconds(2000);
  while (server_->open_connections() > 4 && Clock::now() < deadline)
    std::this_thread::sleep_for(milliseconds(10));
  EXPECT_EQ(Get("/again"), 200);
  // Connections the client closes (idle, or with half a head) free their slots at once, not
  // when their idle timer would have fired.
  for (size_t i = 1; i < held.size(); ++i) {
    if (i % 2) Send(held[i], "GET /half");
    ::shutdown(held[i], SHUT_RDWR);
  }
  deadline = Clock::now() + milliseconds(2000);
  while (server_->open_connections() > 1 && Clock::now() < deadline)
    std::this_thread::sleep_for(milliseconds(10));
  EXPECT_EQ(server_->open_connections(), 1);  // Get()'s
}

// With every general worker blocked (and more requests queued behind them), a peer's request
// to a priority path with the priority header is served by the reserved workers; the same
// path without the header waits in the general queue.
TEST_F(HttpServerLimitsTest, PriorityRequestsHaveTheirOwnWorkers) {
  ServerOptions o;
  o.workers = 2;
  o.priority_workers = 1;
  o.priority_paths = {"/v1/cluster/keepalive/", "/v1/health"};
  o.priority_header = "Aisle-Intra";
  StartServer(o);
  std::vector<int> blocked;
  for (int i = 0; i < 3; ++i) {
    int fd = Connect();
    ASSERT_TRUE(Send(fd, "GET /block HTTP/1.1\r\nHost: h\r\n\r\n"));
    blocked.push_back(fd);
  }
  handler_.WaitBlocked(2);
  auto t0 = Clock::now();
  EXPECT_EQ(Get("/v1/cluster/keepalive/t1", "Aisle-Intra: t1\r\n"), 200);
  EXPECT_EQ(Get("/v1/health", "Aisle-Intra: t2\r\n"), 200);
  EXPECT_LT(Clock::now() - t0, milliseconds(1000));
  // Without the header: queued behind the blocked requests until they finish.
  int plain = Connect(300);
  ASSERT_TRUE(Send(plain, "GET /v1/health HTTP/1.1\r\nHost: h\r\n\r\n"));
  EXPECT_EQ(ReadReply(plain), "");
  handler_.Release();
  timeval tv{5, 0};
  ::setsockopt(plain, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  EXPECT_EQ(StatusOf(ReadReply(plain)), 200);
  for (int fd : blocked) EXPECT_EQ(StatusOf(ReadReply(fd)), 200);
}

}  // namespace
}  // namespace aisle::http
