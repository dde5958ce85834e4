// The only translation unit of the node that includes Boost.Asio/Beast.
#include "server/http/http_server.h"

#include <poll.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <atomic>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <functional>
#include <limits>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <vector>

#include "common/logging.h"
#include "server/http/request_head.h"
#include "server/http/tls_server.h"

namespace aisle::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;

namespace {

// ---- worker pool ----------------------------------------------------------------------------

class WorkerPool {
 public:
  void Start(int n) {
    for (int i = 0; i < n; ++i) threads_.emplace_back([this] { Run(); });
  }
  void Post(std::function<void()> fn) {
    {
      std::lock_guard<std::mutex> l(mu_);
      queue_.push_back(std::move(fn));
    }
    cv_.notify_one();
  }
  void Stop() {
    {
      std::lock_guard<std::mutex> l(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    for (auto& t : threads_) t.join();
    threads_.clear();
  }

 private:
  void Run() {
    for (;;) {
      std::function<void()> fn;
      {
        std::unique_lock<std::mutex> l(mu_);
        cv_.wait(l, [this] { return stop_ || !queue_.empty(); });
        if (queue_.empty()) return;
        fn = std::move(queue_.front());
        queue_.pop_front();
      }
      fn();
    }
  }
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> queue_;
  std::vector<std::thread> threads_;
  bool stop_ = false;
};

// ---- blocking socket I/O with stall timeouts ------------------------------------------------

// Waits until fd is ready for `events`; false on timeout or error.
bool WaitFd(int fd, short events, int timeout_ms) {
  pollfd p{fd, events, 0};
  for (;;) {
    int r = ::poll(&p, 1, timeout_ms);
    if (r > 0) return true;
    if (r == 0) return false;
    if (errno != EINTR) return false;
  }
}

// A token bucket shared by all connections: caps the node's outgoing body bandwidth (used to
// emulate per-node network links in benchmarks). Thread-safe.
class RateLimiter {
 public:
  explicit RateLimiter(uint64_t bps) : bps_(bps), last_(std::chrono::steady_clock::now()) {}
  bool enabled() const { return bps_ > 0; }
  // Blocks until n bytes may be sent.
  void Acquire(uint64_t n) {
    std::chrono::steady_clock::time_point ready;
    {
      std::lock_guard<std::mutex> l(mu_);
      auto now = std::chrono::steady_clock::now();
      if (last_ < now) last_ = now;  // idle time does not bank credit beyond "now"
      ready = last_;
      last_ += std::chrono::nanoseconds(n * 1000000000ULL / bps_);
    }
    std::this_thread::sleep_until(ready);
  }

 private:
  uint64_t bps_;
  std::mutex mu_;
  std::chrono::steady_clock::time_point last_;
};

// A synchronous stream over a non-blocking socket fd, for Beast's sync parser.
class TimedStream {
 public:
  TimedStream(ConnIo& io, int timeout_ms) : io_(io), fd_(io.fd()), timeout_ms_(timeout_ms) {}

  size_t ReadRaw(void* p, size_t n, error_code& ec) {
    for (;;) {
      ssize_t r = io_.Recv(p, n);
      if (r > 0) return static_cast<size_t>(r);
      if (r == 0) {
        ec = asio::error::eof;
        return 0;
      }
      if (r == ConnIo::kError) {
        ec = asio::error::connection_reset;
        return 0;
      }
      if (!WaitFd(fd_, io_.want_events(), timeout_ms_)) {
        ec = beast::error::timeout;
        return 0;
      }
    }
  }

  bool tls() const { return io_.tls(); }

  // TLS: all of [p, p+n) through OpenSSL; false on error or stall.
  bool SendTls(const char* p, size_t n) {
    while (n > 0) {
      ssize_t w = io_.Send(p, n);
      if (w > 0) {
        p += w;
        n -= static_cast<size_t>(w);
        continue;
      }
      if (w != ConnIo::kWouldBlock || !WaitFd(fd_, io_.want_events(), timeout_ms_)) return false;
    }
    return true;
  }

  template <class MutableBufferSequence>
  size_t read_some(const MutableBufferSequence& buffers, error_code& ec) {
    ec = {};
    for (auto it = asio::buffer_sequence_begin(buffers); it != asio::buffer_sequence_end(buffers);
         ++it) {
      asio::mutable_buffer b = *it;
      if (b.size() > 0) return ReadRaw(b.data(), b.size(), ec);
    }
    return 0;
  }
  template <class MutableBufferSequence>
  size_t read_some(const MutableBufferSequence& buffers) {
    error_code ec;
    size_t n = read_some(buffers, ec);
    if (ec) throw boost::system::system_error(ec);
    return n;
  }

  // Writes all of iov (modified in place); false on error or stall.
  bool WriteAll(iovec* iov, int iovcnt) {
    if (io_.tls()) {
      // Small pieces (a head and a short body) go out as one TLS record.
      size_t total = 0;
      for (int i = 0; i < iovcnt; ++i) total += iov[i].iov_len;
      if (iovcnt > 1 && total <= 16384) {
        std::string joined;
        joined.reserve(total);
        for (int i = 0; i < iovcnt; ++i)
          joined.append(static_cast<const char*>(iov[i].iov_base), iov[i].iov_len);
        return SendTls(joined.data(), joined.size());
      }
      for (int i = 0; i < iovcnt; ++i) {
        if (!SendTls(static_cast<const char*>(iov[i].iov_base), iov[i].iov_len)) return false;
      }
      return true;
    }
    while (iovcnt > 0) {
      msghdr msg{};
      msg.msg_iov = iov;
      msg.msg_iovlen = static_cast<size_t>(iovcnt);
      ssize_t w = ::sendmsg(fd_, &msg, MSG_NOSIGNAL);
      if (w < 0) {
        if (errno == EINTR) continue;
        if ((errno == EAGAIN || errno == EWOULDBLOCK) && WaitFd(fd_, POLLOUT, timeout_ms_))
          continue;
        return false;
      }
      size_t left = static_cast<size_t>(w);
      while (iovcnt > 0 && left >= iov->iov_len) {
        left -= iov->iov_len;
        ++iov;
        --iovcnt;
      }
      if (iovcnt > 0) {
        iov->iov_base = static_cast<char*>(iov->iov_base) + left;
        iov->iov_len -= left;
      }
    }
    return true;
  }

  bool SendFile(int in_fd, uint64_t offset, uint64_t length, RateLimiter* limiter) {
    if (io_.tls()) return SendFileTls({}, in_fd, offset, length, limiter);
    off_t off = static_cast<off_t>(offset);
    while (length > 0) {
      size_t chunk = static_cast<size_t>(std::min<uint64_t>(length, 1 << 30));
      if (limiter) {
        chunk = std::min<size_t>(chunk, 256 * 1024);
        limiter->Acquire(chunk);
      }
      ssize_t w = ::sendfile(fd_, in_fd, &off, chunk);
      if (w < 0) {
        if (errno == EINTR) continue;
        if ((errno == EAGAIN || errno == EWOULDBLOCK) && WaitFd(fd_, POLLOUT, timeout_ms_))
          continue;
        return false;
      }
      if (w == 0) return false;  // file shrank under us
      length -= static_cast<uint64_t>(w);
    }
    return true;
  }

  // TLS encrypts in user space: the file is read into the worker's buffer and written through
  // OpenSSL, `head` (the response head) in front of the first piece so that a small object
  // goes out in one TLS record.
  bool SendFileTls(std::string_view head, int in_fd, uint64_t offset, uint64_t length,
                   RateLimiter* limiter) {
    // Small pieces: the buffer stays in cache between pread, encryption and send (a large
    // one per worker thrashes it and doubles the cost of the copies).
    constexpr size_t kChunk = 64 * 1024;
    thread_local std::unique_ptr<char[]> buf(new char[kChunk]);
    if (head.size() >= kChunk) {
      if (!SendTls(head.data(), head.size())) return false;
      head = {};
    }
    std::memcpy(buf.get(), head.data(), head.size());
    size_t have = head.size();
    while (length > 0 || have > 0) {
      size_t chunk = static_cast<size_t>(std::min<uint64_t>(length, kChunk - have));
      if (limiter && chunk > 0) limiter->Acquire(chunk);
      ssize_t r =
          chunk > 0 ? ::pread(in_fd, buf.get() + have, chunk, static_cast<off_t>(offset)) : 0;
      if (r < 0 && errno == EINTR) continue;
      if (r < 0 || (r == 0 && chunk > 0)) return false;  // an error, or the file shrank
      if (!SendTls(buf.get(), have + static_cast<size_t>(r))) return false;
      have = 0;
      offset += static_cast<uint64_t>(r);
      length -= static_cast<uint64_t>(r);
    }
    return true;
  }

 private:
  ConnIo& io_;
  int fd_;
  int timeout_ms_;
};

// Errors reading the client's body are about it (Subject::kRequestBody): S3 answers a stalled
// body with IncompleteBody rather than a server error.
Status StatusFromEc(const error_code& ec, const char* what) {
  Status st;
  if (ec == beast::error::timeout) {
    st = Status::Timeout(std::string(what) + ": client stalled");
  } else if (ec == bhttp::error::body_limit) {
    st = Status::TooLarge(std::string(what) + ": body exceeds the limit");
  } else if (ec == asio::error::eof || ec == bhttp::error::partial_message) {
    st = Status::InvalidArgument(std::string(what) + ": connection closed before the body ended");
  } else {
    st = Status::InvalidArgument(std::string(what) + ": " + ec.message());
  }
  return std::move(st).WithSubject(Subject::kRequestBody);
}

using Parser = bhttp::request_parser<bhttp::buffer_body>;

// Streams the request body to the handler: Content-Length bodies straight from the socket
// (no copy), chunked bodies through Beast's parser.
class RequestBody : public BodyReader {
 public:
  RequestBody(TimedStream& stream, beast::flat_buffer& buf, Parser& parser, bool expect_continue)
      : stream_(stream), buf_(buf), parser_(parser), expect_continue_(expect_continue) {
    chunked_ = parser_.chunked();
    if (!chunked_) remaining_ = parser_.content_length().value_or(0);
  }

  Result<size_t> Read(char* out, size_t n) override {
    if (n == 0 || done()) return size_t{0};
    if (expect_continue_) {
      static const char kContinue[] = "HTTP/1.1 100 Continue\r\n\r\n";
      iovec iov{const_cast<char*>(kContinue), sizeof kContinue - 1};
      if (!stream_.WriteAll(&iov, 1)) return Status::InvalidArgument("connection closed");
      expect_continue_ = false;
    }
    error_code ec;
    if (!chunked_) {
      size_t want = static_cast<size_t>(std::min<uint64_t>(n, remaining_));
      size_t got;
      if (buf_.size() > 0) {  // bytes that arrived with the header
        got = asio::buffer_copy(asio::buffer(out, want), buf_.data());
        buf_.consume(got);
      } else {
        got = stream_.ReadRaw(out, want, ec);
        if (ec) return StatusFromEc(ec, "reading request body");
      }
      remaining_ -= got;
      return got;
    }
    while (!parser_.is_done()) {
      parser_.get().body().data = out;
      parser_.get().body().size = n;
      bhttp::read_some(stream_, buf_, parser_, ec);
      if (ec == bhttp::error::need_buffer) ec = {};
      if (ec) return StatusFromEc(ec, "reading chunked request body");
      size_t got = n - parser_.get().body().size;
      if (got > 0) return got;
    }
    return size_t{0};
  }

  std::optional<uint64_t> DeclaredLength() const override {
    if (chunked_) return std::nullopt;
    return parser_.content_length().value_or(0);
  }

  bool done() const { return chunked_ ? parser_.is_done() : remaining_ == 0; }
  uint64_t remaining() const { return chunked_ ? UINT64_MAX : remaining_; }
  bool continue_pending() const { return expect_continue_; }

 private:
  TimedStream& stream_;
  beast::flat_buffer& buf_;
  Parser& parser_;
  bool expect_continue_;
  bool chunked_ = false;
  uint64_t remaining_ = 0;
};

// The status line's reason phrase, from Beast's table ("Unknown" for a code it does not know).
std::string_view Reason(int status) {
  auto known = beast::http::int_to_status(static_cast<unsigned>(status));
  if (known == beast::http::status::unknown) return "Unknown";
  beast::string_view r = beast::http::obsolete_reason(known);  // a static string
  return std::string_view(r.data(), r.size());
}

void AppendHeader(std::string& out, std::string_view name, std::string_view value) {
  out.append(name).append(": ");
  for (char c : value) out += (c == '\r' || c == '\n') ? ' ' : c;  // no header injection
  out.append("\r\n");
}

// ---- server ---------------------------------------------------------------------------------

// Open connections per client address. Thread-safe.
class ConnLimiter {
 public:
  explicit ConnLimiter(int limit) : limit_(limit) {}
  // Counts a new connection from `ip`; false (nothing counted) when it already holds `limit`.
  bool Acquire(const std::string& ip) {
    std::lock_guard<std::mutex> l(mu_);
    int& n = per_ip_[ip];
    if (limit_ > 0 && n >= limit_) {
      if (n == 0) per_ip_.erase(ip);
      return false;
    }
    ++n;
    ++open_;
    return true;
  }
  void Release(const std::string& ip) {
    std::lock_guard<std::mutex> l(mu_);
    auto it = per_ip_.find(ip);
    if (it != per_ip_.end() && --it->second <= 0) per_ip_.erase(it);
    --open_;
  }
  int64_t open() const {
    std::lock_guard<std::mutex> l(mu_);
    return open_;
  }

 private:
  const int limit_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, int> per_ip_;
  int64_t open_ = 0;
};

// One client connection. While parked on the event loop every field is touched only on its
// strand (the socket's executor); a worker owns it between hand-off and hand-back.
struct Connection {
  Connection(tcp::socket s, ConnLimiter* l)
      : socket(std::move(s)), timer(socket.get_executor()), limiter(l) {}
  ~Connection() {
    if (counted) limiter->Release(ip);
  }
  tcp::socket socket;
  asio::steady_timer timer;
  beast::flat_buffer buffer{64 * 1024};
  std::optional<Parser> parser;  // the request being read or served
  std::unique_ptr<ConnIo> io;    // plain or TLS; set at accept
  std::string ip;
  std::string remote;  // "ip:port"
  ConnLimiter* limiter;
  bool counted = false;            // holds a slot in `limiter`
  bool handshake_started = false;  // TLS: the first bytes were a handshake
  // Strand only: the timer armed last (a stale expiry is ignored) and whether it is the head
  // deadline (bytes of a head arrived) rather than the idle one.
  uint64_t timer_gen = 0;
  bool head_deadline = false;
};

enum class HeadState { kDone, kNeedMore, kClosed, kError };

// Reads what the socket has without blocking and parses the head; the head's bytes stay in
// the buffer until the head is complete (Beast parses a head in one piece). kError sets `ec`.
HeadState ReadHead(Connection& conn, const ServerOptions& opts, error_code& ec) {
  if (!conn.parser) {
    conn.parser.emplace();
    conn.parser->header_limit(static_cast<std::uint32_t>(opts.header_limit));
    conn.parser->body_limit(opts.body_limit ? opts.body_limit
                                            : std::numeric_limits<std::uint64_t>::max());
  }
  Parser& p = *conn.parser;
  for (;;) {
    if (conn.buffer.size() > 0) {
      size_t used = p.put(conn.buffer.data(), ec);
      conn.buffer.consume(used);
      if (ec == bhttp::error::need_more) {
        ec = {};
      } else if (ec) {
        return HeadState::kError;
      }
      if (p.is_header_done()) return HeadState::kDone;
      if (used > 0 && conn.buffer.size() > 0) continue;
    }
    if (conn.buffer.size() >= conn.buffer.max_size()) {
      ec = bhttp::error::header_limit;
      return HeadState::kError;
    }
    auto space = conn.buffer.prepare(beast::read_size(conn.buffer, 64 * 1024));
    ssize_t r = conn.io->Recv(space.data(), space.size());
    if (r > 0) {
      conn.buffer.commit(static_cast<size_t>(r));
      continue;
    }
    if (r == 0) return HeadState::kClosed;  // a partial head then EOF: nothing to answer
    if (r == ConnIo::kWouldBlock) return HeadState::kNeedMore;
    return HeadState::kClosed;
  }
}

// The transport's own error replies, in the AIS error shape (method, path and node are not
// known this early); the connection closes after.
std::string ErrorReply(int status, const std::string& message, const std::string& remote) {
  std::string body = "{\"message\":\"" + message +
                     "\",\"method\":\"\",\"url_path\":\"\",\"remote_addr\":\"" + remote +
                     "\",\"caller\":\"\",\"node\":\"\",\"status\":" + std::to_string(status) + "}";
  std::string out = "HTTP/1.1 " + std::to_string(status) + " ";
  out.append(Reason(status)).append("\r\n");
  AppendHeader(out, "Content-Type", "application/json");
  AppendHeader(out, "Content-Length", std::to_string(body.size()));
  AppendHeader(out, "Connection", "close");
  out.append("\r\n").append(body);
  return out;
}

// A bad head: 431 (too large), 413 (declared body over the limit) or 400.
std::string HeadErrorReply(const error_code& ec, const ServerOptions& opts,
                           const std::string& remote) {
  if (ec == bhttp::error::header_limit)
    return ErrorReply(
        431, "request header larger than " + std::to_string(opts.header_limit) + " bytes", remote);
  if (ec == bhttp::error::body_limit)
    return ErrorReply(413, "request body larger than " + std::to_string(opts.body_limit) + " bytes",
                      remote);
  return ErrorReply(400, "malformed request: " + ec.message(), remote);
}

// Sends what the socket takes now (short error replies into an empty send buffer); a client
// that does not read loses the reply, never a thread.
void SendNow(int fd, const std::string& data) {
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::send(fd, data.data() + off, data.size() - off, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    off += static_cast<size_t>(n);
  }
}

// The same through the connection's TLS session (nothing before the handshake is done).
void SendNow(ConnIo& io, const std::string& data) {
  if (!io.tls()) return SendNow(io.fd(), data);
  if (!io.established()) return;
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = io.Send(data.data() + off, data.size() - off);
    if (n <= 0) return;
    off += static_cast<size_t>(n);
  }
}

// A plain-HTTP request to the TLS port: its first byte is not a TLS handshake record (0x16).
bool LooksLikePlainHttp(int fd) {
  unsigned char first = 0;
  ssize_t n = ::recv(fd, &first, 1, MSG_PEEK | MSG_DONTWAIT);
  return n == 1 && first != 0x16;
}

}  // namespace

struct HttpServer::Impl {
  ServerOptions opts;
  api::Handler* handler;
  // Declared before the loop: connections still queued in it at destruction release here.
  std::unique_ptr<ConnLimiter> conns;
  asio::io_context ioc;
  tcp::acceptor acceptor{ioc};
  std::vector<std::thread> io_threads;
  WorkerPool pool;
  WorkerPool priority_pool;
  bool has_priority = false;
  std::atomic<bool> stopping{false};
  std::atomic<int> in_flight{0};
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work;
  uint16_t bound_port = 0;
  std::unique_ptr<RateLimiter> limiter;
  std::unique_ptr<ServerTls> tls;  // null: plain HTTP

