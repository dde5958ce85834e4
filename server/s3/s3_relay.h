// The S3 proxy's relay: re-sends a received request (method, target, end-to-end headers,
// streamed body) to another node over the stream layer (common/net/http_stream.h) and exposes
// the answer's body as a BodyReader, so a proxy can pass objects through without holding them
// in memory. One connection per relayed request (Connection: close); every read/write has a
// timeout.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/body.h"
#include "common/net/tls_options.h"
#include "server/api/http_types.h"

namespace aisle::api::s3 {

struct RelayOptions {
  int io_timeout_ms = 120000;  // per connect/read/write
  // Added to the relayed request (PeerClient::IntraHeaders); the client's own Aisle-Intra*
  // headers are dropped.
  std::vector<std::pair<std::string, std::string>> extra_headers;
  std::optional<TlsClientOptions> tls;  // set: the node serves https
};

struct RelayedResponse {
  int status = 0;
  std::vector<std::pair<std::string, std::string>> headers;  // hop-by-hop ones removed
  std::optional<uint64_t> content_length;
  std::shared_ptr<BodyReader> body;  // null when the answer has no body (HEAD, 204, 304)
  bool request_body_sent = true;     // false: the peer answered before taking the whole body
};

// Relays `req` (its body is read from req.body) to http://host:port. kUnavailable when the
// peer cannot be reached or drops the connection, kTimeout when it stalls.
Result<RelayedResponse> Relay(const std::string& host, uint16_t port, Request& req,
                              const RelayOptions& opts);

// Relay + copy of the answer into `resp` (body streamed). Returns the relay's error, if any,
// without touching `resp`.
Status RelayInto(const std::string& host, uint16_t port, Request& req, Response& resp,
                 const RelayOptions& opts);

// Splits "http://host:port" into host and port.
// *tls (when given): the URL is https.
bool SplitUrl(const std::string& url, std::string* host, uint16_t* port, bool* tls = nullptr);

}  // namespace aisle::api::s3
