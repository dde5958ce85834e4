// Transport-neutral HTTP request and response. Handlers map a Request to a Response and
// never see sockets; the transport (server/http) fills and drains these.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/body.h"

namespace aisle::api {

// Ordered, case-insensitive header list; repeated names are kept (Ais-Custom-Md).
class Headers {
 public:
  const std::string* Find(std::string_view name) const;
  std::string Get(std::string_view name) const;  // "" when absent
  void Add(std::string name, std::string value) {
    items_.emplace_back(std::move(name), std::move(value));
  }
  void Set(std::string_view name, std::string value);
  const std::vector<std::pair<std::string, std::string>>& items() const { return items_; }

 private:
  std::vector<std::pair<std::string, std::string>> items_;
};

struct Request {
  std::string method;  // upper case: GET, PUT, HEAD, ...
  std::string target;  // raw request target as received
  std::string path;    // percent-decoded path, without the query
  std::vector<std::pair<std::string, std::string>> query;  // decoded, in order
  Headers headers;
  std::string remote_addr;     // "ip:port"
  BodyReader* body = nullptr;  // never null while a handler runs
  bool has_body = false;       // Content-Length > 0 or chunked
  // Set by AdmitPeer (server/api/peer_auth.h) before routing: the node that sent this
  // node-to-node request, verified when peer_auth is on ("": a client's request).
  std::string intra_sender;
  bool peer_auth = false;  // this node requires node-to-node requests to be signed
  // Set by RequestLog (server/api/request_log.h) first: this request's ID, for logs and for
  // the calls it makes to other nodes (Aisle-Request-Id).
  std::string request_id;

  // Value of the first query parameter `name`; nullopt when absent.
  std::optional<std::string> Query(std::string_view name) const;
  // Reads the whole body into a string, up to `limit` bytes (kTooLarge beyond, at once when
  // the declared Content-Length says so).
  Result<std::string> ReadBody(size_t limit);
};

// A byte range of an open file, sent with sendfile(2).
struct FileBody {
  std::shared_ptr<void> owner;  // keeps the fd open until the response is written
  int fd = -1;
  uint64_t offset = 0;
  uint64_t length = 0;
};

struct Response {
  int status = 200;
  Headers headers;
  std::string body;              // used when file is empty
  std::optional<FileBody> file;  // body from a file
  // Body pulled from a reader (e.g. relayed from another node). Sent with Content-Length
  // when DeclaredLength() is known, else chunked. A read error mid-body closes the connection.
  std::shared_ptr<BodyReader> stream;
  // For HEAD: the Content-Length to advertise (the body is not sent).
  std::optional<uint64_t> head_length;
  bool close = false;  // close the connection after this response
};

class Handler {
 public:
  virtual ~Handler() = default;
  // Must not throw; the transport still catches anything that escapes and answers 500.
  virtual void Handle(Request& req, Response& resp) = 0;
};

// Percent-decodes a path or query component; '+' stays '+' unless plus_as_space.
std::string PercentDecode(std::string_view s, bool plus_as_space);
// Splits "a=1&b=2" into decoded pairs.
std::vector<std::pair<std::string, std::string>> ParseQuery(std::string_view raw);

}  // namespace aisle::api