  void Accept() {
    acceptor.async_accept(asio::make_strand(ioc), [this](error_code ec, tcp::socket socket) {
      if (ec) {
        if (ec == asio::error::operation_aborted || !acceptor.is_open()) return;
        spdlog::warn("accept: {}", ec.message());
        // EMFILE and friends: back off briefly instead of spinning.
        if (ec == asio::error::no_descriptors)
          std::this_thread::sleep_for(std::chrono::milliseconds(50));
        return Accept();
      }
      auto conn = std::make_shared<Connection>(std::move(socket), conns.get());
      error_code ignored;
      conn->socket.set_option(tcp::no_delay(true), ignored);
      conn->socket.non_blocking(true, ignored);
      auto ep = conn->socket.remote_endpoint(ignored);
      conn->ip = ep.address().to_string();
      conn->remote = conn->ip + ":" + std::to_string(ep.port());
      int fd = conn->socket.native_handle();
      ssl_st* ssl = nullptr;
      if (tls && (ssl = tls->NewSsl(fd)) == nullptr) {
        spdlog::warn("TLS: cannot start a session for {}", conn->remote);
        Close(*conn);
        return Accept();
      }
      conn->io = std::make_unique<ConnIo>(fd, ssl);
      if (!conns->Acquire(conn->ip)) {
        SendNow(*conn->io, ErrorReply(503,
                                      "too many connections from " + conn->ip + " (limit " +
                                          std::to_string(opts.max_conns_per_ip) + ")",
                                      conn->remote));
        Close(*conn);
      } else {
        conn->counted = true;
        asio::dispatch(conn->socket.get_executor(), [this, conn] {
          if (!conn->io->tls()) return WaitForRequest(conn);
          ArmTimer(conn, true);  // the handshake has the head's deadline
          WaitHandshake(conn, POLLIN);
        });
      }
      Accept();
    });
  }

