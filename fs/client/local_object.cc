#include "fs/client/local_object.h"

#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

#include "common/local_read_protocol.h"
#include "common/net/http_errors.h"

namespace aisle::fs {
namespace {

class Fd {
 public:
  explicit Fd(int fd = -1) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  int release() { return std::exchange(fd_, -1); }

 private:
  int fd_;
};

class LocalFile : public LocalObject {
 public:
  LocalFile(int conn, int file, const localread::OpenReply& r)
      : conn_(conn), file_(file), offset_(r.offset), size_(r.size), version_(r.version) {}

  Result<uint64_t> ReadAt(uint64_t offset, uint64_t n, char* dest) override {
    if (offset >= size_) return uint64_t{0};
    n = std::min(n, size_ - offset);
    uint64_t got = 0;
    while (got < n) {
      ssize_t k =
          ::pread(file_.get(), dest + got, n - got, static_cast<off_t>(offset_ + offset + got));
      if (k < 0 && errno == EINTR) continue;
      if (k < 0) return Status::FromErrno(errno, "local read");
      if (k == 0) return Status::IOError("local read: the object's file ends early");
      got += static_cast<uint64_t>(k);
    }
    return got;
  }
  uint64_t size() const override { return size_; }
  const std::string& version() const override { return version_; }

 private:
  Fd conn_;  // open while we read: the target holds the object until it closes
  Fd file_;
  uint64_t offset_, size_;
  std::string version_;
};

}  // namespace

Result<std::unique_ptr<LocalObject>> OpenLocalObject(const std::string& node_id,
                                                     const std::string& bucket,
                                                     const std::string& object,
                                                     std::chrono::milliseconds timeout) {
  Fd conn(::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0));
  if (conn.get() < 0) return Status::FromErrno(errno, "local-read socket");
  timeval tv{static_cast<time_t>(timeout.count() / 1000),
             static_cast<suseconds_t>(timeout.count() % 1000 * 1000)};
  ::setsockopt(conn.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  ::setsockopt(conn.get(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  sockaddr_un addr;
  socklen_t len = localread::MakeAddress(node_id, &addr);
  if (::connect(conn.get(), reinterpret_cast<sockaddr*>(&addr), len) != 0)
    return Status::Unsupported("no local reads from target " + node_id +
                               " here: " + std::strerror(errno));
  AISLE_RETURN_IF_ERROR(
      localread::SendMessage(conn.get(), localread::Encode({bucket, object}), -1));
  int fd = -1;
  auto msg = localread::ReceiveMessage(conn.get(), &fd);
  if (!msg.ok()) return msg.status();
  Fd file(fd);
  AISLE_ASSIGN_OR_RETURN(auto reply, localread::DecodeReply(*msg));
  if (reply.status != 200)
    return Status(StatusCodeForHttp(reply.status),
                  "local read " + bucket + "/" + object + ": " + reply.message);
  if (fd < 0 || reply.node != node_id)
    return Status::Unavailable("local read " + bucket + "/" + object + ": malformed reply");
  return std::unique_ptr<LocalObject>(
      std::make_unique<LocalFile>(conn.release(), file.release(), reply));
}

}  // namespace aisle::fs
