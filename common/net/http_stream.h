// The keep-alive HTTP/1.1 stream layer over plain sockets, for callers that need what libcurl
// (http_client.h) cannot give: a response body received straight into the caller's buffer or
// spliced socket->pipe (the FUSE read path), or a request relayed with its body streamed both
// ways (the S3 proxy). It sends a request head and a streamed body (waiting for 100 Continue
// when asked), parses the response head within a bound, reads bodies framed by Content-Length,
// chunked encoding or the connection's end, and gives a connection read to the end of its
// body back to an idle pool. Every connect, send and receive has a timeout.
// Errors: kUnavailable when a connection is refused or dropped, kTimeout when the peer stalls,
// kIOError for a malformed reply, kUnsupported for what this layer does not do.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "common/body.h"
#include "common/net/tls_options.h"
#include "common/result.h"

struct ssl_st;
struct ssl_ctx_st;

namespace aisle {

struct HttpStreamOptions {
  std::chrono::milliseconds connect_timeout{10'000};
  std::chrono::milliseconds io_timeout{120'000};  // each send and receive: a longer stall fails
  size_t max_head = 64 << 10;                     // bound on a response's status line + headers
  // Connections are kept alive and reused; false: one per request (the caller then sends
  // "Connection: close").
  bool keep_alive = true;
  // Set: every connection speaks TLS (https), verified as it says.
  std::optional<TlsClientOptions> tls;
};

struct HttpResponseHead {
  int status = 0;
  bool http11 = false;
  std::vector<std::pair<std::string, std::string>> headers;  // in arrival order
  std::optional<uint64_t> content_length;
  bool chunked = false;  // Transfer-Encoding other than identity
  bool close = false;    // the peer closes the connection after this reply
};

// One client connection: the socket (blocking, with send/receive timeouts) and the bytes
// received past what has been consumed. Not thread-safe.
class HttpConnection {
 public:
  // Connects to "host:port" ("[v6]:port" too). kUnavailable when the host cannot be resolved
  // or refuses, kTimeout after o.connect_timeout.
  // tls: null for plain HTTP; else the handshake runs here (server certificate and host name
  // verified as the context says).
  static Result<std::unique_ptr<HttpConnection>> Connect(
      const std::string& hostport, const HttpStreamOptions& o,
      const std::shared_ptr<ssl_ctx_st>& tls = nullptr);
  ~HttpConnection();
  HttpConnection(const HttpConnection&) = delete;
  HttpConnection& operator=(const HttpConnection&) = delete;

  const std::string& hostport() const { return hostport_; }
  // All of `bytes`, or kUnavailable / kTimeout.
  Status Send(std::string_view bytes);
  // Streams `body` to its end: as is, or in chunked encoding (with the final empty chunk).
  Status SendBody(BodyReader& body, bool chunked);
  // Reads one response head (a 1xx one too) of at most max_head bytes; body bytes that came
  // with it stay buffered for the body reader.
  Result<HttpResponseHead> ReadHead(size_t max_head);
  // The last failure was the peer closing (or resetting) the connection before any byte of
  // the reply: a kept-alive connection it had dropped meanwhile.
  bool dropped_before_reply() const { return dropped_before_reply_; }
  // Bytes received and not consumed yet.
  size_t buffered() const { return buf_.size() - pos_; }

 private:
  friend class HttpBodyStream;
  friend class HttpConnectionPool;
  HttpConnection(int fd, std::string hostport) : fd_(fd), hostport_(std::move(hostport)) {}
  // One receive/send on the socket or through TLS: > 0 bytes, 0 at the end, -1 with errno
  // (EAGAIN: the timeout ran out).
  ssize_t RecvSome(char* p, size_t n);
  ssize_t SendSome(const char* p, size_t n);
  // Moves up to n buffered bytes to dest.
  size_t TakeBuffered(char* dest, size_t n);
  // Receives more bytes into the buffer (up to `room`); 0 at the connection's end.
  Result<size_t> RecvMore(size_t room);
  // One line without its CRLF, of at most `max` bytes.
  Result<std::string> ReadLine(size_t max);

  int fd_;
  std::string hostport_;
  std::shared_ptr<ssl_ctx_st> ctx_;  // TLS: the context ssl_ came from
  ssl_st* ssl_ = nullptr;            // TLS session; null: plain
  std::string buf_;                  // received bytes; those before pos_ are consumed
  size_t pos_ = 0;
  bool dropped_before_reply_ = false;
};

// Kept-alive connections by "host:port", shared by a client and the bodies it handed out (a
// body read to its end gives its connection back, even after the client is gone).
// Thread-safe.
class HttpConnectionPool {
 public:
  explicit HttpConnectionPool(size_t max_idle_per_host = 32) : max_per_host_(max_idle_per_host) {}
  // An idle connection to hostport; null when none.
  std::unique_ptr<HttpConnection> Take(const std::string& hostport);
  // Keeps c (closed instead when the host has max_idle_per_host or c has unread bytes).
  void Put(std::unique_ptr<HttpConnection> c);

  // The kernel refused to splice from a socket once: later bodies do not try again.
  bool splice_refused() const { return splice_refused_.load(std::memory_order_relaxed); }
  void set_splice_refused() { splice_refused_ = true; }

 private:
  const size_t max_per_host_;
  std::mutex mu_;
  std::unordered_map<std::string, std::vector<std::unique_ptr<HttpConnection>>>
      idle_;  // GUARDED_BY(mu_)
  std::atomic<bool> splice_refused_{false};
};

// A response body, received by one reader in order; it owns its connection. Read to its end,
// the connection goes back to the pool (when it may be kept); dropped before, it is closed.
// After an error the body is spent (its position on the wire is unknown). Not thread-safe.
class HttpBodyStream {
 public:
  enum class Framing { kLength, kChunked, kUntilClose };
  // REQUIRES: the connection's buffered bytes are the body's first bytes. pool: null when the
  // connection is not to be kept.
  HttpBodyStream(std::unique_ptr<HttpConnection> conn, Framing framing, uint64_t length,
                 std::shared_ptr<HttpConnectionPool> pool, bool keep);
  ~HttpBodyStream();
  HttpBodyStream(const HttpBodyStream&) = delete;
  HttpBodyStream& operator=(const HttpBodyStream&) = delete;

  // Receives min(n, what is left) bytes straight into dest (bytes that came with the head
  // are copied, the rest received in place); 0 at the end. kUnavailable when the peer drops
  // the connection, kTimeout when it stalls.
  Result<uint64_t> Read(char* dest, uint64_t n);
  // Like Read but returns after the first bytes that arrive (at least one unless at the end).
  Result<uint64_t> ReadSome(char* dest, uint64_t n);
  // The same into a pipe (its write end): socket pages are spliced, not copied. Fewer than n
  // when the pipe is full (*pipe_full: each socket fragment takes a pipe slot, however small),
  // never waiting for room. kUnsupported for bodies not framed by Content-Length and when the
  // kernel cannot splice from the socket.
  Result<uint64_t> SpliceTo(int pipe_wr, uint64_t n, bool* pipe_full);

  // Bytes left of a Content-Length body (0 for other framings once spent or at the end).
  uint64_t remaining() const { return remaining_; }
  // The declared length, for bodies framed by Content-Length.
  std::optional<uint64_t> content_length() const;
  bool at_end() const { return done_; }

 private:
  // Bookkeeping after n body bytes were taken (or the error that spent the body).
  Result<uint64_t> Took(uint64_t n, const Status& st);
  Result<uint64_t> ReadChunked(char* dest, uint64_t n);
  void Finish();  // at the end: the connection goes back or is closed

  std::unique_ptr<HttpConnection> conn_;
  Framing framing_;
  uint64_t length_;
  uint64_t remaining_;  // of the body (kLength) or of the current chunk (kChunked)
  bool in_chunk_ = false;
  bool done_ = false;
  Status broken_;
  std::shared_ptr<HttpConnectionPool> pool_;
  bool keep_;
};

// The body as a BodyReader (Read returns what arrives; DeclaredLength the Content-Length).
std::shared_ptr<BodyReader> AsBodyReader(std::unique_ptr<HttpBodyStream> body);

struct HttpStreamRequest {
  std::string method = "GET";
  std::string target;
  std::vector<std::pair<std::string, std::string>> headers;  // sent as given (Host included)
  BodyReader* body = nullptr;                                // streamed after the head; not owned
  bool chunked = false;          // send body chunked (Transfer-Encoding: chunked is added)
  bool expect_continue = false;  // send body only once the peer answers 100 Continue
};

struct HttpStreamResponse {
  HttpResponseHead head;
  bool request_body_sent = true;         // false: the peer answered before taking the whole body
  std::unique_ptr<HttpBodyStream> body;  // null when the reply has none (HEAD, 204, 304)
};

// Requests over kept-alive connections. Thread-safe.
class HttpStreamClient {
 public:
  explicit HttpStreamClient(HttpStreamOptions o);
  HttpStreamClient(const HttpStreamClient&) = delete;
  HttpStreamClient& operator=(const HttpStreamClient&) = delete;

  // Sends req to "host:port" and reads the final reply's head (1xx ones are skipped); the
  // body is then received through HttpStreamResponse::body. Uses a kept-alive connection when
  // there is one (once more on a new one when the peer had closed it and req has no body).
  Result<HttpStreamResponse> Send(const std::string& hostport, const HttpStreamRequest& req);

 private:
  Result<HttpStreamResponse> Exchange(std::unique_ptr<HttpConnection>& conn,
                                      const HttpStreamRequest& req);

  const HttpStreamOptions opts_;
  const std::shared_ptr<HttpConnectionPool> pool_;  // null without keep_alive
  std::shared_ptr<ssl_ctx_st> tls_;                 // opts_.tls set and loaded
  Status tls_error_;                                // opts_.tls set and not loadable
};

}  // namespace aisle
