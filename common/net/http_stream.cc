#include "common/net/http_stream.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>

#include "common/text.h"

namespace aisle {
namespace {

constexpr size_t kRecvChunk = 64 << 10;  // receive-buffer growth for heads and chunk lines
constexpr size_t kSendChunk = 256 << 10;
constexpr size_t kMaxChunkLine = 1024;

// A failed send/recv: a stall (SO_SNDTIMEO/SO_RCVTIMEO ran out) or a dropped connection.
Status SocketError(const std::string& what, int err) {
  if (err == EAGAIN || err == EWOULDBLOCK) return Status::Timeout(what + ": peer stalled");
  return Status::Unavailable(what + ": " + std::strerror(err));
}

bool IsStall(int err) { return err == EAGAIN || err == EWOULDBLOCK; }

bool ParseHead(std::string_view head, HttpResponseHead* h) {
  size_t eol = head.find("\r\n");
  std::string_view line = head.substr(0, eol);
  if (line.size() < 12 || line.substr(0, 5) != "HTTP/") return false;
  h->http11 = line.substr(5, 3) == "1.1";
  size_t sp = line.find(' ');
  if (sp == std::string_view::npos || sp + 4 > line.size()) return false;
  h->status = std::atoi(std::string(line.substr(sp + 1, 3)).c_str());
  if (h->status < 100 || h->status > 599) return false;
  h->close = !h->http11;
  size_t pos = eol == std::string_view::npos ? head.size() : eol + 2;
  while (pos < head.size()) {
    size_t e = head.find("\r\n", pos);
    if (e == std::string_view::npos) e = head.size();
    std::string_view l = head.substr(pos, e - pos);
    pos = e + 2;
    size_t colon = l.find(':');
    if (colon == std::string_view::npos) continue;
    std::string_view name = TrimSpace(l.substr(0, colon)), value = TrimSpace(l.substr(colon + 1));
    if (IEquals(name, "Content-Length")) {
      // Digits only, and one value: anything else would misframe this body and the next reply.
      uint64_t n = 0;
      auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
      if (ec != std::errc() || end != value.data() + value.size() || value.empty()) return false;
      if (h->content_length && *h->content_length != n) return false;
      h->content_length = n;
    } else if (IEquals(name, "Transfer-Encoding")) {
      h->chunked = !IEquals(value, "identity");
    } else if (IEquals(name, "Connection")) {
      if (IEquals(value, "close")) h->close = true;
      if (IEquals(value, "keep-alive")) h->close = false;
    }
    h->headers.emplace_back(std::string(name), std::string(value));
  }
  return true;
}

std::string SslError() {
  unsigned long e = ERR_get_error();
  ERR_clear_error();
  if (e == 0) return "connection closed";
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  return buf;
}

// A client context from the options: the CA file (or the system's), optional client cert.
Result<std::shared_ptr<SSL_CTX>> ClientContext(const TlsClientOptions& o) {
  ERR_clear_error();
  std::shared_ptr<SSL_CTX> ctx(SSL_CTX_new(TLS_client_method()), SSL_CTX_free);
  if (!ctx) return Status::Internal("TLS: " + SslError());
  SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION);
  SSL_CTX_set_mode(ctx.get(), SSL_MODE_AUTO_RETRY);
  if (!o.skip_verify) {
    int ok = o.ca_file.empty()
                 ? SSL_CTX_set_default_verify_paths(ctx.get())
                 : SSL_CTX_load_verify_locations(ctx.get(), o.ca_file.c_str(), nullptr);
    if (ok != 1) return Status::InvalidArgument("TLS CA file " + o.ca_file + ": " + SslError());
    SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);
  }
  if (!o.cert_file.empty()) {
    if (SSL_CTX_use_certificate_chain_file(ctx.get(), o.cert_file.c_str()) != 1 ||
        SSL_CTX_use_PrivateKey_file(ctx.get(), o.key_file.c_str(), SSL_FILETYPE_PEM) != 1)
      return Status::InvalidArgument("TLS client certificate " + o.cert_file + ": " + SslError());
  }
  return ctx;
}