  // Strand: (re)arms the connection's one timer: the idle limit while no byte of a head has
  // arrived, then the head deadline (armed once per head, never pushed back by new bytes).
  void ArmTimer(const std::shared_ptr<Connection>& conn, bool head) {
    conn->head_deadline = head;
    uint64_t gen = ++conn->timer_gen;
    conn->timer.expires_after(
        std::chrono::milliseconds(head ? opts.head_timeout_ms : opts.idle_timeout_ms));
    conn->timer.async_wait([this, conn, gen](error_code ec) {
      if (ec || gen != conn->timer_gen || !conn->socket.is_open()) return;
      if (conn->head_deadline) {
        SendNow(*conn->io, ErrorReply(408,
                                      "request head not received in " +
                                          std::to_string(opts.head_timeout_ms) + " ms",
                                      conn->remote));
      }
      Close(*conn);  // cancels the pending read wait
    });
  }

  // Strand: the TLS handshake, without blocking; then the first request head. A client that
  // speaks plain HTTP to the TLS port is answered in plain HTTP (400) and closed at once.
  void WaitHandshake(const std::shared_ptr<Connection>& conn, short events) {
    auto on_ready = [this, conn](error_code ec) {
      if (ec || stopping || !conn->socket.is_open()) return CloseOnLoop(conn);
      int fd = conn->socket.native_handle();
      if (!conn->handshake_started && LooksLikePlainHttp(fd)) {
        SendNow(fd, ErrorReply(400,
                               "this port speaks TLS: use https:// (plain HTTP request to a TLS "
                               "port)",
                               conn->remote));
        return CloseOnLoop(conn);
      }
      conn->handshake_started = true;
      int r = conn->io->Handshake();
      if (r == 1) return WaitForRequest(conn);
      if (r == ConnIo::kWouldBlock) return WaitHandshake(conn, conn->io->want_events());
      spdlog::debug("TLS handshake with {} failed", conn->remote);
      CloseOnLoop(conn);
    };
    conn->socket.async_wait(events == POLLOUT ? tcp::socket::wait_write : tcp::socket::wait_read,
                            std::move(on_ready));
  }

