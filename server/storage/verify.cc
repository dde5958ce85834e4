#include "server/storage/verify.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <memory>

#include "common/checksum.h"
#include "server/storage/file_util.h"

namespace aisle::storage {

Status ChecksumMismatch(std::string_view bucket, std::string_view name, uint64_t recorded,
                        uint64_t actual) {
  return Status::DataCorruption("BAD DATA CHECKSUM: " + ObjectCname(bucket, name) +
                                ": recorded xxhash " + Hex64(recorded) + ", data hashes to " +
                                Hex64(actual))
      .WithSubject(Subject::kObject);
}

Status VerifyObject(const ObjectReader& r, std::string_view bucket,
                    const std::function<Status(uint64_t)>& on_chunk) {
  const std::string what = ObjectCname(bucket, r.meta.name);
  if (!r.small_data.empty() || r.meta.size == 0) {
    if (on_chunk) AISLE_RETURN_IF_ERROR(on_chunk(r.meta.size));
    uint64_t h = Xxh64(r.small_data);
    return h == r.meta.xxhash ? Status::OK()
                              : ChecksumMismatch(bucket, r.meta.name, r.meta.xxhash, h);
  }
  int fd = r.file->get();
  struct stat st;
  if (::fstat(fd, &st) != 0) return Status::FromErrno(errno, "stat " + what);
  uint64_t have = static_cast<uint64_t>(st.st_size);
  if (have < r.data_offset + r.meta.size) {
    uint64_t got = have > r.data_offset ? have - r.data_offset : 0;
    return Status::DataCorruption("BAD DATA CHECKSUM: " + what + ": truncated, " +
                                  std::to_string(got) + " of " + std::to_string(r.meta.size) +
                                  " bytes on disk")
        .WithSubject(Subject::kObject);
  }
  (void)::posix_fadvise(fd, static_cast<off_t>(r.data_offset), static_cast<off_t>(r.meta.size),
                        POSIX_FADV_SEQUENTIAL);
  // pread, not mmap: a file truncated meanwhile must be an error, not a SIGBUS.
  constexpr size_t kChunk = 1 << 20;
  constexpr uint64_t kReadAhead = 4 << 20;
  static thread_local std::unique_ptr<char[]> buf(new char[kChunk]);
  Xxh64Stream hash;
  uint64_t off = r.data_offset, left = r.meta.size;
  while (left > 0) {
    size_t want = static_cast<size_t>(std::min<uint64_t>(left, kChunk));
    // Keep the disk busy with the next chunks while this one is hashed (cold reads: scrub).
    if (left > kChunk)
      (void)::posix_fadvise(fd, static_cast<off_t>(off + kChunk),
                            static_cast<off_t>(std::min<uint64_t>(left - kChunk, kReadAhead)),
                            POSIX_FADV_WILLNEED);
    AISLE_ASSIGN_OR_RETURN(size_t got, PreadUpTo(fd, buf.get(), want, off, what));
    if (got == 0)
      return Status::DataCorruption("BAD DATA CHECKSUM: " + what + ": truncated while reading")
          .WithSubject(Subject::kObject);
    hash.Update(buf.get(), got);
    if (on_chunk) AISLE_RETURN_IF_ERROR(on_chunk(got));
    off += got;
    left -= got;
  }
  uint64_t h = hash.Digest();
  return h == r.meta.xxhash ? Status::OK()
                            : ChecksumMismatch(bucket, r.meta.name, r.meta.xxhash, h);
}

}  // namespace aisle::storage