// The TLS handshake on a connected blocking socket (bounded by its timeouts).
Status Handshake(SSL* ssl, const std::string& host, const std::string& hostport) {
  in6_addr a6;
  in_addr a4;
  bool is_ip =
      ::inet_pton(AF_INET, host.c_str(), &a4) == 1 || ::inet_pton(AF_INET6, host.c_str(), &a6) == 1;
  X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
  if (is_ip) {
    X509_VERIFY_PARAM_set1_ip_asc(param, host.c_str());
  } else {
    SSL_set_tlsext_host_name(ssl, host.c_str());
    X509_VERIFY_PARAM_set1_host(param, host.c_str(), 0);
  }
  ERR_clear_error();
  if (SSL_connect(ssl) == 1) return Status::OK();
  long verify = SSL_get_verify_result(ssl);
  if (verify != X509_V_OK)
    return Status::Unavailable("TLS " + hostport + ": certificate verify failed: " +
                               X509_verify_cert_error_string(verify));
  return Status::Unavailable("TLS handshake with " + hostport + ": " + SslError());
}

}  // namespace

// ---- HttpConnection ----

ssize_t HttpConnection::RecvSome(char* p, size_t n) {
  if (ssl_ == nullptr) return ::recv(fd_, p, n, 0);
  ERR_clear_error();
  size_t got = 0;
  if (SSL_read_ex(ssl_, p, n, &got) == 1) return static_cast<ssize_t>(got);
  int e = SSL_get_error(ssl_, 0);
  ERR_clear_error();
  if (e == SSL_ERROR_ZERO_RETURN) return 0;
  if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
    errno = EAGAIN;  // SO_RCVTIMEO ran out
    return -1;
  }
  if (e == SSL_ERROR_SYSCALL && errno == 0) return 0;  // EOF without close_notify
  if (errno == 0) errno = ECONNRESET;
  return -1;
}

ssize_t HttpConnection::SendSome(const char* p, size_t n) {
  if (ssl_ == nullptr) return ::send(fd_, p, n, MSG_NOSIGNAL);
  ERR_clear_error();
  size_t put = 0;
  if (SSL_write_ex(ssl_, p, n, &put) == 1) return static_cast<ssize_t>(put);
  int e = SSL_get_error(ssl_, 0);
  ERR_clear_error();
  if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
    errno = EAGAIN;
  } else if (errno == 0 || errno == EAGAIN) {
    errno = EPIPE;
  }
  return -1;
}

Result<std::unique_ptr<HttpConnection>> HttpConnection::Connect(
    const std::string& hostport, const HttpStreamOptions& o, const std::shared_ptr<SSL_CTX>& tls) {
  size_t colon = hostport.rfind(':');
  if (colon == std::string::npos) return Status::InvalidArgument("no port in " + hostport);
  std::string host = hostport.substr(0, colon), port = hostport.substr(colon + 1);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  if (int rc = ::getaddrinfo(host.c_str(), port.c_str(), &hints, &res); rc != 0)
    return Status::Unavailable("resolve " + host + ": " + ::gai_strerror(rc));
  Status last = Status::Unavailable("connect " + hostport + ": no address");
  for (addrinfo* a = res; a != nullptr; a = a->ai_next) {
    int fd = ::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, a->ai_protocol);
    if (fd < 0) continue;
    int rc = ::connect(fd, a->ai_addr, a->ai_addrlen);
    if (rc != 0 && errno == EINPROGRESS) {
      pollfd p{fd, POLLOUT, 0};
      rc = ::poll(&p, 1, static_cast<int>(o.connect_timeout.count()));
      int err = 0;
      socklen_t len = sizeof err;
      if (rc == 1 && ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err == 0) {
        rc = 0;
      } else {
        last = rc == 0 ? Status::Timeout("connect " + hostport + ": timed out")
                       : Status::Unavailable("connect " + hostport + ": " +
                                             std::strerror(err != 0 ? err : errno));
        rc = -1;
      }
    } else if (rc != 0) {
      last = Status::Unavailable("connect " + hostport + ": " + std::strerror(errno));
    }
    if (rc != 0) {
      ::close(fd);
      continue;
    }
    // Blocking from here on, every send and receive bounded by the I/O timeout.
    ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    timeval tv{};
    tv.tv_sec = static_cast<time_t>(o.io_timeout.count() / 1000);
    tv.tv_usec = static_cast<suseconds_t>((o.io_timeout.count() % 1000) * 1000);
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    ::freeaddrinfo(res);
    std::unique_ptr<HttpConnection> conn(new HttpConnection(fd, hostport));
    if (tls) {
      conn->ctx_ = tls;
      conn->ssl_ = SSL_new(tls.get());
      if (conn->ssl_ == nullptr || SSL_set_fd(conn->ssl_, fd) != 1)
        return Status::Internal("TLS: " + SslError());
      AISLE_RETURN_IF_ERROR(Handshake(conn->ssl_, host, hostport));
    }
    return conn;
  }
  ::freeaddrinfo(res);
  return last;
}

