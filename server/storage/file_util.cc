#include "server/storage/file_util.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <random>

#include "common/fd_io.h"

namespace aisle::storage {

FileHandle::~FileHandle() {
  if (fd_ >= 0) ::close(fd_);
}

FileHandle& FileHandle::operator=(FileHandle&& o) noexcept {
  if (this != &o) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = o.release();
  }
  return *this;
}

Result<FileHandle> OpenFile(const std::string& path, int flags, int mode) {
  int fd;
  do {
    fd = ::open(path.c_str(), flags | O_CLOEXEC, mode);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) return Status::FromErrno(errno, "open " + path);
  return FileHandle(fd);
}

Status WriteAll(int fd, const char* data, size_t n, const std::string& what) {
  return aisle::WriteAll(fd, std::string_view(data, n), what);
}

Status PwriteAll(int fd, const char* data, size_t n, uint64_t off, const std::string& what) {
  while (n > 0) {
    ssize_t w = ::pwrite(fd, data, n, static_cast<off_t>(off));
    if (w < 0) {
      if (errno == EINTR) continue;
      return Status::FromErrno(errno, "write " + what);
    }
    data += w;
    n -= static_cast<size_t>(w);
    off += static_cast<uint64_t>(w);
  }
  return Status::OK();
}

Result<size_t> PreadUpTo(int fd, char* data, size_t n, uint64_t off, const std::string& what) {
  size_t got = 0;
  while (got < n) {
    ssize_t r = ::pread(fd, data + got, n - got, static_cast<off_t>(off + got));
    if (r < 0) {
      if (errno == EINTR) continue;
      return Status::FromErrno(errno, "read " + what);
    }
    if (r == 0) break;
    got += static_cast<size_t>(r);
    if (got < n) break;  // a short read of a regular file means EOF
  }
  return got;
}

Status FsyncFile(int fd, const std::string& what) {
  if (::fsync(fd) != 0) return Status::FromErrno(errno, "fsync " + what);
  return Status::OK();
}

Status FsyncDir(const std::string& dir) {
  auto fh = OpenFile(dir, O_RDONLY | O_DIRECTORY);
  if (!fh.ok()) return fh.status();
  return FsyncFile(fh->get(), dir);
}

Status MakeDirs(const std::string& dir) {
  if (dir.empty() || PathExists(dir)) return Status::OK();
  std::filesystem::path p(dir);
  if (p.has_parent_path() && p.parent_path() != p) {
    AISLE_RETURN_IF_ERROR(MakeDirs(p.parent_path().string()));
  }
  if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST)
    return Status::FromErrno(errno, "mkdir " + dir);
  if (p.has_parent_path()) return FsyncDir(p.parent_path().string());
  return Status::OK();
}

Status RenameFile(const std::string& from, const std::string& to) {
  if (::rename(from.c_str(), to.c_str()) != 0)
    return Status::FromErrno(errno, "rename " + from + " -> " + to);
  return Status::OK();
}

Status RemoveTree(const std::string& path) {
  std::error_code ec;
  std::filesystem::remove_all(path, ec);
  if (ec) return Status::IOError("remove " + path + ": " + ec.message());
  return Status::OK();
}

bool PathExists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

Status WriteFileAtomic(const std::string& path, std::string_view data) {
  std::string tmp = path + ".tmp-" + RandomHex(8);
  {
    AISLE_ASSIGN_OR_RETURN(FileHandle fh, OpenFile(tmp, O_CREAT | O_TRUNC | O_WRONLY));
    Status st = WriteAll(fh.get(), data.data(), data.size(), tmp);
    if (st.ok()) st = FsyncFile(fh.get(), tmp);
    if (!st.ok()) {
      ::unlink(tmp.c_str());
      return st;
    }
  }
  AISLE_RETURN_IF_ERROR(RenameFile(tmp, path));
  return FsyncDir(std::filesystem::path(path).parent_path().string());
}

Result<std::string> ReadFile(const std::string& path) {
  AISLE_ASSIGN_OR_RETURN(FileHandle fh, OpenFile(path, O_RDONLY));
  std::string out;
  char buf[65536];
  uint64_t off = 0;
  for (;;) {
    AISLE_ASSIGN_OR_RETURN(size_t n, PreadUpTo(fh.get(), buf, sizeof buf, off, path));
    if (n == 0) break;
    out.append(buf, n);
    off += n;
  }
  return out;
}

std::string RandomHex(size_t n) {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  static const char* kHex = "0123456789abcdef";
  std::string s(n, '0');
  for (auto& c : s) c = kHex[rng() & 15];
  return s;
}

std::vector<std::string> ListDirNames(const std::string& dir) {
  std::vector<std::string> out;
  DIR* d = ::opendir(dir.c_str());
  if (!d) return out;
  while (dirent* e = ::readdir(d)) {
    std::string n = e->d_name;
    if (n != "." && n != "..") out.push_back(std::move(n));
  }
  ::closedir(d);
  return out;
}

}  // namespace aisle::storage
