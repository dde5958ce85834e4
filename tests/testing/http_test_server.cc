#include "tests/testing/http_test_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <stdexcept>

namespace aisle::testing {

std::optional<std::string> HttpTestRequest::Header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (k.size() == name.size() && ::strncasecmp(k.data(), name.data(), k.size()) == 0) return v;
  }
  return std::nullopt;
}

std::string HttpReplyBytes(int status, std::string_view body,
                           const std::vector<std::pair<std::string, std::string>>& headers,
                           bool with_body) {
  std::string out = "HTTP/1.1 " + std::to_string(status) + " X\r\n";
  bool has_len = false;
  for (const auto& [k, v] : headers) {
    out += k + ": " + v + "\r\n";
    if (::strcasecmp(k.c_str(), "Content-Length") == 0) has_len = true;
  }
  if (!has_len) out += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  out += "\r\n";
  if (with_body) out += body;
  return out;
}

HttpTestServer::HttpTestServer(Script script, EarlyScript early)
    : script_(std::move(script)), early_(std::move(early)) {
  fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      ::listen(fd_, 64) != 0 || ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len) != 0)
    throw std::runtime_error("HttpTestServer: cannot listen on 127.0.0.1");
  port_ = ntohs(a.sin_port);
  accept_thread_ = std::thread([this] { AcceptLoop(); });
}

HttpTestServer::~HttpTestServer() {
  stop_ = true;
  accept_thread_.join();
  ::close(fd_);
  std::lock_guard lk(mu_);
  for (auto& t : conn_threads_) t.join();
}

std::vector<HttpTestRequest> HttpTestServer::requests() const {
  std::lock_guard lk(mu_);
  return requests_;
}

void HttpTestServer::Record(const HttpTestRequest& r) {
  std::lock_guard lk(mu_);
  requests_.push_back(r);
}

void HttpTestServer::AcceptLoop() {
  while (!stop_) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, 20) <= 0) continue;
    int c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (c < 0) continue;
    ++connections_;
    std::lock_guard lk(mu_);
    conn_threads_.emplace_back([this, c] {
      Serve(c);
      ::close(c);
    });
  }
}

// Appends what arrives to buf (and raw); false at EOF, on an error or when stopping.
bool HttpTestServer::ReadMore(int c, std::string* buf, std::string* raw) {
  while (!stop_) {
    pollfd p{c, POLLIN, 0};
    int r = ::poll(&p, 1, 20);
    if (r == 0) continue;
    if (r < 0) return false;
    char tmp[65536];
    ssize_t k = ::recv(c, tmp, sizeof tmp, 0);
    if (k <= 0) return false;
    buf->append(tmp, static_cast<size_t>(k));
    raw->append(tmp, static_cast<size_t>(k));
    return true;
  }
  return false;
}

bool HttpTestServer::ReadLine(int c, std::string* buf, std::string* raw, std::string* line) {
  size_t pos;
  while ((pos = buf->find("\r\n")) == std::string::npos) {
    if (!ReadMore(c, buf, raw)) return false;
  }
  *line = buf->substr(0, pos);
  buf->erase(0, pos + 2);
  return true;
}

bool HttpTestServer::ReadExact(int c, std::string* buf, std::string* raw, size_t n,
                               std::string* out) {
  while (buf->size() < n) {
    if (!ReadMore(c, buf, raw)) return false;
  }
  out->append(*buf, 0, n);
  buf->erase(0, n);
  return true;
}

void HttpTestServer::Reply(int c, const HttpTestReply& r) {
  if (r.delay.count() > 0) std::this_thread::sleep_for(r.delay);
  for (size_t off = 0; off < r.bytes.size();) {
    ssize_t k = ::send(c, r.bytes.data() + off, r.bytes.size() - off, MSG_NOSIGNAL);
    if (k <= 0) return;
    off += static_cast<size_t>(k);
  }
}

void HttpTestServer::Serve(int c) {
  std::string buf, raw;  // raw: what arrived and was not yet given to a request
  while (!stop_) {
    HttpTestRequest req;
    std::string line;
    if (!ReadLine(c, &buf, &raw, &line)) return;
    size_t sp1 = line.find(' '), sp2 = line.find(' ', sp1 + 1);
    req.method = line.substr(0, sp1);
    req.target = line.substr(sp1 + 1, sp2 - sp1 - 1);
    for (;;) {
      if (!ReadLine(c, &buf, &raw, &line)) return;
      if (line.empty()) break;
      size_t colon = line.find(':');
      if (colon == std::string::npos) continue;
      size_t v = line.find_first_not_of(' ', colon + 1);
      req.headers.emplace_back(line.substr(0, colon), v == std::string::npos ? "" : line.substr(v));
    }
    // raw holds this request's bytes and whatever followed them in the same reads.
    auto take_raw = [&] {
      req.raw = raw.substr(0, raw.size() - buf.size());
      raw.erase(0, req.raw.size());
    };
    if (early_) {
      if (std::optional<HttpTestReply> r = early_(req)) {
        take_raw();
        Record(req);
        Reply(c, *r);
        return;
      }
    }
    if (req.Header("Expect") == "100-continue") {
      HttpTestReply cont{"HTTP/1.1 100 Continue\r\n\r\n"};
      Reply(c, cont);
    }
    if (auto cl = req.Header("Content-Length")) {
      if (!ReadExact(c, &buf, &raw, std::strtoull(cl->c_str(), nullptr, 10), &req.body)) return;
    } else if (req.Header("Transfer-Encoding") == "chunked") {
      for (;;) {
        if (!ReadLine(c, &buf, &raw, &line)) return;
        size_t n = std::strtoul(line.c_str(), nullptr, 16);
        if (n == 0) {
          if (!ReadLine(c, &buf, &raw, &line)) return;  // the empty trailer
          break;
        }
        std::string crlf;
        if (!ReadExact(c, &buf, &raw, n, &req.body) || !ReadExact(c, &buf, &raw, 2, &crlf)) return;
      }
    }
    take_raw();
    Record(req);
    HttpTestReply r = script_(req);
    Reply(c, r);
    if (r.after == HttpTestReply::kClose) return;
    if (r.after == HttpTestReply::kStall) {
      while (!stop_) std::this_thread::sleep_for(std::chrono::milliseconds(20));
      return;
    }
  }
}

}  // namespace aisle::testing