HttpConnection::~HttpConnection() {
  if (ssl_ != nullptr) SSL_free(ssl_);  // no close_notify: it could wait on a stalled peer
  ::close(fd_);
}

Status HttpConnection::Send(std::string_view bytes) {
  for (size_t sent = 0; sent < bytes.size();) {
    ssize_t k = SendSome(bytes.data() + sent, bytes.size() - sent);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) {
      int err = k < 0 ? errno : EPIPE;
      if (!IsStall(err)) dropped_before_reply_ = true;
      return SocketError("send to " + hostport_, err);
    }
    sent += static_cast<size_t>(k);
  }
  return Status::OK();
}

Status HttpConnection::SendBody(BodyReader& body, bool chunked) {
  std::vector<char> buf(kSendChunk);
  for (;;) {
    AISLE_ASSIGN_OR_RETURN(size_t got, body.Read(buf.data(), buf.size()));
    if (got == 0) break;
    if (chunked) {
      char hdr[32];
      int k = std::snprintf(hdr, sizeof hdr, "%zx\r\n", got);
      AISLE_RETURN_IF_ERROR(Send(std::string_view(hdr, static_cast<size_t>(k))));
      AISLE_RETURN_IF_ERROR(Send(std::string_view(buf.data(), got)));
      AISLE_RETURN_IF_ERROR(Send("\r\n"));
    } else {
      AISLE_RETURN_IF_ERROR(Send(std::string_view(buf.data(), got)));
    }
  }
  if (chunked) return Send("0\r\n\r\n");
  return Status::OK();
}

size_t HttpConnection::TakeBuffered(char* dest, size_t n) {
  size_t k = std::min(n, buffered());
  if (k > 0) {
    std::memcpy(dest, buf_.data() + pos_, k);
    pos_ += k;
  }
  if (pos_ == buf_.size()) {
    buf_.clear();
    pos_ = 0;
  }
  return k;
}

Result<size_t> HttpConnection::RecvMore(size_t room) {
  if (pos_ == buf_.size()) {
    buf_.clear();
    pos_ = 0;
  }
  size_t have = buf_.size();
  buf_.resize(have + room);
  for (;;) {
    ssize_t k = RecvSome(buf_.data() + have, room);
    if (k < 0 && errno == EINTR) continue;
    buf_.resize(have + static_cast<size_t>(std::max<ssize_t>(k, 0)));
    if (k < 0) return SocketError("receive from " + hostport_, errno);
    return static_cast<size_t>(k);
  }
}

