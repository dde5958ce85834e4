#include "etl/process/pipe_io.h"

#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>

#include "etl/process/child_process.h"

namespace aisle::etl {
namespace {

// Waits for `events` on fd until the deadline: kOk when ready.
PipeIo WaitFd(int fd, short events, std::chrono::steady_clock::time_point deadline) {
  for (;;) {
    int timeout_ms = -1;
    if (deadline != std::chrono::steady_clock::time_point::max()) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return PipeIo::kTimeout;
      timeout_ms = static_cast<int>(std::min<int64_t>(left.count() + 1, 1 << 30));
    }
    struct pollfd pfd = {fd, events, 0};
    int r = ::poll(&pfd, 1, timeout_ms);
    if (r < 0) {
      if (errno == EINTR) continue;
      return PipeIo::kError;
    }
    if (r > 0) return PipeIo::kOk;
  }
}

}  // namespace

PipeIo WriteAllFd(int fd, std::string_view data, std::chrono::steady_clock::time_point deadline) {
  if (fd < 0) return PipeIo::kEof;
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = WriteNoSigpipe(fd, data.data() + off, std::min<size_t>(data.size() - off, 1 << 20));
    if (n > 0) {
      off += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno == EPIPE) return PipeIo::kEof;
    if (n < 0 && errno != EAGAIN && errno != EINTR) return PipeIo::kError;
    PipeIo w = WaitFd(fd, POLLOUT, deadline);
    if (w != PipeIo::kOk) return w;
  }
  return PipeIo::kOk;
}

PipeIo ReadExactFd(int fd, char* buf, size_t n, std::chrono::steady_clock::time_point deadline) {
  if (fd < 0) return PipeIo::kEof;
  size_t off = 0;
  while (off < n) {
    ssize_t r = ::read(fd, buf + off, std::min<size_t>(n - off, 1 << 20));
    if (r > 0) {
      off += static_cast<size_t>(r);
      continue;
    }
    if (r == 0) return PipeIo::kEof;
    if (errno != EAGAIN && errno != EINTR) return PipeIo::kError;
    PipeIo w = WaitFd(fd, POLLIN, deadline);
    if (w != PipeIo::kOk) return w;
  }
  return PipeIo::kOk;
}

}  // namespace aisle::etl
