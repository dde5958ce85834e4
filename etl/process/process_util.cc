#include "etl/process/process_util.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <thread>

namespace aisle::etl {

std::string EtlName(const EtlSpec& spec) { return "etl " + spec.name; }
std::string EtlPrefix(const EtlSpec& spec) { return EtlName(spec) + ": "; }

std::string FormatMillis(int64_t ms) {
  if (ms < 1000) return std::to_string(ms) + "ms";
  if (ms % 1000 == 0) return std::to_string(ms / 1000) + "s";
  std::string s = std::to_string(ms / 1000) + "." + std::to_string((ms % 1000) / 100);
  if (ms % 100 != 0) s += std::to_string((ms % 100) / 10);
  return s + "s";
}

int EffectiveConcurrency(const EtlSpec& spec) {
  if (spec.concurrency > 0) return spec.concurrency;
  unsigned n = std::thread::hardware_concurrency();
  return n == 0 ? 1 : static_cast<int>(n);
}

std::string PythonBinary() {
  if (::access("/usr/bin/python3", X_OK) == 0) return "/usr/bin/python3";
  return "python3";
}

Status WriteFileAtomic(const std::string& path, std::string_view data, int mode) {
  std::string tmp = path + ".tmp." + std::to_string(::getpid());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) return Status::FromErrno(errno, "create " + tmp);
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::write(fd, data.data() + off, data.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      Status s = Status::FromErrno(errno, "write " + tmp);
      ::close(fd);
      ::unlink(tmp.c_str());
      return s;
    }
    off += static_cast<size_t>(n);
  }
  if (::close(fd) != 0) {
    Status s = Status::FromErrno(errno, "close " + tmp);
    ::unlink(tmp.c_str());
    return s;
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    Status s = Status::FromErrno(errno, "rename " + tmp);
    ::unlink(tmp.c_str());
    return s;
  }
  return Status::OK();
}

}  // namespace aisle::etl
