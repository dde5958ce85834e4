// Reading one member of a shard by its index entry: a byte range of the shard for plain tar
// and stored zip members, inflating one zip member alone, or decompressing one span of a
// compressed tar from the nearest seek point.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string_view>

#include "common/archive/shard_index.h"
#include "common/archive/source.h"
#include "common/result.h"

namespace aisle::archive {

using ByteSink = std::function<Status(std::string_view)>;

struct ShardRange {
  uint64_t offset = 0;  // in the shard
  uint64_t length = 0;
};

// Where bytes [off, off+len) of member m sit in the shard, when they are stored as is (plain
// tar, stored zip); nullopt when they must be decoded. REQUIRES: off + len <= m.size.
std::optional<ShardRange> DirectRange(const ShardIndex& idx, const Member& m, uint64_t off,
                                      uint64_t len);

// Streams bytes [off, off+len) of member m to sink. Members that cannot be served (encrypted
// or unknown zip methods, non-files) are kUnsupported / kInvalidArgument; corrupt data is
// kInvalidArgument naming the member. A whole zip member is CRC-checked.
Status ReadMember(const RandomAccessSource& src, const ShardIndex& idx, const Member& m,
                  uint64_t off, uint64_t len, const ByteSink& sink, const Limits& limits = {});

}  // namespace aisle::archive
