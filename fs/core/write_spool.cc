#include "fs/core/write_spool.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

#include "fs/core/errno_map.h"

namespace aisle::fs {

Result<std::unique_ptr<WriteSpool>> WriteSpool::Create(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  if (fd < 0) {
    std::string tmpl = dir + "/aisle-fs-spool-XXXXXX";
    fd = ::mkostemp(tmpl.data(), O_CLOEXEC);
    if (fd < 0) return ErrnoStatus(errno, "spool in " + dir);
    ::unlink(tmpl.c_str());
  }
  return std::unique_ptr<WriteSpool>(new WriteSpool(fd));
}

WriteSpool::~WriteSpool() { ::close(fd_); }

Status WriteSpool::LoadFrom(ClusterClient& client, const ObjectRef& ref, uint64_t size) {
  uint64_t pos = 0;
  auto r = client.GetRange(ref, 0, size, [&](std::string_view chunk) -> Status {
    while (!chunk.empty()) {
      ssize_t w = ::pwrite(fd_, chunk.data(), chunk.size(), static_cast<off_t>(pos));
      if (w < 0) {
        if (errno == EINTR) continue;
        return ErrnoStatus(errno, "spool write");
      }
      pos += static_cast<uint64_t>(w);
      chunk.remove_prefix(static_cast<size_t>(w));
    }
    return Status::OK();
  });
  if (!r.ok()) return r.status();
  size_ = pos;
  return Status::OK();
}

Status WriteSpool::Write(uint64_t offset, const char* data, size_t n) {
  size_t done = 0;
  while (done < n) {
    ssize_t w = ::pwrite(fd_, data + done, n - done, static_cast<off_t>(offset + done));
    if (w < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus(errno, "spool write");
    }
    done += static_cast<size_t>(w);
  }
  size_ = std::max<uint64_t>(size_, offset + n);
  dirty_ = true;
  return Status::OK();
}

Result<size_t> WriteSpool::Read(uint64_t offset, size_t n, char* out) const {
  if (offset >= size_) return size_t{0};
  n = std::min<uint64_t>(n, size_ - offset);
  size_t done = 0;
  while (done < n) {
    ssize_t r = ::pread(fd_, out + done, n - done, static_cast<off_t>(offset + done));
    if (r < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus(errno, "spool read");
    }
    if (r == 0) break;
    done += static_cast<size_t>(r);
  }
  return done;
}

Status WriteSpool::Truncate(uint64_t size) {
  if (::ftruncate(fd_, static_cast<off_t>(size)) != 0) return ErrnoStatus(errno, "spool truncate");
  size_ = size;
  dirty_ = true;
  return Status::OK();
}

PutBody WriteSpool::Body() const {
  PutBody body;
  body.file_path = "/proc/self/fd/" + std::to_string(fd_);
  return body;
}

Result<ObjectHead> WriteSpool::Commit(ClusterClient& client, const std::string& bucket,
                                      const std::string& object) {
  PutBody body;
  body.file_path = "/proc/self/fd/" + std::to_string(fd_);
  auto r = client.Put(bucket, object, body);
  if (r.ok()) dirty_ = false;
  return r;
}

}  // namespace aisle::fs
