#include "common/fd_io.h"

#include <unistd.h>

#include <cerrno>

namespace aisle {

Status WriteAll(int fd, std::string_view data, const std::string& what) {
  while (!data.empty()) {
    ssize_t k = ::write(fd, data.data(), data.size());
    if (k < 0) {
      if (errno == EINTR) continue;
      return Status::FromErrno(errno, "write " + what);
    }
    data.remove_prefix(static_cast<size_t>(k));
  }
  return Status::OK();
}

}  // namespace aisle
