// Zip indexing from the central directory (EOCD, zip64 aware): O(members), no data read.
// Each entry's local header is read once to find where its data starts.
#include <algorithm>
#include <cstring>
#include <ctime>
#include <string>

#include "common/archive/index_builder.h"

namespace aisle::archive {
namespace {

constexpr uint32_t kEocdSig = 0x06054b50;
constexpr uint32_t kZip64LocSig = 0x07064b50;
constexpr uint32_t kZip64EocdSig = 0x06064b50;
constexpr uint32_t kCentralSig = 0x02014b50;
constexpr uint32_t kLocalSig = 0x04034b50;

uint16_t Le16(const char* p) {
  return static_cast<uint16_t>(static_cast<unsigned char>(p[0]) | static_cast<unsigned char>(p[1])
                                                                      << 8);
}
uint32_t Le32(const char* p) { return Le16(p) | static_cast<uint32_t>(Le16(p + 2)) << 16; }
uint64_t Le64(const char* p) { return Le32(p) | static_cast<uint64_t>(Le32(p + 4)) << 32; }

Status Bad(const std::string& why) {
  return Status::InvalidArgument("corrupt zip archive: " + why);
}

int64_t DosTime(uint16_t time, uint16_t date) {
  std::tm tm{};
  tm.tm_year = ((date >> 9) & 0x7f) + 80;
  tm.tm_mon = std::max(0, ((date >> 5) & 0xf) - 1);
  tm.tm_mday = std::max(1, date & 0x1f);
  tm.tm_hour = (time >> 11) & 0x1f;
  tm.tm_min = (time >> 5) & 0x3f;
  tm.tm_sec = (time & 0x1f) * 2;
  return static_cast<int64_t>(timegm(&tm));
}

}  // namespace

Result<ShardIndex> BuildZipIndex(const RandomAccessSource& src, const Limits& limits) {
  const uint64_t size = src.Size();
  if (size < 22) return Bad("too short for an end-of-central-directory record");
  size_t tail_len = static_cast<size_t>(std::min<uint64_t>(size, 22 + 65535));
  std::string tail(tail_len, '\0');
  AISLE_RETURN_IF_ERROR(ReadExact(src, size - tail_len, tail.data(), tail_len, "zip"));
  size_t eocd = std::string::npos;
  for (size_t i = tail_len - 22 + 1; i-- > 0;) {
    if (Le32(&tail[i]) == kEocdSig) {
      eocd = i;
      break;
    }
  }
  if (eocd == std::string::npos) return Bad("no end-of-central-directory record (truncated?)");
  const char* e = &tail[eocd];
  uint64_t count = Le16(e + 10), cd_size = Le32(e + 12), cd_off = Le32(e + 16);
  if (count == 0xffff || cd_size == 0xffffffff || cd_off == 0xffffffff) {
    uint64_t eocd_abs = size - tail_len + eocd;
    if (eocd_abs < 20) return Bad("zip64 locator missing");
    char loc[20];
    AISLE_RETURN_IF_ERROR(ReadExact(src, eocd_abs - 20, loc, 20, "zip64 locator"));
    if (Le32(loc) != kZip64LocSig) return Bad("zip64 locator missing");
    uint64_t z64 = Le64(loc + 8);
    char rec[56];
    AISLE_RETURN_IF_ERROR(ReadExact(src, z64, rec, 56, "zip64 end record"));
    if (Le32(rec) != kZip64EocdSig) return Bad("bad zip64 end record");
    count = Le64(rec + 32);
    cd_size = Le64(rec + 40);
    cd_off = Le64(rec + 48);
  }
  if (count > limits.max_members)
    return Status::InvalidArgument("archive has more than " + std::to_string(limits.max_members) +
                                   " members (limit)");
  if (cd_off > size || cd_size > size - cd_off) return Bad("central directory out of bounds");
  if (cd_size > (uint64_t{1} << 32)) return Bad("central directory too large");
  if (count * 46 > cd_size) return Bad("central directory shorter than its entry count");
  std::string cd(static_cast<size_t>(cd_size), '\0');
  AISLE_RETURN_IF_ERROR(ReadExact(src, cd_off, cd.data(), cd.size(), "zip central directory"));

  ShardIndex idx;
  idx.format = Format::kZip;
  idx.members.reserve(static_cast<size_t>(count));
  size_t p = 0;
  for (uint64_t i = 0; i < count; ++i) {
    if (cd.size() - p < 46 || Le32(&cd[p]) != kCentralSig)
      return Bad("bad central directory entry #" + std::to_string(i));
    const char* c = &cd[p];
    uint16_t made_by = Le16(c + 4), flags = Le16(c + 8), method = Le16(c + 10);
    uint16_t nlen = Le16(c + 28), xlen = Le16(c + 30), clen = Le16(c + 32);
    if (cd.size() - p - 46 < static_cast<size_t>(nlen) + xlen + clen)
      return Bad("central directory entry #" + std::to_string(i) + " runs past its end");
    Member m;
    m.name.assign(c + 46, nlen);
    if (m.name.size() > limits.max_name_len)
      return Status::InvalidArgument("member name longer than " +
                                     std::to_string(limits.max_name_len) + " bytes (limit)");
    m.crc32 = Le32(c + 16);
    m.csize = Le32(c + 20);
    m.size = Le32(c + 24);
    m.header_offset = Le32(c + 42);
    m.mtime = DosTime(Le16(c + 12), Le16(c + 14));
    // zip64 extra: the 0xffffffff fields, in order size, csize, offset.
    const char* x = c + 46 + nlen;
    for (size_t k = 0; k + 4 <= xlen;) {
      uint16_t id = Le16(x + k), len = Le16(x + k + 2);
      if (k + 4 + len > xlen) break;
      const char* d = x + k + 4;
      if (id == 0x0001) {
        size_t q = 0;
        auto take = [&](uint64_t* v) {
          if (*v == 0xffffffff && q + 8 <= len) {
            *v = Le64(d + q);
            q += 8;
          }
        };
        take(&m.size);
        take(&m.csize);
        take(&m.header_offset);
      } else if (id == 0x5455 && len >= 5 && (d[0] & 1)) {
        m.mtime = static_cast<int32_t>(Le32(d + 1));
      }
      k += 4 + len;
    }
    bool is_dir = !m.name.empty() && m.name.back() == '/';
    m.type = is_dir ? MemberType::kDir : MemberType::kFile;
    uint32_t ext = Le32(c + 38);
    if ((made_by >> 8) == 3 && (ext >> 16) != 0) {
      uint32_t unix_mode = ext >> 16;
      m.mode = unix_mode & 07777;
      if ((unix_mode & 0170000) == 0120000) m.type = MemberType::kSymlink;
      if ((unix_mode & 0170000) == 0040000) m.type = MemberType::kDir;
    } else {
      m.mode = is_dir ? 0755 : 0644;
    }
    if (flags & 1)
      m.method = 0xff;  // encrypted: listed, never served
    else
      m.method = static_cast<uint8_t>(method == 0 || method == 8 ? method : 0xfe);
    m.name_flags = CheckMemberName(m.name);
    if (m.header_offset > size || m.csize > size - m.header_offset)
      return Bad("member \"" + m.name + "\" lies outside the archive");
    if (m.type == MemberType::kFile && m.method == 8 && m.size > limits.expansion_floor &&
        m.size / (m.csize + 1) > limits.max_expansion_ratio)
      return Status::InvalidArgument("member \"" + m.name + "\" expands " +
                                     std::to_string(m.size / (m.csize + 1)) +
                                     ":1, over the limit (zip bomb?)");
    if (m.method == 0 && m.csize != m.size)
      return Bad("stored member \"" + m.name + "\" has size != compressed size");
    char lh[30];
    AISLE_RETURN_IF_ERROR(ReadExact(src, m.header_offset, lh, 30, "zip local header"));
    if (Le32(lh) != kLocalSig) return Bad("bad local header for \"" + m.name + "\"");
    m.offset = m.header_offset + 30 + Le16(lh + 26) + Le16(lh + 28);
    if (m.offset > size || m.csize > size - m.offset)
      return Bad("data of \"" + m.name + "\" runs past the end (truncated?)");
    idx.members.push_back(std::move(m));
    p += 46 + nlen + xlen + clen;
  }
  idx.stream_size = size;
  idx.end_of_entries = cd_off;
  idx.Finalize();
  return idx;
}

Result<ShardIndex> BuildTarIndex(const RandomAccessSource& src, Format format,
                                 const Limits& limits);

Result<Format> DetectFormat(const RandomAccessSource& src) {
  char head[512];
  AISLE_ASSIGN_OR_RETURN(size_t n, src.ReadAt(0, head, sizeof head));
  return FormatFromMagic(std::string_view(head, n));
}

Result<ShardIndex> BuildIndex(const RandomAccessSource& src, Format format, const Limits& limits) {
  if (format == Format::kUnknown) {
    AISLE_ASSIGN_OR_RETURN(format, DetectFormat(src));
    if (format == Format::kUnknown)
      return Status::InvalidArgument(
          "not an archive: unknown format (expecting .tar, .tgz, "
          ".tar.gz, .zip, .tar.lz4 or .tar.zst)");
  }
  try {
    if (format == Format::kZip) return BuildZipIndex(src, limits);
    return BuildTarIndex(src, format, limits);
  } catch (const std::bad_alloc&) {
    return Status::InvalidArgument("archive index needs more memory than available");
  } catch (const std::exception& e) {
    return Status::Internal(std::string("archive index: ") + e.what());
  }
}

}  // namespace aisle::archive
