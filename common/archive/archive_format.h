// Shard formats: detection by name (extension or archmime), then by magic bytes.
// Enum values are persisted in member indexes (docs/formats/shard-index.md): never renumber.
#pragma once

#include <cstdint>
#include <string_view>

namespace aisle::archive {

enum class Format : uint8_t {
  kUnknown = 0,
  kTar = 1,
  kTgz = 2,  // .tgz, .tar.gz
  kZip = 3,
  kTarLz4 = 4,
  kTarZst = 5,
};

// ".tar", ".tgz", ".zip", ".tar.lz4", ".tar.zst"; "" for kUnknown.
const char* FormatExtension(Format f);
// The shard extension ending `name`, as spelled there (matched case-insensitively: .tar .tgz
// .tar.gz .zip .tar.lz4 .tar.zst .tar.zstd); "" when it has none. Names with one are shards.
std::string_view ShardExtension(std::string_view name);
// By the name's extension (ShardExtension); kUnknown when it has none of ours.
Format FormatFromName(std::string_view name);
// AIStore's archmime: an extension (".tar.gz") or a MIME string ("application/zip"),
// matched by substring as AIStore does.
Format FormatFromMime(std::string_view mime);
// By the first bytes of the data (at least 512 for tar; fewer is fine for the others).
Format FormatFromMagic(std::string_view head);
// True for tar streams behind a compression filter (seek points needed).
inline bool IsCompressedTar(Format f) {
  return f == Format::kTgz || f == Format::kTarLz4 || f == Format::kTarZst;
}

}  // namespace aisle::archive
