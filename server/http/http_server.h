// HttpServer: the node's HTTP/1.1 transport (Boost.Asio + Beast, confined to http_server.cc).
//
// Threads: `io_threads` run the Asio loop: accept, park idle keep-alive connections, and read
// request heads without blocking (Beast's parser over the connection's buffer) until a head
// is complete, so slow or idle clients cost no worker. Only a complete head is handed to one
// of `workers`, which streams the body straight into the handler (BodyReader) and writes the
// response (headers by hand, file bodies with sendfile). A worker keeps serving a busy
// connection for `linger_ms` (reading the next head only if it arrives whole) before handing
// it back to the loop. Handlers may block on disk; every body read and response write has a
// stall timeout, every head a total deadline.
//
// Starvation limits: a head must arrive whole within `head_timeout_ms` (408, then close); a
// client address holds at most `max_conns_per_ip` connections (503 and close beyond); a
// declared body over `body_limit` is refused with 413 before any worker is committed; and
// `priority_workers` serve only priority requests (cluster keepalives, metasync, health), so
// a flood on the public port cannot stop a node from answering its peers.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/status.h"
#include "server/api/http_types.h"
#include "server/http/tls_server.h"

namespace aisle::http {

struct ServerOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 0;   // 0 = ephemeral
  int io_threads = 0;  // 0 = one per core
  int workers = 64;    // concurrent requests being served
  size_t header_limit = 16 * 1024;
  uint64_t body_limit = 0;      // 0 = unlimited (streamed to disk); over it: 413 from the head
  int io_timeout_ms = 30000;    // a body read or response write that stalls this long fails
  int head_timeout_ms = 10000;  // a request head not complete this long after its first byte
                                // (or after the previous response): 408 and close
  int max_conns_per_ip = 256;   // open connections per client address; beyond: 503, close
                                // (0 = no limit)
  // Extra workers serving only requests whose path starts with one of `priority_paths` and
  // that carry the `priority_header` (any value). None when either list is empty.
  int priority_workers = 4;
  std::vector<std::string> priority_paths;
  std::string priority_header;
  int idle_timeout_ms = 120000;  // idle keep-alive connections are closed after this
  int linger_ms = 2;             // how long a worker waits for the next pipelined request
  uint64_t rate_limit_bps = 0;   // cap on response body bytes/s for the whole node (0 = none)
  // Certificate and key set: the port speaks TLS only (plain HTTP is answered 400 and closed).
  TlsFiles tls;
};

class HttpServer {
 public:
  HttpServer(ServerOptions options, api::Handler* handler);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds and listens; the bound port is port() afterwards. Nothing is served yet.
  Status Listen();
  // Starts the event-loop and worker threads. REQUIRES: Listen() succeeded.
  void Start();
  // REQUIRES: called before Start().
  void SetHandler(api::Handler* handler);
  uint16_t port() const;
  bool tls() const;
  // Loads the certificate and key files again for new handshakes (open connections keep
  // theirs); on failure the old ones stay.
  Status ReloadTls();
  // Connections open now (accepted and not yet closed). Thread-safe.
  int64_t open_connections() const;
  // Stops accepting, lets in-flight requests finish (up to `grace`), closes connections.
  void Shutdown(std::chrono::milliseconds grace);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace aisle::http
