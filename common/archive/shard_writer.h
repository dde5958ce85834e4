// ShardWriter: writes a tar / tgz / zip / tar.lz4 / tar.zst shard through libarchive to a sink,
// one member at a time, streaming (a member is never held whole in memory).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "common/archive/archive_format.h"
#include "common/archive/member_reader.h"
#include "common/result.h"

namespace aisle::archive {

// Fills buf with up to n bytes of member data; 0 = end.
using MemberSource = std::function<Result<size_t>(char* buf, size_t n)>;

class ShardWriter {
 public:
  ~ShardWriter();
  // sink receives the shard's bytes in order; its error aborts the writer.
  static Result<std::unique_ptr<ShardWriter>> Open(Format format, ByteSink sink);
  // Adds a regular file of exactly `size` bytes read from `data`.
  Status Add(const std::string& name, uint64_t size, uint32_t mode, int64_t mtime,
             const MemberSource& data);
  // Writes the end of the archive (central directory, end blocks, compressor trailer).
  Status Finish();
  uint64_t bytes_out() const { return bytes_out_; }

  struct Impl;

 private:
  ShardWriter() = default;
  std::unique_ptr<Impl> impl_;
  uint64_t bytes_out_ = 0;
};

}  // namespace aisle::archive
