#include "server/storage/file_ranges.h"

#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <memory>

#include "common/checksum.h"
#include "server/storage/file_util.h"

namespace aisle::storage {
namespace {

constexpr size_t kBuf = 1 << 20;
// mmap window: large enough that mapping costs are noise, small enough to bound address space.
constexpr uint64_t kWindow = 64ull << 20;

Status ShortFile(const std::string& what) {
  return Status::DataCorruption(what + ": file shorter than the range to read");
}

Status CheckCovers(int fd, uint64_t end, const std::string& what) {
  struct stat st;
  if (::fstat(fd, &st) != 0) return Status::FromErrno(errno, "stat " + what);
  return static_cast<uint64_t>(st.st_size) < end ? ShortFile(what) : Status::OK();
}

// The user-space copy, for when copy_file_range is refused.
Status CopyByBuffer(const FileRange& r, uint64_t done, int dst, uint64_t dst_off,
                    const std::string& what) {
  std::unique_ptr<char[]> buf(new char[kBuf]);
  while (done < r.length) {
    size_t want = static_cast<size_t>(std::min<uint64_t>(r.length - done, kBuf));
    AISLE_ASSIGN_OR_RETURN(size_t got, PreadUpTo(r.fd, buf.get(), want, r.offset + done, what));
    if (got == 0) return ShortFile(what);
    AISLE_RETURN_IF_ERROR(PwriteAll(dst, buf.get(), got, dst_off + done, what));
    done += got;
  }
  return Status::OK();
}

}  // namespace

Status CopyRanges(const std::vector<FileRange>& ranges, int dst, uint64_t dst_off,
                  const std::string& what) {
  for (const FileRange& r : ranges) {
    uint64_t done = 0;
    while (done < r.length) {
      loff_t in = static_cast<loff_t>(r.offset + done);
      loff_t out = static_cast<loff_t>(dst_off + done);
      size_t want = static_cast<size_t>(std::min<uint64_t>(r.length - done, 1ull << 30));
      ssize_t n = ::copy_file_range(r.fd, &in, dst, &out, want, 0);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EXDEV || errno == EINVAL || errno == ENOSYS || errno == EOPNOTSUPP)) {
        AISLE_RETURN_IF_ERROR(CopyByBuffer(r, done, dst, dst_off, what));
        done = r.length;
        break;
      }
      if (n < 0) return Status::FromErrno(errno, "copy " + what);
      if (n == 0) return ShortFile(what);
      done += static_cast<uint64_t>(n);
    }
    dst_off += r.length;
  }
  return Status::OK();
}

Result<uint64_t> HashRange(int fd, uint64_t off, uint64_t len, const std::string& what) {
  AISLE_RETURN_IF_ERROR(CheckCovers(fd, off + len, what));
  Xxh64Stream hash;
  const uint64_t page = static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
  std::unique_ptr<char[]> buf;  // only if mmap fails
  while (len > 0) {
    uint64_t base = off / page * page;  // mmap offsets are page aligned
    uint64_t skip = off - base;
    uint64_t n = std::min(len, kWindow - skip);
    void* p = ::mmap(nullptr, skip + n, PROT_READ, MAP_SHARED | MAP_POPULATE, fd,
                     static_cast<off_t>(base));
    if (p != MAP_FAILED) {
      hash.Update(static_cast<const char*>(p) + skip, n);
      ::munmap(p, skip + n);
    } else {
      if (!buf) buf.reset(new char[kBuf]);
      n = std::min<uint64_t>(n, kBuf);
      AISLE_ASSIGN_OR_RETURN(size_t got, PreadUpTo(fd, buf.get(), n, off, what));
      if (got == 0) return ShortFile(what);
      n = got;
      hash.Update(buf.get(), n);
    }
    off += n;
    len -= n;
  }
  return hash.Digest();
}

}  // namespace aisle::storage
