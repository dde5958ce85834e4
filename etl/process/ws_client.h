// WsClient: a synchronous WebSocket client connection (RFC 6455) to a local program.
// Boost.Beast stays inside ws_client.cc (pimpl): it is expensive to compile.
// Calls block; Interrupt() (thread-safe) makes a blocked call fail at once, which is how
// callers enforce timeouts (see DeadlineWatchdog).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "common/result.h"
#include "common/status.h"

namespace aisle::etl {

class WsClient {
 public:
  struct Message {
    bool binary = true;
    std::string data;
  };

  WsClient();
  ~WsClient();
  WsClient(const WsClient&) = delete;
  WsClient& operator=(const WsClient&) = delete;

  // TCP connect to host:port (an IP address) and the WebSocket handshake on `path`.
  // Messages larger than max_message are refused with kTooLarge.
  Status Connect(const std::string& host, int port, const std::string& path, uint64_t max_message);
  Status WriteText(std::string_view data);
  Status WriteBinary(std::string_view data);
  Result<Message> Read();
  // Thread-safe: shuts the socket down so a blocked call returns an error.
  void Interrupt();
  // True after a successful Connect and before any failure.
  bool healthy() const;

 private:
  Status Write(std::string_view data, bool binary);
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace aisle::etl