Result<HttpResponseHead> HttpConnection::ReadHead(size_t max_head) {
  dropped_before_reply_ = false;
  size_t head_end = 0, scanned = 0;
  for (;;) {
    std::string_view sv(buf_.data() + pos_, buffered());
    if (size_t e = sv.find("\r\n\r\n", scanned); e != std::string_view::npos) {
      head_end = e + 4;
      break;
    }
    scanned = sv.size() >= 3 ? sv.size() - 3 : 0;
    if (sv.size() >= max_head)
      return Status::IOError("reply from " + hostport_ + ": head over " + std::to_string(max_head) +
                             " bytes");
    bool nothing_yet = sv.empty();
    Result<size_t> k = RecvMore(max_head - sv.size());
    if (!k.ok()) {
      if (nothing_yet && k.status().code() == StatusCode::kUnavailable)
        dropped_before_reply_ = true;
      return k.status();
    }
    if (*k == 0) {
      if (nothing_yet) dropped_before_reply_ = true;  // a kept-alive connection the peer closed
      return Status::Unavailable("reply from " + hostport_ + ": connection closed before it");
    }
  }
  HttpResponseHead h;
  if (!ParseHead(std::string_view(buf_.data() + pos_, head_end), &h))
    return Status::IOError("reply from " + hostport_ + ": malformed head");
  pos_ += head_end;
  return h;
}

Result<std::string> HttpConnection::ReadLine(size_t max) {
  std::string line;
  for (;;) {
    if (buffered() == 0) {
      AISLE_ASSIGN_OR_RETURN(size_t k, RecvMore(kRecvChunk));
      if (k == 0) return Status::Unavailable("reply from " + hostport_ + ": closed in a line");
    }
    const char* start = buf_.data() + pos_;
    const char* nl = static_cast<const char*>(std::memchr(start, '\n', buffered()));
    size_t take = nl ? static_cast<size_t>(nl - start) + 1 : buffered();
    line.append(start, take);
    pos_ += take;
    if (line.size() > max) return Status::IOError("reply from " + hostport_ + ": line too long");
    if (nl) break;
  }
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.pop_back();
  return line;
}

// ---- HttpConnectionPool ----

std::unique_ptr<HttpConnection> HttpConnectionPool::Take(const std::string& hostport) {
  std::lock_guard lk(mu_);
  auto it = idle_.find(hostport);
  if (it == idle_.end() || it->second.empty()) return nullptr;
  std::unique_ptr<HttpConnection> c = std::move(it->second.back());
  it->second.pop_back();
  return c;
}

void HttpConnectionPool::Put(std::unique_ptr<HttpConnection> c) {
  if (c->buffered() != 0) return;  // bytes nobody asked for: not a clean connection
  std::lock_guard lk(mu_);
  auto& v = idle_[c->hostport()];
  if (v.size() < max_per_host_) v.push_back(std::move(c));
}

// ---- HttpBodyStream ----

HttpBodyStream::HttpBodyStream(std::unique_ptr<HttpConnection> conn, Framing framing,
                               uint64_t length, std::shared_ptr<HttpConnectionPool> pool, bool keep)
    : conn_(std::move(conn)),
      framing_(framing),
      length_(framing == Framing::kLength ? length : 0),
      remaining_(length_),
      pool_(std::move(pool)),
      keep_(keep && pool_ != nullptr && framing != Framing::kUntilClose) {
  if (framing_ == Framing::kLength && remaining_ == 0) Finish();
}

HttpBodyStream::~HttpBodyStream() = default;

std::optional<uint64_t> HttpBodyStream::content_length() const {
  if (framing_ == Framing::kLength) return length_;
  return std::nullopt;
}

void HttpBodyStream::Finish() {
  done_ = true;
  if (conn_ != nullptr && keep_) pool_->Put(std::move(conn_));  // read to its end: reusable
  conn_.reset();
}

Result<uint64_t> HttpBodyStream::Took(uint64_t n, const Status& st) {
  if (!st.ok()) {
    broken_ = st;  // spent: the position in the body is unknown
    remaining_ = 0;
    done_ = true;
    conn_.reset();
    return st;
  }
  if (framing_ != Framing::kLength) return n;
  remaining_ -= n;
  if (remaining_ == 0) Finish();
  return n;
}