  // Strand: the loop owns the connection until a whole head has arrived.
  void WaitForRequest(const std::shared_ptr<Connection>& conn) {
    if (stopping) return CloseOnLoop(conn);
    ArmTimer(conn, conn->buffer.size() > 0);
    WaitReadable(conn);
  }

  void WaitReadable(const std::shared_ptr<Connection>& conn) {
    bool want_write = conn->io->tls() && conn->io->want_events() == POLLOUT;
    auto wait = want_write ? tcp::socket::wait_write : tcp::socket::wait_read;
    auto on_ready = [this, conn](error_code ec) {
      if (ec || stopping || !conn->socket.is_open()) return CloseOnLoop(conn);
      error_code perr;
      switch (ReadHead(*conn, opts, perr)) {
        case HeadState::kDone:
          ++conn->timer_gen;  // a late expiry must not touch a connection a worker owns
          conn->timer.cancel();
          return Dispatch(conn);
        case HeadState::kNeedMore:
          if (!conn->head_deadline && conn->buffer.size() > 0) ArmTimer(conn, true);
          return WaitReadable(conn);
        case HeadState::kClosed: return CloseOnLoop(conn);
        case HeadState::kError:
          SendNow(*conn->io, HeadErrorReply(perr, opts, conn->remote));
          return CloseOnLoop(conn);
      }
    };
    // Bytes OpenSSL already decrypted do not make the socket readable.
    if (conn->io->Pending())
      return asio::post(conn->socket.get_executor(), [on_ready] { on_ready(error_code()); });
    conn->socket.async_wait(wait, std::move(on_ready));
  }

