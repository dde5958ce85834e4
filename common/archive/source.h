// RandomAccessSource: positional reads over the bytes of one shard. The server hands the
// archive code a window of an object file; the FUSE client will hand it ranged GETs.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.h"

namespace aisle::archive {

class RandomAccessSource {
 public:
  virtual ~RandomAccessSource() = default;
  // Reads up to n bytes at off; fewer only at the end. Thread-safe.
  virtual Result<size_t> ReadAt(uint64_t off, char* buf, size_t n) const = 0;
  virtual uint64_t Size() const = 0;
};

// A window [base, base+size) of an open fd (not owned). pread only, so thread-safe.
class FdSource : public RandomAccessSource {
 public:
  FdSource(int fd, uint64_t base, uint64_t size) : fd_(fd), base_(base), size_(size) {}
  Result<size_t> ReadAt(uint64_t off, char* buf, size_t n) const override;
  uint64_t Size() const override { return size_; }

 private:
  int fd_;
  uint64_t base_;
  uint64_t size_;
};

// Bytes in memory (tests, fuzzers). The data must outlive the source.
class MemorySource : public RandomAccessSource {
 public:
  explicit MemorySource(std::string_view data) : data_(data) {}
  Result<size_t> ReadAt(uint64_t off, char* buf, size_t n) const override;
  uint64_t Size() const override { return data_.size(); }

 private:
  std::string_view data_;
};

// Reads exactly n bytes at off or fails with kInvalidArgument ("truncated") naming `what`.
Status ReadExact(const RandomAccessSource& src, uint64_t off, char* buf, size_t n,
                 std::string_view what);

}  // namespace aisle::archive
