// ObjectMeta and its on-disk header. Every object file is one self-describing unit:
//   [header: magic, lengths, meta record, checksum; padded to 4 KiB multiple][data]
// so one fsync + rename makes data and metadata durable together. docs/formats/object.md.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.h"

namespace aisle::storage {

// Custom metadata key under which the S3 API keeps an object's S3 ETag (MD5 of a single-part
// upload, md5-of-md5s-N of a multipart one); native listings report it when asked ("etag").
inline constexpr const char* kCustomS3Etag = "ETag";

struct ObjectMeta {
  std::string name;
  uint64_t size = 0;
  uint64_t xxhash = 0;   // XXH64 seed 0 of the data ("xxhash" in AIStore terms)
  uint64_t version = 0;  // 1 on first write, +1 per overwrite
  int64_t mtime_ns = 0;
  int64_t atime_ns = 0;
  std::vector<std::pair<std::string, std::string>> custom;  // sorted by key
};

constexpr size_t kHeaderAlign = 4096;
constexpr size_t kMaxHeaderLen = 1 << 20;  // bounds custom metadata
constexpr size_t kHeaderFixedLen = 24;     // magic(8) hdr_len(4) meta_len(4) crc(8)

// Serialises meta into a header of EncodedHeaderLen(meta) bytes (zero padded).
std::string EncodeHeader(const ObjectMeta& meta);
size_t EncodedHeaderLen(const ObjectMeta& meta);

// Parses a header from the first bytes of a file. `prefix` must hold at least
// kHeaderFixedLen bytes; returns the header length needed when prefix is too short
// (via *need), else decodes. Corruption -> kDataCorruption.
Status DecodeHeader(std::string_view prefix, ObjectMeta* meta, uint32_t* header_len,
                    uint32_t* need);

}  // namespace aisle::storage
