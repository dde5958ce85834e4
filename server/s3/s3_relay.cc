#include "server/s3/s3_relay.h"

#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace aisle::api::s3 {
namespace {

constexpr size_t kBufSize = 256 * 1024;
constexpr size_t kMaxHead = 64 * 1024;

bool HopByHop(const std::string& name) {
  for (const char* h : {"Connection", "Keep-Alive", "Transfer-Encoding", "Content-Length",
                        "Proxy-Connection", "TE", "Upgrade", "Trailer"}) {
    if (strcasecmp(name.c_str(), h) == 0) return true;
  }
  return false;
}

// Owns the socket; buffered reads with the socket's receive timeout.
class Conn {
 public:
  explicit Conn(int fd) : fd_(fd), buf_(kBufSize) {}
  ~Conn() { ::close(fd_); }

  Status SendAll(const char* p, size_t n) {
    while (n > 0) {
      ssize_t w = ::send(fd_, p, n, MSG_NOSIGNAL);
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) return Status::Unavailable(std::string("relay send: ") + std::strerror(errno));
      p += w;
      n -= static_cast<size_t>(w);
    }
    return Status::OK();
  }

  // Bytes buffered, refilling once when empty; 0 at EOF.
  Result<size_t> Fill() {
    if (pos_ < len_) return len_ - pos_;
    for (;;) {
      ssize_t r = ::recv(fd_, buf_.data(), buf_.size(), 0);
      if (r < 0 && errno == EINTR) continue;
      if (r < 0)
        return Status::Unavailable(std::string("relay receive: ") +
                                   (errno == EAGAIN ? "timed out" : std::strerror(errno)));
      pos_ = 0;
      len_ = static_cast<size_t>(r);
      return len_;
    }
  }

  Result<size_t> ReadSome(char* out, size_t n) {
    AISLE_ASSIGN_OR_RETURN(size_t avail, Fill());
    size_t k = std::min(n, avail);
    std::memcpy(out, buf_.data() + pos_, k);
    pos_ += k;
    return k;
  }

  // One line without CRLF; fails on EOF or an over-long line.
  Result<std::string> ReadLine(size_t max) {
    std::string line;
    for (;;) {
      AISLE_ASSIGN_OR_RETURN(size_t avail, Fill());
      if (avail == 0) return Status::Unavailable("relay: connection closed in a header");
      const char* start = buf_.data() + pos_;
      const char* nl = static_cast<const char*>(std::memchr(start, '\n', avail));
      size_t take = nl ? static_cast<size_t>(nl - start) + 1 : avail;
      line.append(start, take);
      pos_ += take;
      if (line.size() > max) return Status::Unavailable("relay: response header too long");
      if (nl) break;
    }
    while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.pop_back();
    return line;
  }

 private:
  int fd_;
  std::vector<char> buf_;
  size_t pos_ = 0, len_ = 0;
};

enum class Framing { kLength, kChunked, kClose };

// The relayed response body; keeps the connection alive while the transport pulls it.
class RelayBody : public BodyReader {
 public:
  RelayBody(std::unique_ptr<Conn> conn, Framing f, uint64_t length)
      : conn_(std::move(conn)), framing_(f), remaining_(length) {}

  Result<size_t> Read(char* buf, size_t n) override {
    if (n == 0 || done_) return size_t{0};
    switch (framing_) {
      case Framing::kLength: {
        if (remaining_ == 0) return Done();
        AISLE_ASSIGN_OR_RETURN(size_t got, conn_->ReadSome(buf, std::min<uint64_t>(n, remaining_)));
        if (got == 0) return Status::Unavailable("relay: body cut short");
        remaining_ -= got;
        return got;
      }
      case Framing::kClose: {
        AISLE_ASSIGN_OR_RETURN(size_t got, conn_->ReadSome(buf, n));
        if (got == 0) return Done();
        return got;
      }
      case Framing::kChunked:
        return ReadChunked(buf, n);
    }
    return size_t{0};
  }

  std::optional<uint64_t> DeclaredLength() const override {
    if (framing_ == Framing::kLength) return declared_;
    return std::nullopt;
  }
  void set_declared(uint64_t d) { declared_ = d; }

 private:
  Result<size_t> Done() {
    done_ = true;
    return size_t{0};
  }