Result<uint64_t> HttpBodyStream::Read(char* dest, uint64_t n) {
  if (!broken_.ok()) return broken_;
  if (framing_ != Framing::kLength) {  // no length to wait for: piece by piece
    uint64_t got = 0;
    while (got < n) {
      AISLE_ASSIGN_OR_RETURN(uint64_t k, ReadSome(dest + got, n - got));
      if (k == 0) break;
      got += k;
    }
    return got;
  }
  n = std::min(n, remaining_);
  if (n == 0) return uint64_t{0};
  uint64_t from_buffer = conn_->TakeBuffered(dest, n);
  // The rest straight into dest: one receive (MSG_WAITALL), no copy through a buffer.
  for (uint64_t got = from_buffer; got < n;) {
    ssize_t k = conn_->ssl_ ? conn_->RecvSome(dest + got, n - got)
                            : ::recv(conn_->fd_, dest + got, n - got, MSG_WAITALL);
    if (k > 0) {
      got += static_cast<uint64_t>(k);
    } else if (k == 0) {
      return Took(
          n, Status::Unavailable("body from " + conn_->hostport() + ": connection closed after " +
                                 std::to_string(got) + " of " + std::to_string(n) + " bytes"));
    } else if (errno != EINTR) {
      return Took(n, SocketError("body from " + conn_->hostport(), errno));
    }
  }
  return Took(n, Status::OK());
}

Result<uint64_t> HttpBodyStream::ReadSome(char* dest, uint64_t n) {
  if (!broken_.ok()) return broken_;
  if (done_ || n == 0) return uint64_t{0};
  if (framing_ == Framing::kChunked) return ReadChunked(dest, n);
  if (framing_ == Framing::kLength) n = std::min(n, remaining_);
  uint64_t k = conn_->TakeBuffered(dest, n);
  if (k > 0) return Took(k, Status::OK());
  for (;;) {
    ssize_t r = conn_->RecvSome(dest, n);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return Took(0, SocketError("body from " + conn_->hostport(), errno));
    if (r > 0) return Took(static_cast<uint64_t>(r), Status::OK());
    if (framing_ == Framing::kUntilClose) {
      Finish();
      return uint64_t{0};
    }
    return Took(0, Status::Unavailable("body from " + conn_->hostport() + ": cut short"));
  }
}

Result<uint64_t> HttpBodyStream::ReadChunked(char* dest, uint64_t n) {
  auto fail = [&](const Status& st) { return Took(0, st); };
  while (remaining_ == 0) {
    if (in_chunk_) {  // the CRLF after a chunk's data
      Result<std::string> crlf = conn_->ReadLine(2);
      if (!crlf.ok()) return fail(crlf.status());
      if (!crlf->empty())
        return fail(Status::IOError("body from " + conn_->hostport() + ": malformed chunk"));
    }
    Result<std::string> line = conn_->ReadLine(kMaxChunkLine);
    if (!line.ok()) return fail(line.status());
    char* end = nullptr;
    unsigned long long size = std::strtoull(line->c_str(), &end, 16);
    if (end == line->c_str())
      return fail(Status::IOError("body from " + conn_->hostport() + ": malformed chunk size"));
    if (size == 0) {  // trailers until the empty line
      for (;;) {
        Result<std::string> t = conn_->ReadLine(kRecvChunk);
        if (!t.ok()) return fail(t.status());
        if (t->empty()) break;
      }
      Finish();
      return uint64_t{0};
    }
    remaining_ = size;
    in_chunk_ = true;
  }
  uint64_t want = std::min(n, remaining_);
  uint64_t k = conn_->TakeBuffered(dest, want);
  if (k == 0) {
    for (;;) {
      ssize_t r = conn_->RecvSome(dest, want);
      if (r < 0 && errno == EINTR) continue;
      if (r < 0) return fail(SocketError("body from " + conn_->hostport(), errno));
      if (r == 0)
        return fail(Status::Unavailable("body from " + conn_->hostport() + ": chunk cut short"));
      k = static_cast<uint64_t>(r);
      break;
    }
  }
  remaining_ -= k;
  return k;
}

