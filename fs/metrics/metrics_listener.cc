#include "fs/metrics/metrics_listener.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string_view>

#include "server/metrics/prom_text.h"

namespace aisle::fs {
namespace {

void WriteAll(int fd, std::string_view s) {
  while (!s.empty()) {
    ssize_t n = ::send(fd, s.data(), s.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // the scraper went away
    s.remove_prefix(static_cast<size_t>(n));
  }
}

std::string Reply(int code, std::string_view reason, std::string_view type, std::string_view body) {
  std::string r = "HTTP/1.1 " + std::to_string(code) + " " + std::string(reason) + "\r\n";
  r += "Content-Type: " + std::string(type) + "\r\n";
  r += "Content-Length: " + std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n";
  r += body;
  return r;
}

}  // namespace

Result<std::unique_ptr<MetricsListener>> MetricsListener::Bind(const std::string& host_port) {
  size_t colon = host_port.rfind(':');
  if (colon == std::string::npos) return Status::InvalidArgument("metrics: expected HOST:PORT");
  std::string host = host_port.substr(0, colon), port = host_port.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* res = nullptr;
  if (int rc = ::getaddrinfo(host.empty() ? nullptr : host.c_str(), port.c_str(), &hints, &res);
      rc != 0) {
    return Status::InvalidArgument("metrics " + host_port + ": " + ::gai_strerror(rc));
  }
  int fd = ::socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    ::freeaddrinfo(res);
    return Status::IOError(std::string("metrics: socket: ") + std::strerror(errno));
  }
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  int rc = ::bind(fd, res->ai_addr, res->ai_addrlen);
  int err = errno;
  ::freeaddrinfo(res);
  if (rc != 0 || ::listen(fd, 16) != 0) {
    if (rc == 0) err = errno;
    ::close(fd);
    return Status::Unavailable("metrics: cannot listen on " + host_port + ": " +
                               std::strerror(err));
  }
  sockaddr_storage sa{};
  socklen_t len = sizeof sa;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len);
  int bound = sa.ss_family == AF_INET6 ? ntohs(reinterpret_cast<sockaddr_in6*>(&sa)->sin6_port)
                                       : ntohs(reinterpret_cast<sockaddr_in*>(&sa)->sin_port);
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) {
    ::close(fd);
    return Status::IOError(std::string("metrics: pipe: ") + std::strerror(errno));
  }
  return std::unique_ptr<MetricsListener>(new MetricsListener(fd, bound, p[0], p[1]));
}

MetricsListener::MetricsListener(int fd, int port, int wake_rd, int wake_wr)
    : fd_(fd), port_(port), wake_rd_(wake_rd), wake_wr_(wake_wr) {}

MetricsListener::~MetricsListener() {
  if (thread_.joinable()) {
    char c = 0;
    while (::write(wake_wr_, &c, 1) < 0 && errno == EINTR) {
    }
    thread_.join();
  }
  ::close(fd_);
  ::close(wake_rd_);
  ::close(wake_wr_);
}

void MetricsListener::Start(std::function<std::string()> render) {
  render_ = std::move(render);
  thread_ = std::thread([this] { Loop(); });
}

void MetricsListener::Loop() {
  for (;;) {
    pollfd p[2] = {{fd_, POLLIN, 0}, {wake_rd_, POLLIN, 0}};
    if (::poll(p, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if (p[1].revents != 0) return;  // stop
    if ((p[0].revents & POLLIN) == 0) continue;
    int conn = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (conn < 0) continue;
    Serve(conn);
    ::close(conn);
  }
}

void MetricsListener::Serve(int conn) {
  // A slow or silent client costs at most these timeouts; scrapes are one at a time.
  timeval tv{2, 0};
  ::setsockopt(conn, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(conn, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  std::string head;
  char buf[1024];
  while (head.find("\r\n\r\n") == std::string::npos && head.size() < 8192) {
    ssize_t n = ::recv(conn, buf, sizeof buf, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    head.append(buf, static_cast<size_t>(n));
  }
  size_t eol = head.find("\r\n");
  if (eol == std::string::npos) {
    WriteAll(conn, Reply(400, "Bad Request", "text/plain", "bad request\n"));
    return;
  }
  // "METHOD TARGET HTTP/1.x"
  std::string_view line(head.data(), eol);
  size_t sp1 = line.find(' '), sp2 = line.rfind(' ');
  if (sp1 == std::string_view::npos || sp2 == sp1) {
    WriteAll(conn, Reply(400, "Bad Request", "text/plain", "bad request\n"));
    return;
  }
  std::string_view method = line.substr(0, sp1);
  std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  std::string_view path = target.substr(0, target.find('?'));
  if (path != "/metrics") {
    WriteAll(conn, Reply(404, "Not Found", "text/plain", "not found: only /metrics\n"));
  } else if (method != "GET" && method != "HEAD") {
    WriteAll(conn, Reply(405, "Method Not Allowed", "text/plain", "GET /metrics only\n"));
  } else {
    std::string body = render_();
    std::string r = Reply(200, "OK", metrics::kTextContentType, body);
    if (method == "HEAD") r.resize(r.size() - body.size());
    WriteAll(conn, r);
  }
}

}  // namespace aisle::fs
