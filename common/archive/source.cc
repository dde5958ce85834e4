#include "common/archive/source.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace aisle::archive {

Result<size_t> FdSource::ReadAt(uint64_t off, char* buf, size_t n) const {
  if (off >= size_) return size_t{0};
  n = static_cast<size_t>(std::min<uint64_t>(n, size_ - off));
  size_t done = 0;
  while (done < n) {
    ssize_t k = ::pread(fd_, buf + done, n - done, static_cast<off_t>(base_ + off + done));
    if (k < 0) {
      if (errno == EINTR) continue;
      return Status::FromErrno(errno, "shard read");
    }
    if (k == 0) break;
    done += static_cast<size_t>(k);
  }
  return done;
}

Result<size_t> MemorySource::ReadAt(uint64_t off, char* buf, size_t n) const {
  if (off >= data_.size()) return size_t{0};
  n = std::min<size_t>(n, data_.size() - off);
  std::memcpy(buf, data_.data() + off, n);
  return n;
}

Status ReadExact(const RandomAccessSource& src, uint64_t off, char* buf, size_t n,
                 std::string_view what) {
  AISLE_ASSIGN_OR_RETURN(size_t got, src.ReadAt(off, buf, n));
  if (got != n)
    return Status::InvalidArgument(std::string(what) + ": archive is truncated at offset " +
                                   std::to_string(off + got));
  return Status::OK();
}

}  // namespace aisle::archive
