#include "common/archive/member_reader.h"

#include <zlib.h>

#include <algorithm>
#include <memory>
#include <string>

#include "common/archive/stream_decoder.h"

namespace aisle::archive {
namespace {

constexpr size_t kChunk = 256 << 10;

Status CopyRange(const RandomAccessSource& src, uint64_t at, uint64_t len, const ByteSink& sink) {
  std::string buf(static_cast<size_t>(std::min<uint64_t>(len, kChunk)), '\0');
  while (len > 0) {
    size_t want = static_cast<size_t>(std::min<uint64_t>(len, buf.size()));
    AISLE_RETURN_IF_ERROR(ReadExact(src, at, buf.data(), want, "member"));
    AISLE_RETURN_IF_ERROR(sink(std::string_view(buf.data(), want)));
    at += want;
    len -= want;
  }
  return Status::OK();
}

// Inflates one deflated zip member, emitting bytes [off, off+len).
Status InflateZipMember(const RandomAccessSource& src, const Member& m, uint64_t off, uint64_t len,
                        const ByteSink& sink) {
  z_stream z{};
  if (inflateInit2(&z, -15) != Z_OK) return Status::Internal("inflateInit2 failed");
  std::unique_ptr<z_stream, int (*)(z_stream*)> guard(&z, inflateEnd);
  std::string in(kChunk, '\0'), out(kChunk, '\0');
  uint64_t in_pos = 0, out_pos = 0, end = off + len;
  bool whole = off == 0 && len == m.size;
  uLong crc = crc32(0, nullptr, 0);
  const std::string what = "member \"" + m.name + "\"";
  for (;;) {
    if (z.avail_in == 0 && in_pos < m.csize) {
      size_t want = static_cast<size_t>(std::min<uint64_t>(m.csize - in_pos, in.size()));
      AISLE_RETURN_IF_ERROR(ReadExact(src, m.offset + in_pos, in.data(), want, what));
      in_pos += want;
      z.next_in = reinterpret_cast<Bytef*>(in.data());
      z.avail_in = static_cast<uInt>(want);
    }
    z.next_out = reinterpret_cast<Bytef*>(out.data());
    z.avail_out = static_cast<uInt>(out.size());
    int rc = inflate(&z, Z_NO_FLUSH);
    size_t got = out.size() - z.avail_out;
    if (rc != Z_OK && rc != Z_STREAM_END && !(rc == Z_BUF_ERROR && got > 0))
      return Status::InvalidArgument(what + ": corrupt deflate data" +
                                     (z.msg ? std::string(": ") + z.msg : std::string()));
    if (out_pos + got > m.size)
      return Status::InvalidArgument(what + ": inflates past its declared size (zip bomb?)");
    if (whole) crc = crc32(crc, reinterpret_cast<Bytef*>(out.data()), static_cast<uInt>(got));
    uint64_t a = std::max(out_pos, off), b = std::min(out_pos + got, end);
    if (a < b) AISLE_RETURN_IF_ERROR(sink(std::string_view(out.data() + (a - out_pos), b - a)));
    out_pos += got;
    if (!whole && out_pos >= end) return Status::OK();
    if (rc == Z_STREAM_END) break;
    if (got == 0 && z.avail_in == 0 && in_pos >= m.csize)
      return Status::InvalidArgument(what + ": deflate data is truncated");
  }
  if (out_pos != m.size)
    return Status::InvalidArgument(what + ": inflated to " + std::to_string(out_pos) +
                                   " bytes, expected " + std::to_string(m.size));
  if (whole && static_cast<uint32_t>(crc) != m.crc32)
    return Status::InvalidArgument(what + ": CRC-32 mismatch");
  return Status::OK();
}

}  // namespace

std::optional<ShardRange> DirectRange(const ShardIndex& idx, const Member& m, uint64_t off,
                                      uint64_t len) {
  if (idx.format == Format::kTar || (idx.format == Format::kZip && m.method == 0))
    return ShardRange{m.offset + off, len};
  return std::nullopt;
}

Status ReadMember(const RandomAccessSource& src, const ShardIndex& idx, const Member& m,
                  uint64_t off, uint64_t len, const ByteSink& sink, const Limits& limits) {
  if (off > m.size || len > m.size - off)
    return Status::RangeNotSatisfiable("range outside member \"" + m.name + "\"");
  if (m.type == MemberType::kDir)
    return Status::InvalidArgument("\"" + m.name + "\" is a directory in the archive");
  if (m.method == 0xff) return Status::Unsupported("member \"" + m.name + "\" is encrypted");
  if (m.method == 0xfe)
    return Status::Unsupported("member \"" + m.name +
                               "\" uses an unsupported zip compression method");
  if (len == 0 && !(idx.format == Format::kZip && m.method == 8 && off == 0)) return Status::OK();
  try {
    if (auto r = DirectRange(idx, m, off, len)) return CopyRange(src, r->offset, r->length, sink);
    if (idx.format == Format::kZip) return InflateZipMember(src, m, off, len, sink);
    const SeekPoint* p = idx.PointFor(m.offset + off);
    AISLE_ASSIGN_OR_RETURN(auto dec, StreamDecoder::Open(idx.format, &src, p, false, limits));
    AISLE_RETURN_IF_ERROR(dec->Skip(m.offset + off - dec->out_pos()));
    std::string buf(kChunk, '\0');
    while (len > 0) {
      AISLE_ASSIGN_OR_RETURN(
          size_t n,
          dec->Read(buf.data(), static_cast<size_t>(std::min<uint64_t>(len, buf.size()))));
      if (n == 0) return Status::InvalidArgument("archive is truncated inside \"" + m.name + "\"");
      AISLE_RETURN_IF_ERROR(sink(std::string_view(buf.data(), n)));
      len -= n;
    }
    return Status::OK();
  } catch (const std::bad_alloc&) {
    return Status::Internal("out of memory reading member \"" + m.name + "\"");
  }
}

}  // namespace aisle::archive