  Result<size_t> ReadChunked(char* buf, size_t n) {
    while (remaining_ == 0) {
      if (in_chunk_) {  // CRLF after a chunk's data
        AISLE_ASSIGN_OR_RETURN(std::string crlf, conn_->ReadLine(2));
        if (!crlf.empty()) return Status::Unavailable("relay: malformed chunk");
      }
      AISLE_ASSIGN_OR_RETURN(std::string line, conn_->ReadLine(1024));
      char* end = nullptr;
      unsigned long long size = std::strtoull(line.c_str(), &end, 16);
      if (end == line.c_str()) return Status::Unavailable("relay: malformed chunk size");
      if (size == 0) {  // trailers until the empty line
        for (;;) {
          AISLE_ASSIGN_OR_RETURN(std::string t, conn_->ReadLine(kMaxHead));
          if (t.empty()) break;
        }
        return Done();
      }
      remaining_ = size;
      in_chunk_ = true;
    }
    AISLE_ASSIGN_OR_RETURN(size_t got, conn_->ReadSome(buf, std::min<uint64_t>(n, remaining_)));
    if (got == 0) return Status::Unavailable("relay: chunked body cut short");
    remaining_ -= got;
    return got;
  }

  std::unique_ptr<Conn> conn_;
  Framing framing_;
  uint64_t remaining_;
  uint64_t declared_ = 0;
  bool in_chunk_ = false;
  bool done_ = false;
};

Result<int> Connect(const std::string& host, uint16_t port, int timeout_ms) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  std::string where = host + ":" + std::to_string(port);
  if (::getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &res) != 0 || !res)
    return Status::Unavailable("relay: cannot resolve " + where);
  int fd = -1;
  std::string err = "no address";
  for (addrinfo* a = res; a; a = a->ai_next) {
    fd = ::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) continue;
    timeval tv{timeout_ms / 1000, (timeout_ms % 1000) * 1000};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);  // also bounds connect()
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (::connect(fd, a->ai_addr, a->ai_addrlen) == 0) break;
    err = std::strerror(errno);
    ::close(fd);
    fd = -1;
  }
  ::freeaddrinfo(res);
  if (fd < 0) return Status::Unavailable("relay: cannot connect to " + where + ": " + err);
  return fd;
}

// Streams the client's body up: same Content-Length, or re-chunked when it had none.
Status SendBody(Conn& c, Request& req, bool chunked) {
  std::vector<char> buf(kBufSize);
  for (;;) {
    AISLE_ASSIGN_OR_RETURN(size_t got, req.body->Read(buf.data(), buf.size()));
    if (got == 0) break;
    if (chunked) {
      char hdr[32];
      int k = std::snprintf(hdr, sizeof hdr, "%zx\r\n", got);
      AISLE_RETURN_IF_ERROR(c.SendAll(hdr, static_cast<size_t>(k)));
      AISLE_RETURN_IF_ERROR(c.SendAll(buf.data(), got));
      AISLE_RETURN_IF_ERROR(c.SendAll("\r\n", 2));
    } else {
      AISLE_RETURN_IF_ERROR(c.SendAll(buf.data(), got));
    }
  }
  if (chunked) return c.SendAll("0\r\n\r\n", 5);
  return Status::OK();
}

// Reads one response head (status line + headers) into `out`.
Status ReadHead(Conn& c, RelayedResponse* out, bool* chunked) {
  AISLE_ASSIGN_OR_RETURN(std::string line, c.ReadLine(kMaxHead));
  if (line.size() < 12 || line.compare(0, 5, "HTTP/") != 0)
    return Status::Unavailable("relay: malformed status line");
  out->status = std::atoi(line.c_str() + 9);
  out->headers.clear();
  out->content_length.reset();
  size_t total = 0;
  for (;;) {
    AISLE_ASSIGN_OR_RETURN(std::string h, c.ReadLine(kMaxHead));
    if (h.empty()) return Status::OK();
    total += h.size();
    if (total > kMaxHead) return Status::Unavailable("relay: response header too long");
    size_t colon = h.find(':');
    if (colon == std::string::npos) continue;
    std::string name = h.substr(0, colon);
    size_t v = h.find_first_not_of(" \t", colon + 1);
    std::string value = v == std::string::npos ? "" : h.substr(v);
    if (strcasecmp(name.c_str(), "Content-Length") == 0)
      out->content_length = std::strtoull(value.c_str(), nullptr, 10);
    if (strcasecmp(name.c_str(), "Transfer-Encoding") == 0 &&
        strcasecmp(value.c_str(), "chunked") == 0)
      *chunked = true;
    if (!HopByHop(name)) out->headers.emplace_back(std::move(name), std::move(value));
  }
}

}  // namespace

