// HttpServer: the node's HTTP/1.1 transport (Boost.Asio + Beast, confined to http_server.cc).
//
// Threads: `io_threads` run the Asio loop (accept, and waiting for the next request on idle
// keep-alive connections, so idle connections cost no thread). When a connection becomes
// readable it is handed to one of `workers`, which parses the request (Beast), streams the
// body straight into the handler (BodyReader), and writes the response (headers by hand,
// file bodies with sendfile). A worker keeps serving a busy connection for `linger_ms`
// before handing it back to the loop. Handlers may block on disk; every socket read/write
// has a stall timeout.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "common/status.h"
#include "server/api/http_types.h"

namespace aisle::http {

struct ServerOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 0;   // 0 = ephemeral
  int io_threads = 0;  // 0 = one per core
  int workers = 64;    // concurrent requests being served
  size_t header_limit = 16 * 1024;
  uint64_t body_limit = 0;       // 0 = unlimited (streamed to disk)
  int io_timeout_ms = 30000;     // a read or write that stalls this long fails
  int idle_timeout_ms = 120000;  // idle keep-alive connections are closed after this
  int linger_ms = 2;             // how long a worker waits for the next pipelined request
  uint64_t rate_limit_bps = 0;   // cap on response body bytes/s for the whole node (0 = none)
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
  // Client connections accepted and not yet closed (idle keep-alive ones included).
  int64_t open_connections() const;
  // Stops accepting, lets in-flight requests finish (up to `grace`), closes connections.
  void Shutdown(std::chrono::milliseconds grace);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace aisle::http