Result<uint64_t> HttpBodyStream::SpliceTo(int pipe_wr, uint64_t n, bool* pipe_full) {
  *pipe_full = false;
  if (!broken_.ok()) return broken_;
  if (framing_ != Framing::kLength)
    return Status::Unsupported("splice: only bodies with a Content-Length");
  if (conn_->ssl_ != nullptr) return Status::Unsupported("splice: TLS bodies are decrypted");
  if (pool_ != nullptr && pool_->splice_refused())
    return Status::Unsupported("the kernel does not splice from sockets here");
  n = std::min(n, remaining_);
  if (n == 0) return uint64_t{0};
  uint64_t done = 0;
  // The pipe side never waits (SPLICE_F_NONBLOCK): nothing else empties this pipe while we
  // fill it, so a full pipe would wait forever. The socket side waits up to SO_RCVTIMEO.
  auto room = [&] {
    pollfd p{pipe_wr, POLLOUT, 0};
    return ::poll(&p, 1, 0) == 1 && (p.revents & POLLOUT);
  };
  while (done < n && conn_->buffered() > 0) {  // bytes that came with the response head
    // Written only where the pipe has room (a write to a blocking pipe would wait for it).
    int cap = ::fcntl(pipe_wr, F_GETPIPE_SZ), used = 0;
    if (cap < 0 || ::ioctl(pipe_wr, FIONREAD, &used) != 0)
      return Took(n, Status::FromErrno(errno, "splice: pipe size"));
    uint64_t fits = cap > used ? static_cast<uint64_t>(cap - used) : 0;
    if (fits == 0) {
      *pipe_full = true;
      return Took(done, Status::OK());
    }
    ssize_t k = ::write(pipe_wr, conn_->buf_.data() + conn_->pos_,
                        std::min<uint64_t>({n - done, conn_->buffered(), fits}));
    if (k < 0 && errno == EINTR) continue;
    if (k < 0) return Took(n, Status::FromErrno(errno, "splice: write to pipe"));
    conn_->pos_ += static_cast<size_t>(k);
    done += static_cast<uint64_t>(k);
  }
  while (done < n) {
    ssize_t k = ::splice(conn_->fd_, nullptr, pipe_wr, nullptr, n - done,
                         SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
    if (k > 0) {
      done += static_cast<uint64_t>(k);
    } else if (k == 0) {
      return Took(
          n, Status::Unavailable("body from " + conn_->hostport() + ": connection closed after " +
                                 std::to_string(done) + " of " + std::to_string(n) + " bytes"));
    } else if (errno == EAGAIN && !room()) {
      *pipe_full = true;  // the caller receives the rest the usual way
      break;
    } else if (done == 0 && (errno == EINVAL || errno == ENOSYS || errno == EOPNOTSUPP)) {
      if (pool_ != nullptr) pool_->set_splice_refused();
      return Status::Unsupported("the kernel does not splice from sockets here");
    } else if (errno != EINTR) {
      return Took(n, SocketError("body from " + conn_->hostport(), errno));
    }
  }
  return Took(done, Status::OK());
}

namespace {

class BodyStreamReader : public BodyReader {
 public:
  explicit BodyStreamReader(std::unique_ptr<HttpBodyStream> b) : body_(std::move(b)) {}
  Result<size_t> Read(char* buf, size_t n) override {
    AISLE_ASSIGN_OR_RETURN(uint64_t k, body_->ReadSome(buf, n));
    return static_cast<size_t>(k);
  }
  std::optional<uint64_t> DeclaredLength() const override { return body_->content_length(); }

 private:
  std::unique_ptr<HttpBodyStream> body_;
};

}  // namespace

std::shared_ptr<BodyReader> AsBodyReader(std::unique_ptr<HttpBodyStream> body) {
  return std::make_shared<BodyStreamReader>(std::move(body));
}

// ---- HttpStreamClient ----

HttpStreamClient::HttpStreamClient(HttpStreamOptions o)
    : opts_(o), pool_(o.keep_alive ? std::make_shared<HttpConnectionPool>() : nullptr) {
  if (opts_.tls) {
    auto ctx = ClientContext(*opts_.tls);
    if (ctx.ok()) {
      tls_ = std::move(*ctx);
    } else {
      tls_error_ = ctx.status();
    }
  }
}

Result<HttpStreamResponse> HttpStreamClient::Send(const std::string& hostport,
                                                  const HttpStreamRequest& req) {
  for (int attempt = 0;; ++attempt) {
    std::unique_ptr<HttpConnection> conn;
    if (attempt == 0 && pool_ != nullptr) conn = pool_->Take(hostport);
    bool reused = conn != nullptr;
    if (!reused) {
      AISLE_RETURN_IF_ERROR(tls_error_);
      AISLE_ASSIGN_OR_RETURN(conn, HttpConnection::Connect(hostport, opts_, tls_));
    }
    Result<HttpStreamResponse> r = Exchange(conn, req);
    // A kept-alive connection the peer has closed meanwhile: once more on a new one.
    if (!r.ok() && reused && req.body == nullptr && conn->dropped_before_reply()) continue;
    return r;
  }
}

Result<HttpStreamResponse> HttpStreamClient::Exchange(std::unique_ptr<HttpConnection>& conn,
                                                      const HttpStreamRequest& req) {
  std::string head = req.method + " " + req.target + " HTTP/1.1\r\n";
  for (const auto& [k, v] : req.headers) head.append(k).append(": ").append(v).append("\r\n");
  bool chunked = req.body != nullptr && req.chunked;
  if (chunked) head.append("Transfer-Encoding: chunked\r\n");
  head.append("\r\n");
  AISLE_RETURN_IF_ERROR(conn->Send(head));

  HttpStreamResponse out;
  // With 100-continue the body goes up only once the peer asks for it, so a refused request
  // costs no upload; otherwise it goes right away.
  bool wait_continue = req.body != nullptr && req.expect_continue;
  bool body_pending = req.body != nullptr;
  Status sent;
  for (;;) {
    if (body_pending && !wait_continue) {
      body_pending = false;
      // The peer may answer early and close: still read what it said.
      sent = conn->SendBody(*req.body, chunked);
      if (!sent.ok()) out.request_body_sent = false;
    }
    Result<HttpResponseHead> h = conn->ReadHead(opts_.max_head);
    if (!h.ok()) return sent.ok() ? h.status() : sent;
    if (h->status < 200) {  // 100 Continue (or another interim reply): send the body now
      wait_continue = false;
      continue;
    }
    if (body_pending) out.request_body_sent = false;  // answered before asking for it
    out.head = std::move(*h);
    break;
  }
  const HttpResponseHead& h = out.head;
  // The peer may keep this connection only if it has read the whole request.
  bool keep = pool_ != nullptr && !h.close && out.request_body_sent && sent.ok();
  bool no_body = req.method == "HEAD" || h.status == 204 || h.status == 304;
  if (no_body) {
    if (keep) pool_->Put(std::move(conn));
    return out;
  }
  HttpBodyStream::Framing framing = HttpBodyStream::Framing::kUntilClose;
  if (h.chunked) {
    framing = HttpBodyStream::Framing::kChunked;
  } else if (h.content_length) {
    framing = HttpBodyStream::Framing::kLength;
    if (conn->buffered() > *h.content_length)
      return Status::IOError("reply from " + conn->hostport() + ": bytes after the body");
  }
  out.body = std::make_unique<HttpBodyStream>(std::move(conn), framing,
                                              h.content_length.value_or(0), pool_, keep);
  return out;
}

}  // namespace aisle
