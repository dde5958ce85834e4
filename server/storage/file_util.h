// Thin POSIX helpers for the storage engine: an owning fd, whole-buffer I/O that retries
// EINTR and short writes, directory fsync, and errno -> Status with the path in the message.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace aisle::storage {

// Owns a file descriptor; closes it on destruction.
class FileHandle {
 public:
  FileHandle() = default;
  explicit FileHandle(int fd) : fd_(fd) {}
  ~FileHandle();
  FileHandle(FileHandle&& o) noexcept : fd_(o.release()) {}
  FileHandle& operator=(FileHandle&& o) noexcept;
  FileHandle(const FileHandle&) = delete;
  FileHandle& operator=(const FileHandle&) = delete;
  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  int release() {
    int fd = fd_;
    fd_ = -1;
    return fd;
  }

 private:
  int fd_ = -1;
};

Result<FileHandle> OpenFile(const std::string& path, int flags, int mode = 0644);
Status WriteAll(int fd, const char* data, size_t n, const std::string& what);
Status PwriteAll(int fd, const char* data, size_t n, uint64_t off, const std::string& what);

// A sink that writes consecutive chunks to fd from offset `off` on (a spool being filled).
struct SpoolSink {
  int fd;
  uint64_t off = 0;
  Status operator()(std::string_view b) {
    AISLE_RETURN_IF_ERROR(PwriteAll(fd, b.data(), b.size(), off, "spool"));
    off += b.size();
    return Status::OK();
  }
};
// Reads up to n bytes at off; returns the count. A short read of a regular file means EOF,
// so it is not retried (saves a syscall per small-object GET).
Result<size_t> PreadUpTo(int fd, char* data, size_t n, uint64_t off, const std::string& what);
Status FsyncFile(int fd, const std::string& what);
Status FsyncDir(const std::string& dir);
// mkdir -p; each directory created is fsynced into its parent.
Status MakeDirs(const std::string& dir);
Status RenameFile(const std::string& from, const std::string& to);
// Removes a tree (best effort for trash); returns the first error.
Status RemoveTree(const std::string& path);
bool PathExists(const std::string& path);
// The entry names of a directory (without "." and ".."); empty when it cannot be read.
std::vector<std::string> ListDirNames(const std::string& dir);
// Durably replaces `path` with `data`: temp file, fsync, rename, fsync of the directory.
Status WriteFileAtomic(const std::string& path, std::string_view data);
// Reads a whole (small) file.
Result<std::string> ReadFile(const std::string& path);
// 16 random hex chars from /dev/urandom-backed std::random_device.
std::string RandomHex(size_t n = 16);

}  // namespace aisle::storage
