// StreamDecoder: decompresses the tar stream of a .tgz / .tar.lz4 / .tar.zst shard from a
// RandomAccessSource, optionally recording seek points, or starting at one.
//
// gzip follows zlib's zran example: at a deflate block boundary at least `span` bytes after
// the previous point, save the compressed offset, the unused bit count and the last 32 KiB of
// output; a reader restores that state with inflatePrime + inflateSetDictionary. Concatenated
// gzip members are handled. lz4/zstd restart only at frame starts, so a single-frame stream
// has one point (offset 0): reads then decompress from the start (docs/formats/shard-index.md).
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "common/archive/archive_format.h"
#include "common/archive/shard_index.h"
#include "common/archive/source.h"
#include "common/result.h"

namespace aisle::archive {

class StreamDecoder {
 public:
  virtual ~StreamDecoder() = default;
  // format must be a compressed tar. start: a point from the index, or nullptr for offset 0.
  // record: collect seek points while decoding (index builds).
  static Result<std::unique_ptr<StreamDecoder>> Open(Format format, const RandomAccessSource* src,
                                                     const SeekPoint* start, bool record,
                                                     const Limits& limits);
  // Up to n decompressed bytes; 0 at the end of the stream. Corrupt or truncated input and a
  // breached expansion limit are kInvalidArgument with the reason.
  virtual Result<size_t> Read(char* buf, size_t n) = 0;
  // Discards n bytes of output.
  Status Skip(uint64_t n);
  uint64_t out_pos() const { return out_; }
  std::vector<SeekPoint> TakePoints() { return std::move(points_); }

 protected:
  Status CheckExpansion(uint64_t in_consumed) const;
  const RandomAccessSource* src_ = nullptr;
  Limits limits_;
  bool record_ = false;
  uint64_t out_ = 0;       // absolute uncompressed offset of the next byte returned
  uint64_t in_start_ = 0;  // where decoding began (for the ratio check)
  std::vector<SeekPoint> points_;
};

}  // namespace aisle::archive
