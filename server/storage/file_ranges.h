// Moving and hashing byte ranges of files without a user-space copy: copy_file_range(2) for
// copies (the kernel moves the pages, or reflinks them where the file system can) and mmap for
// XXH64. Used to commit objects assembled from files (Store::PutRanges, Store::PutFile).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/result.h"

namespace aisle::storage {

// A byte range of an open file. The file must not change while the range is used.
struct FileRange {
  int fd = -1;
  uint64_t offset = 0;
  uint64_t length = 0;
};

// Copies `ranges`, concatenated, into dst from dst_off on. Falls back to pread/pwrite where
// the kernel refuses copy_file_range (EXDEV, EINVAL, ENOSYS, EOPNOTSUPP). A range that ends
// past its file's end is DataCorruption.
Status CopyRanges(const std::vector<FileRange>& ranges, int dst, uint64_t dst_off,
                  const std::string& what);

// XXH64 (seed 0) of [off, off+len) of fd, read through mmap windows (no copy into a buffer);
// pread when mmap fails. The file must hold the whole range (checked: a short file would
// otherwise SIGBUS).
Result<uint64_t> HashRange(int fd, uint64_t off, uint64_t len, const std::string& what);

}  // namespace aisle::storage
