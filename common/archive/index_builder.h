// Builds the member index of a shard: tar (any filter) through libarchive in one pass, zip from
// its central directory. Bounded by Limits; corrupt or truncated input is kInvalidArgument with
// the reason, never a crash or a hang (libarchive errors and exceptions stop at this edge).
#pragma once

#include "common/archive/archive_format.h"
#include "common/archive/shard_index.h"
#include "common/archive/source.h"
#include "common/result.h"

namespace aisle::archive {

// format: from the object name, or kUnknown to detect by magic bytes.
Result<ShardIndex> BuildIndex(const RandomAccessSource& src, Format format, const Limits& limits);

// Detects by magic bytes (reads the first 512 bytes).
Result<Format> DetectFormat(const RandomAccessSource& src);

}  // namespace aisle::archive