bool SplitUrl(const std::string& url, std::string* host, uint16_t* port) {
  std::string_view u = url;
  if (u.substr(0, 7) == "http://") u.remove_prefix(7);
  size_t slash = u.find('/');
  if (slash != std::string_view::npos) u = u.substr(0, slash);
  size_t colon = u.rfind(':');
  if (colon == std::string_view::npos || colon == 0) return false;
  *host = std::string(u.substr(0, colon));
  if (host->size() > 2 && host->front() == '[') *host = host->substr(1, host->size() - 2);
  int p = std::atoi(std::string(u.substr(colon + 1)).c_str());
  if (p <= 0 || p > 65535) return false;
  *port = static_cast<uint16_t>(p);
  return true;
}

Result<RelayedResponse> Relay(const std::string& host, uint16_t port, Request& req,
                              const RelayOptions& opts) {
  AISLE_ASSIGN_OR_RETURN(int fd, Connect(host, port, opts.io_timeout_ms));
  auto conn = std::make_unique<Conn>(fd);

  std::optional<uint64_t> length;
  if (req.has_body) length = req.body->DeclaredLength();
  bool chunked = req.has_body && !length;
  std::string head = req.method + " " + req.target + " HTTP/1.1\r\n";
  for (const auto& [k, v] : req.headers.items()) {
    if (!HopByHop(k)) head.append(k).append(": ").append(v).append("\r\n");
  }
  // Keep an explicit "Content-Length: 0": clients may sign it.
  if (const std::string* cl = req.headers.Find("Content-Length"); cl && !chunked)
    head.append("Content-Length: ").append(length ? std::to_string(*length) : *cl).append("\r\n");
  if (chunked) head.append("Transfer-Encoding: chunked\r\n");
  for (const auto& [k, v] : opts.extra_headers)
    head.append(k).append(": ").append(v).append("\r\n");
  head.append("Connection: close\r\n\r\n");

  RelayedResponse out;
  AISLE_RETURN_IF_ERROR(conn->SendAll(head.data(), head.size()));
  // With "Expect: 100-continue" the body goes up only once the peer asks for it, so a refused
  // request (bad signature) costs no upload; otherwise it goes right away.
  const std::string expect = req.headers.Get("Expect");
  bool wait_continue = req.has_body && strcasecmp(expect.c_str(), "100-continue") == 0;
  Status sent;
  bool body_pending = req.has_body;
  for (;;) {
    if (body_pending && !wait_continue) {
      body_pending = false;
      // The peer may answer early and close: still read what it said.
      sent = SendBody(*conn, req, chunked);
      if (!sent.ok()) out.request_body_sent = false;
    }
    bool chunked_resp = false;
    Status st = ReadHead(*conn, &out, &chunked_resp);
    if (!st.ok()) return sent.ok() ? st : sent;
    if (out.status >= 100 && out.status < 200) {
      wait_continue = false;  // 100 Continue: send the body now
      continue;
    }
    if (body_pending) out.request_body_sent = false;  // answered before asking for it
    bool no_body = req.method == "HEAD" || out.status == 204 || out.status == 304;
    if (no_body) return out;
    if (chunked_resp) {
      out.content_length.reset();
      out.body = std::make_shared<RelayBody>(std::move(conn), Framing::kChunked, 0);
    } else if (out.content_length) {
      auto b = std::make_shared<RelayBody>(std::move(conn), Framing::kLength, *out.content_length);
      b->set_declared(*out.content_length);
      out.body = std::move(b);
    } else {
      out.body = std::make_shared<RelayBody>(std::move(conn), Framing::kClose, 0);
    }
    return out;
  }
}

Status RelayInto(const std::string& host, uint16_t port, Request& req, Response& resp,
                 const RelayOptions& opts) {
  AISLE_ASSIGN_OR_RETURN(RelayedResponse r, Relay(host, port, req, opts));
  resp.status = r.status;
  for (auto& [k, v] : r.headers) resp.headers.Add(std::move(k), std::move(v));
  if (req.method == "HEAD") resp.head_length = r.content_length;
  resp.stream = std::move(r.body);
  if (!r.request_body_sent) resp.close = true;  // the client's body was not consumed
  return Status::OK();
}

}  // namespace aisle::api::s3
