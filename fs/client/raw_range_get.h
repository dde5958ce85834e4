// RawRangeGetter: ranged HTTP/1.1 GETs over plain keep-alive sockets that receive the body
// straight into the caller's buffer. The FUSE data path spends most of its CPU copying bytes;
// libcurl hands bodies over in its own buffer, which costs one more copy of every byte read.
// Only the plain case is handled here (http://, a 2xx with Content-Length within the range, or
// an error status); anything else (redirects, chunked bodies, a server ignoring Range) comes
// back as kUnsupported so the caller takes its general (libcurl) path.
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/result.h"

namespace aisle::fs {

struct RawGetReply {
  int status = 0;          // HTTP status
  uint64_t body_len = 0;   // bytes written to dest (2xx)
  std::string error_body;  // the (bounded) body of a non-2xx reply
};

class RawRangeGetter {
 public:
  RawRangeGetter(std::chrono::milliseconds connect_timeout,
                 std::chrono::milliseconds stall_timeout);
  ~RawRangeGetter();  // closes the idle connections
  RawRangeGetter(const RawRangeGetter&) = delete;
  RawRangeGetter& operator=(const RawRangeGetter&) = delete;

  // GET http://<host:port><target> for bytes [offset, offset+length) into dest (room for
  // `length`). kUnavailable when the node cannot be reached or drops the connection, kTimeout
  // when it stalls, kUnsupported for replies this reader leaves to libcurl.
  Result<RawGetReply> Get(const std::string& hostport, const std::string& target, uint64_t offset,
                          uint64_t length, char* dest);

  // "http://host:port" -> "host:port"; empty for other schemes or URLs with a path.
  static std::string HostPortOf(const std::string& base_url);

 private:
  Result<int> Connect(const std::string& hostport);
  int TakeIdle(const std::string& hostport);
  void PutIdle(const std::string& hostport, int fd);
  Result<RawGetReply> Exchange(int fd, const std::string& request, uint64_t length, char* dest,
                               bool* reusable, bool* sent_nothing_back);

  const std::chrono::milliseconds connect_timeout_, stall_timeout_;
  std::mutex mu_;
  std::unordered_map<std::string, std::vector<int>> idle_;  // GUARDED_BY(mu_)
};

}  // namespace aisle::fs
