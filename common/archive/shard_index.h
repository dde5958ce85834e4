// ShardIndex: the member index of one shard (name, data offset, size, type, mode, mtime) plus
// the seek points of a compressed tar. Encoded as a sidecar file next to the object and tagged
// with the object's identity, so a changed object never uses a stale index.
// Wire format: docs/formats/shard-index.md.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/archive/archive_format.h"
#include "common/result.h"

namespace aisle::archive {

// Resource bounds applied while indexing and reading. Defaults suit ML shards.
struct Limits {
  uint64_t max_members = 2'000'000;    // more members -> kInvalidArgument
  size_t max_name_len = 4096;          // longer member name -> kInvalidArgument
  uint64_t max_expansion_ratio = 200;  // uncompressed/compressed: whole stream, zip member
  // ... checked only past this many uncompressed bytes: a small file of zeros or text may
  // compress 1000:1 and is no bomb.
  uint64_t expansion_floor = 16ull << 20;
  uint64_t max_uncompressed = 1ull << 40;  // 1 TiB of tar stream behind a filter
  uint64_t seek_span = 4ull << 20;         // seek point every 4 MiB of uncompressed output
};

enum class MemberType : uint8_t { kFile = 0, kDir = 1, kSymlink = 2, kHardlink = 3, kOther = 4 };

// Why a member name is unsafe to turn into a local path (bits; 0 = safe).
enum NameFlags : uint8_t {
  kNameAbsolute = 1,  // starts with '/' (or a drive letter / backslash)
  kNameDotDot = 2,    // has a ".." segment (tar-slip)
  kNameNul = 4,       // contains NUL
  kNameEmpty = 8,
};
uint8_t CheckMemberName(std::string_view name);
// "absolute path, '..' segment" style text for flags; "" when 0.
std::string DescribeNameFlags(uint8_t flags);

struct Member {
  std::string name;     // as stored
  uint64_t offset = 0;  // data start: file offset (tar, zip) or uncompressed offset (tgz...)
  uint64_t size = 0;    // uncompressed size
  uint64_t csize = 0;   // zip: compressed size; else == size
  uint64_t header_offset = 0;
  int64_t mtime = 0;   // unix seconds
  uint32_t mode = 0;   // permission bits
  uint32_t crc32 = 0;  // zip only
  MemberType type = MemberType::kFile;
  uint8_t method = 0;      // zip: 0 stored, 8 deflated; tar: 0
  uint8_t name_flags = 0;  // NameFlags
};

// A place where decompression can restart: uncompressed offset `out`, compressed offset `in`.
// gzip: `bits` unused bits of the byte before `in` and the 32 KiB window before `out`.
// lz4/zstd: a frame start (bits 0, no window).
struct SeekPoint {
  uint64_t out = 0;
  uint64_t in = 0;
  uint8_t bits = 0;
  std::string window;
};

// Identity of the object an index was built from.
struct IndexTag {
  uint64_t version = 0;
  uint64_t xxhash = 0;
  uint64_t size = 0;
  int64_t mtime_ns = 0;
  bool operator==(const IndexTag&) const = default;
};

class ShardIndex {
 public:
  Format format = Format::kUnknown;
  IndexTag tag;
  std::vector<Member> members;    // archive order
  std::vector<SeekPoint> points;  // sorted by out; compressed tars only
  uint64_t end_of_entries = 0;    // tar: where the end-of-archive blocks start (append point)
  uint64_t stream_size = 0;       // uncompressed tar stream length (== object size for tar)

  // Builds the name lookup; call after filling members. Duplicate names: the last wins
  // (tar semantics for appended members).
  void Finalize();
  // nullptr when absent.
  const Member* Find(std::string_view name) const;
  // The seek point to start from for uncompressed offset `out` (nullptr: from the beginning).
  const SeekPoint* PointFor(uint64_t out) const;
  // Approximate memory use, for cache accounting.
  size_t MemoryBytes() const;

  std::string Encode() const;
  static Result<ShardIndex> Decode(std::string_view data);

 private:
  std::unordered_map<std::string_view, uint32_t> by_name_;
};

}  // namespace aisle::archive