  // Strand: closes a connection the loop owns and drops its timer wait, which holds the last
  // reference (the connection, and its slot in `conns`, would otherwise live until expiry).
  void CloseOnLoop(const std::shared_ptr<Connection>& conn) {
    ++conn->timer_gen;
    conn->timer.cancel();
    Close(*conn);
  }

  // Whether the parsed head is a peer's keepalive, metasync or health request.
  bool IsPriority(const Connection& conn) const {
    if (!has_priority) return false;
    const auto& msg = conn.parser->get();
    if (msg.find(beast::string_view(opts.priority_header)) == msg.end()) return false;
    beast::string_view target = msg.target();
    for (const auto& p : opts.priority_paths) {
      if (target.substr(0, p.size()) == beast::string_view(p)) return true;
    }
    return false;
  }

  // Hands a connection with a parsed head to a worker.
  void Dispatch(const std::shared_ptr<Connection>& conn) {
    bool priority = IsPriority(*conn);
    in_flight++;
    (priority ? priority_pool : pool).Post([this, conn, priority] {
      Serve(conn, priority);
      in_flight--;
    });
  }

  static void Close(Connection& conn) {
    if (conn.io) conn.io->Shutdown();
    error_code ignored;
    conn.socket.shutdown(tcp::socket::shutdown_both, ignored);
    conn.socket.close(ignored);
  }

