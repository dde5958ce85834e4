// RawRangeGetter: ranged HTTP/1.1 GETs over plain keep-alive sockets (common/net/http_stream.h)
// whose body the caller receives straight into its own buffer or splices into a pipe. The FUSE
// data path spends most of its CPU copying bytes; libcurl hands bodies over in its own buffer,
// which costs one more copy of every byte read.
// Only the plain case is handled here (http://, a 2xx with Content-Length within the range, or
// an error status); anything else (redirects, chunked bodies, a server ignoring Range) comes
// back as kUnsupported so the caller takes its general (libcurl) path.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "common/net/http_stream.h"
#include "common/result.h"

namespace aisle::fs {

// The body of an open ranged GET, received by the caller in order (RawRangeGetter::Open).
// One sequential reader streams a large range over one connection: the socket's receive
// buffer is the readahead, and every byte is received once, straight into the caller's
// buffer (Read) or spliced into a pipe (SpliceTo). Read to its end, the stream gives its
// connection back to be kept alive; dropped before, it closes it. Not thread-safe.
using RawBodyStream = HttpBodyStream;

struct RawStreamReply {
  int status = 0;                       // HTTP status
  std::string error_body;               // the (bounded) body of a non-2xx reply
  std::unique_ptr<RawBodyStream> body;  // a 2xx reply's body, not yet received
};

class RawRangeGetter {
 public:
  // stall_timeout bounds every send and receive.
  RawRangeGetter(std::chrono::milliseconds connect_timeout,
                 std::chrono::milliseconds stall_timeout);
  RawRangeGetter(const RawRangeGetter&) = delete;
  RawRangeGetter& operator=(const RawRangeGetter&) = delete;

  // GET http://<host:port><target> for bytes [offset, offset+length) (length > 0): the
  // status, and the 2xx body as a stream for the caller to receive. kUnavailable when the node
  // cannot be reached or drops the connection, kTimeout when it stalls, kUnsupported for
  // replies this reader leaves to libcurl.
  Result<RawStreamReply> Open(const std::string& hostport, const std::string& target,
                              uint64_t offset, uint64_t length);

  // "http://host:port" -> "host:port"; empty for other schemes or URLs with a path.
  static std::string HostPortOf(const std::string& base_url);
  // Sent as Authorization with every request (a user token); set before use.
  void SetAuthorization(std::string value) { authorization_ = std::move(value); }

 private:
  HttpStreamClient client_;
  std::string authorization_;
};

}  // namespace aisle::fs
