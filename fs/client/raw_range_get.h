// RawRangeGetter: ranged HTTP/1.1 GETs over plain keep-alive sockets whose body the caller
// receives straight into its own buffer. The FUSE data path spends most of its CPU copying bytes;
// libcurl hands bodies over in its own buffer, which costs one more copy of every byte read.
// Only the plain case is handled here (http://, a 2xx with Content-Length within the range, or
// an error status); anything else (redirects, chunked bodies, a server ignoring Range) comes
// back as kUnsupported so the caller takes its general (libcurl) path.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/result.h"

namespace aisle::fs {

// Kept-alive connections by "host:port", shared by the getter and its open streams (a
// stream read to its end gives its connection back, even after the getter is gone).
class IdleConnections {
 public:
  ~IdleConnections();                     // closes them
  int Take(const std::string& hostport);  // -1 when none
  void Put(const std::string& hostport, int fd);

 private:
  std::mutex mu_;
  std::unordered_map<std::string, std::vector<int>> idle_;  // GUARDED_BY(mu_)
};

// The body of an open ranged GET, received by the caller in order (RawRangeGetter::Open).
// One sequential reader streams a large range over one connection: the socket's receive
// buffer is the readahead, and every byte is received once, straight into the caller's
// buffer. Not thread-safe. Read to its end, the stream gives its connection back to be
// kept alive; dropped before, it closes it.
class RawBodyStream {
 public:
  ~RawBodyStream();
  RawBodyStream(const RawBodyStream&) = delete;
  RawBodyStream& operator=(const RawBodyStream&) = delete;

  // Receives min(n, remaining()) bytes into dest. kUnavailable when the node drops the
  // connection, kTimeout when it stalls; the stream is then spent.
  Result<uint64_t> Read(char* dest, uint64_t n);
  // The same into a pipe (its write end): socket pages are spliced, not copied. Fewer than n
  // when the pipe is full (*pipe_full: each socket fragment takes a pipe slot, however small),
  // never waiting for room. kUnsupported when the kernel cannot splice from the socket.
  Result<uint64_t> SpliceTo(int pipe_wr, uint64_t n, bool* pipe_full);
  uint64_t remaining() const { return remaining_; }

 private:
  friend class RawRangeGetter;
  RawBodyStream(int fd, uint64_t remaining, std::string pending,
                std::shared_ptr<IdleConnections> idle, std::string hostport)
      : fd_(fd),
        remaining_(remaining),
        pending_(std::move(pending)),
        idle_(std::move(idle)),
        hostport_(std::move(hostport)) {}
  int fd_;
  uint64_t remaining_;
  std::string pending_;  // body bytes that arrived with the response head
  Status broken_;        // the error that spent the stream (its position is then unknown)
  std::shared_ptr<IdleConnections> idle_;  // null: the connection is not to be kept
  std::string hostport_;
  // Bookkeeping after n body bytes were taken (or the error that spent the stream).
  Result<uint64_t> Took(uint64_t n, const Status& st);
};

struct RawStreamReply {
  int status = 0;                       // HTTP status
  std::string error_body;               // the (bounded) body of a non-2xx reply
  std::unique_ptr<RawBodyStream> body;  // a 2xx reply's body, not yet received
};

class RawRangeGetter {
 public:
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

 private:
  Result<int> Connect(const std::string& hostport);
  // Runs `exchange(fd, &reusable, &sent_nothing_back)` on a kept-alive connection (once more
  // on a new one if the node had closed it) or a new one. The connection goes back to the
  // idle set when `exchange` marks it reusable and is closed when it is neither that nor
  // taken (set to -1).
  template <typename T, typename Fn>
  Result<T> OnConnection(const std::string& hostport, Fn&& exchange);

  const std::chrono::milliseconds connect_timeout_, stall_timeout_;
  const std::shared_ptr<IdleConnections> idle_ = std::make_shared<IdleConnections>();
};

}  // namespace aisle::fs