  // Worker thread: serve requests on this connection while whole heads keep coming.
  void Serve(const std::shared_ptr<Connection>& conn, bool priority_worker) {
    int fd = conn->socket.native_handle();
    ConnIo& io = *conn->io;
    TimedStream stream(io, opts.io_timeout_ms);
    for (;;) {
      bool keep = ServeOne(*conn, stream);
      conn->parser.reset();
      if (!keep || stopping) return Close(*conn);
      if (conn->buffer.size() == 0 && !io.Pending() && !WaitFd(fd, POLLIN, opts.linger_ms))
        return HandBack(conn);
      error_code ec;
      HeadState st = ReadHead(*conn, opts, ec);
      if (st == HeadState::kNeedMore && WaitFd(fd, io.want_events(), opts.linger_ms))
        st = ReadHead(*conn, opts, ec);
      if (st == HeadState::kNeedMore) return HandBack(conn);
      if (st == HeadState::kClosed) return Close(*conn);
      if (st == HeadState::kError) {
        SendNow(io, HeadErrorReply(ec, opts, conn->remote));
        return Close(*conn);
      }
      if (priority_worker && !IsPriority(*conn)) return Dispatch(conn);  // not this quota's
    }
  }

  void HandBack(const std::shared_ptr<Connection>& conn) {
    asio::post(conn->socket.get_executor(), [this, conn] { WaitForRequest(conn); });
  }

  // Serves the request whose head is parsed; returns whether the connection stays open.
  bool ServeOne(Connection& conn, TimedStream& stream) {
    Parser& parser = *conn.parser;
    api::Request req;
    req.remote_addr = conn.remote;
    api::Response resp;
    auto& msg = parser.get();
    FillRequestFromHead(msg, req);
    bool expect_continue = false;
    auto expect = msg.find(bhttp::field::expect);
    if (expect != msg.end() && beast::iequals(expect->value(), "100-continue"))
      expect_continue = true;
    RequestBody body(stream, conn.buffer, parser, expect_continue);
    req.body = &body;
    req.has_body = parser.chunked() || parser.content_length().value_or(0) > 0;
    bool keep = msg.keep_alive();

    try {
      handler->Handle(req, resp);
    } catch (const std::exception& e) {
      spdlog::error("{} {}: handler threw: {}", req.method, req.target, e.what());
      resp = api::Response();
      resp.status = 500;
      resp.body = "{\"message\":\"internal error\",\"status\":500}";
    } catch (...) {
      resp = api::Response();
      resp.status = 500;
      resp.body = "{\"message\":\"internal error\",\"status\":500}";
    }
    // An unread body must be drained (small) or the connection closed, so the next request
    // does not start inside it. If the client waits for 100-continue, it sent nothing yet.
    if (!body.done()) {
      // A refused body (resp.close, 413) is not drained: the client may never send it.
      if (resp.close || resp.status == 413 || body.continue_pending() ||
          body.remaining() > (1u << 20)) {
        keep = false;
      } else {
        char sink[16384];
        for (;;) {
          auto n = body.Read(sink, sizeof sink);
          if (!n.ok()) {
            keep = false;
            break;
          }
          if (*n == 0) break;
        }
      }
    }
    if (resp.close || stopping) keep = false;
    if (!WriteResponse(stream, req, resp, keep)) return false;
    return keep;
  }

  // Copies a pulled body to the socket; false on any error (the caller closes).
  static bool WriteStream(TimedStream& stream, BodyReader& body, bool chunked) {
    std::unique_ptr<char[]> buf(new char[256 * 1024]);
    uint64_t sent = 0;
    for (;;) {
      auto n = body.Read(buf.get(), 256 * 1024);
      if (!n.ok()) return false;
      if (*n == 0) break;
      sent += *n;
      char size_line[32];
      int len = std::snprintf(size_line, sizeof size_line, "%zx\r\n", *n);
      iovec iov[3] = {
          {size_line, static_cast<size_t>(len)}, {buf.get(), *n}, {const_cast<char*>("\r\n"), 2}};
      bool ok = chunked ? stream.WriteAll(iov, 3) : stream.WriteAll(&iov[1], 1);
      if (!ok) return false;
    }
    if (chunked) {
      iovec end{const_cast<char*>("0\r\n\r\n"), 5};
      return stream.WriteAll(&end, 1);
    }
    return sent == body.DeclaredLength().value_or(sent);  // short: make the client see it
  }

  bool WriteResponse(TimedStream& stream, const api::Request& req, const api::Response& resp,
                     bool keep) {
    std::string head;
    head.reserve(512);
    head.append("HTTP/1.1 ").append(std::to_string(resp.status)).append(" ");
    head.append(Reason(resp.status)).append("\r\n");
    for (const auto& [k, v] : resp.headers.items()) AppendHeader(head, k, v);
    bool is_head = req.method == "HEAD";
    uint64_t length = resp.file ? resp.file->length : resp.body.size();
    std::optional<uint64_t> stream_length;
    if (resp.stream) stream_length = resp.stream->DeclaredLength();
    if (resp.stream) length = stream_length.value_or(0);
    if (is_head && resp.head_length) length = *resp.head_length;
    bool chunked = resp.stream && !stream_length && !is_head;
    if (chunked) {
      AppendHeader(head, "Transfer-Encoding", "chunked");
    } else if (resp.status >= 200 && resp.status != 204 && resp.status != 304) {
      AppendHeader(head, "Content-Length", std::to_string(length));
    }
    if (!keep) AppendHeader(head, "Connection", "close");
    head.append("\r\n");
    if (is_head) {
      iovec iov{head.data(), head.size()};
      return stream.WriteAll(&iov, 1);
    }
    if (resp.stream) {
      iovec iov{head.data(), head.size()};
      if (!stream.WriteAll(&iov, 1)) return false;
      return WriteStream(stream, *resp.stream, chunked);
    }
    if (resp.file) {
      // MSG_MORE is implied by writing the head then sendfile on a TCP_NODELAY socket;
      // small objects go out in two segments, which loopback handles fine.
      RateLimiter* lim = limiter && limiter->enabled() ? limiter.get() : nullptr;
      if (stream.tls())
        return stream.SendFileTls(head, resp.file->fd, resp.file->offset, resp.file->length, lim);
      iovec iov{head.data(), head.size()};
      if (!stream.WriteAll(&iov, 1)) return false;
      return stream.SendFile(resp.file->fd, resp.file->offset, resp.file->length, lim);
    }
    iovec iov[2] = {{head.data(), head.size()},
                    {const_cast<char*>(resp.body.data()), resp.body.size()}};
    return stream.WriteAll(iov, resp.body.empty() ? 1 : 2);
  }
};

HttpServer::HttpServer(ServerOptions options, api::Handler* handler)
    : impl_(std::make_unique<Impl>()) {
  impl_->opts = std::move(options);
  impl_->handler = handler;
  impl_->limiter = std::make_unique<RateLimiter>(impl_->opts.rate_limit_bps);
  impl_->conns = std::make_unique<ConnLimiter>(impl_->opts.max_conns_per_ip);
  impl_->has_priority = impl_->opts.priority_workers > 0 && !impl_->opts.priority_paths.empty() &&
                        !impl_->opts.priority_header.empty();
}

HttpServer::~HttpServer() { Shutdown(std::chrono::milliseconds(0)); }

Status HttpServer::Listen() {
  Impl& s = *impl_;
  if (!s.opts.tls.cert_file.empty() || !s.opts.tls.key_file.empty()) {
    AISLE_ASSIGN_OR_RETURN(s.tls, ServerTls::Load(s.opts.tls));
  }
  error_code ec;
  auto addr = asio::ip::make_address(s.opts.host, ec);
  if (ec) return Status::InvalidArgument("invalid listen address \"" + s.opts.host + "\"");
  tcp::endpoint ep(addr, s.opts.port);
  s.acceptor.open(ep.protocol(), ec);
  if (!ec) s.acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) s.acceptor.bind(ep, ec);
  if (!ec) s.acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return Status::Unavailable("listen on " + s.opts.host + ":" + std::to_string(s.opts.port) +
                               ": " + ec.message());
  }
  s.bound_port = s.acceptor.local_endpoint().port();
  return Status::OK();
}

void HttpServer::Start() {
  Impl& s = *impl_;
  int io = s.opts.io_threads > 0
               ? s.opts.io_threads
               : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  s.pool.Start(std::max(1, s.opts.workers));
  if (s.has_priority) s.priority_pool.Start(s.opts.priority_workers);
  s.work.emplace(s.ioc.get_executor());
  s.Accept();
  for (int i = 0; i < io; ++i) s.io_threads.emplace_back([&s] { s.ioc.run(); });
}

void HttpServer::SetHandler(api::Handler* handler) { impl_->handler = handler; }

bool HttpServer::tls() const { return impl_->tls != nullptr; }

Status HttpServer::ReloadTls() {
  if (!impl_->tls) return Status::InvalidArgument("TLS is not enabled");
  return impl_->tls->Reload();
}

uint16_t HttpServer::port() const { return impl_->bound_port; }

int64_t HttpServer::open_connections() const { return impl_->conns->open(); }

void HttpServer::Shutdown(std::chrono::milliseconds grace) {
  Impl& s = *impl_;
  if (s.stopping.exchange(true)) return;
  asio::post(s.ioc, [&s] {
    error_code ignored;
    s.acceptor.close(ignored);
  });
  auto deadline = std::chrono::steady_clock::now() + grace;
  while (s.in_flight.load() > 0 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  s.work.reset();
  s.ioc.stop();
  for (auto& t : s.io_threads) t.join();
  s.io_threads.clear();
  s.pool.Stop();
  s.priority_pool.Stop();
}

}  // namespace aisle::http
