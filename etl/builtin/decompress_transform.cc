// decompress: gzip (multi-member), lz4 frame and zstd (multi-frame) into memory, bounded by
// max_output so a decompression bomb fails with kTooLarge instead of exhausting the node.
#include <lz4frame.h>
#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <memory>

#include "etl/builtin/builtin_ops.h"

namespace aisle::etl::builtin {
namespace {

enum class Codec { kGzip, kLz4, kZstd };

bool StartsWith(std::string_view d, std::initializer_list<unsigned char> magic) {
  if (d.size() < magic.size()) return false;
  size_t i = 0;
  for (unsigned char m : magic) {
    if (static_cast<unsigned char>(d[i++]) != m) return false;
  }
  return true;
}
bool IsGzip(std::string_view d) { return StartsWith(d, {0x1f, 0x8b}); }
bool IsLz4(std::string_view d) { return StartsWith(d, {0x04, 0x22, 0x4d, 0x18}); }
bool IsZstd(std::string_view d) { return StartsWith(d, {0x28, 0xb5, 0x2f, 0xfd}); }

Result<Codec> PickCodec(std::string_view format, std::string_view data) {
  if (format == "gz") return Codec::kGzip;
  if (format == "lz4") return Codec::kLz4;
  if (format == "zst") return Codec::kZstd;
  if (IsGzip(data)) return Codec::kGzip;
  if (IsLz4(data)) return Codec::kLz4;
  if (IsZstd(data)) return Codec::kZstd;
  return Status::InvalidArgument("not gzip, lz4 or zstd data");
}

// Output buffer growing geometrically up to limit + 1 bytes (one more than allowed, so that
// overflow is detected without decoding any further).
class Output {
 public:
  // limit is clamped so that limit + 1 cannot overflow.
  Output(uint64_t limit, size_t input_size) : limit_(std::min<uint64_t>(limit, 1ull << 46)) {
    // A guess of 4x the input, within [64 KiB, 64 MiB]: doubling handles the rest.
    uint64_t first = std::clamp<uint64_t>(uint64_t{input_size} * 4, 64 << 10, 64 << 20);
    buf_.resize(static_cast<size_t>(std::min(first, limit_ + 1)));
  }
  // Free space at the end; grows first when full. Empty span = over the limit.
  Status Reserve() {
    if (used_ < buf_.size()) return Status::OK();
    if (used_ > limit_) return TooLarge();
    uint64_t next = std::min<uint64_t>(uint64_t{buf_.size()} * 2, limit_ + 1);
    buf_.resize(static_cast<size_t>(next));
    return Status::OK();
  }
  char* tail() { return buf_.data() + used_; }
  size_t room() const { return buf_.size() - used_; }
  Status Advance(size_t n) {
    used_ += n;
    return used_ > limit_ ? TooLarge() : Status::OK();
  }
  std::string Take() {
    buf_.resize(used_);
    return std::move(buf_);
  }

 private:
  Status TooLarge() const {
    return Status::TooLarge("decompressed data exceeds max_output (" + std::to_string(limit_) +
                            " bytes)");
  }
  uint64_t limit_;
  std::string buf_;
  size_t used_ = 0;
};

bool AllZero(std::string_view d) { return d.find_first_not_of('\0') == std::string_view::npos; }

Result<std::string> Gunzip(std::string_view in, uint64_t limit) {
  z_stream zs{};
  if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK) return Status::Internal("inflateInit2 failed");
  std::unique_ptr<z_stream, int (*)(z_stream*)> guard(&zs, inflateEnd);
  Output out(limit, in.size());
  size_t pos = 0;
  while (true) {
    AISLE_RETURN_IF_ERROR(out.Reserve());
    // zlib counts in uInt: feed and drain at most 1 GiB per call.
    size_t in_chunk = std::min<size_t>(in.size() - pos, 1u << 30);
    size_t out_chunk = std::min<size_t>(out.room(), 1u << 30);
    zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data() + pos));
    zs.avail_in = static_cast<uInt>(in_chunk);
    zs.next_out = reinterpret_cast<Bytef*>(out.tail());
    zs.avail_out = static_cast<uInt>(out_chunk);
    int rc = inflate(&zs, Z_NO_FLUSH);
    pos += in_chunk - zs.avail_in;
    AISLE_RETURN_IF_ERROR(out.Advance(out_chunk - zs.avail_out));
    if (rc == Z_STREAM_END) {
      std::string_view rest = in.substr(pos);
      if (rest.empty() || AllZero(rest)) break;  // tar.gz files are sometimes zero-padded
      if (!IsGzip(rest)) return Status::DataCorruption("gzip: trailing garbage after member");
      if (inflateReset(&zs) != Z_OK) return Status::Internal("inflateReset failed");
      continue;
    }
    if (rc == Z_OK) continue;
    if (rc == Z_BUF_ERROR) {
      // No progress possible: either the output is full (grow and go on) or input ran out.
      if (out.room() == 0 || zs.avail_out == 0) continue;
      return Status::DataCorruption("gzip: truncated data");
    }
    return Status::DataCorruption(std::string("gzip: ") + (zs.msg ? zs.msg : zError(rc)));
  }
  return out.Take();
}

Result<std::string> Unlz4(std::string_view in, uint64_t limit) {
  LZ4F_dctx* raw = nullptr;
  if (LZ4F_isError(LZ4F_createDecompressionContext(&raw, LZ4F_VERSION))) {
    return Status::Internal("LZ4F_createDecompressionContext failed");
  }
  std::unique_ptr<LZ4F_dctx, size_t (*)(LZ4F_dctx*)> ctx(raw, LZ4F_freeDecompressionContext);
  Output out(limit, in.size());
  size_t pos = 0;
  size_t hint = 1;  // 0 = at a frame boundary
  while (pos < in.size()) {
    AISLE_RETURN_IF_ERROR(out.Reserve());
    size_t src_n = in.size() - pos;
    size_t dst_n = out.room();
    hint = LZ4F_decompress(ctx.get(), out.tail(), &dst_n, in.data() + pos, &src_n, nullptr);
    if (LZ4F_isError(hint)) {
      return Status::DataCorruption(std::string("lz4: ") + LZ4F_getErrorName(hint));
    }
    pos += src_n;
    AISLE_RETURN_IF_ERROR(out.Advance(dst_n));
  }
  // The decoder may still hold decoded bytes when the output filled up at the end.
  while (hint != 0) {
    AISLE_RETURN_IF_ERROR(out.Reserve());
    size_t src_n = 0;
    size_t dst_n = out.room();
    hint = LZ4F_decompress(ctx.get(), out.tail(), &dst_n, nullptr, &src_n, nullptr);
    if (LZ4F_isError(hint)) {
      return Status::DataCorruption(std::string("lz4: ") + LZ4F_getErrorName(hint));
    }
    AISLE_RETURN_IF_ERROR(out.Advance(dst_n));
    if (dst_n == 0 && hint != 0) return Status::DataCorruption("lz4: truncated frame");
  }
  return out.Take();
}

Result<std::string> Unzstd(std::string_view in, uint64_t limit) {
  std::unique_ptr<ZSTD_DCtx, size_t (*)(ZSTD_DCtx*)> ctx(ZSTD_createDCtx(), ZSTD_freeDCtx);
  if (!ctx) return Status::Internal("ZSTD_createDCtx failed");
  Output out(limit, in.size());
  ZSTD_inBuffer ib{in.data(), in.size(), 0};
  size_t ret = 1;  // 0 = a frame just ended
  while (true) {
    AISLE_RETURN_IF_ERROR(out.Reserve());
    ZSTD_outBuffer ob{out.tail(), out.room(), 0};
    ret = ZSTD_decompressStream(ctx.get(), &ob, &ib);
    if (ZSTD_isError(ret)) {
      return Status::DataCorruption(std::string("zstd: ") + ZSTD_getErrorName(ret));
    }
    AISLE_RETURN_IF_ERROR(out.Advance(ob.pos));
    if (ib.pos < ib.size) continue;
    if (ret == 0) break;
    // All input consumed mid-frame: more output may be pending only if the buffer was full.
    if (ob.pos < ob.size) return Status::DataCorruption("zstd: truncated frame");
  }
  return out.Take();
}

}  // namespace

Status ValidateDecompress(const Args& args, bool /*complete*/) {
  AISLE_RETURN_IF_ERROR(CheckKeys(args, {"format"}));
  std::string f = GetString(args, "format", "auto");
  if (f != "auto" && f != "gz" && f != "lz4" && f != "zst") {
    return BadValue("format", f, "gz, lz4, zst or auto");
  }
  return Status::OK();
}

Result<std::string> RunDecompress(const BuiltinCall& call) {
  AISLE_ASSIGN_OR_RETURN(Codec codec,
                         PickCodec(GetString(*call.args, "format", "auto"), call.data));
  switch (codec) {
    case Codec::kGzip: return Gunzip(call.data, call.max_output);
    case Codec::kLz4: return Unlz4(call.data, call.max_output);
    case Codec::kZstd: return Unzstd(call.data, call.max_output);
  }
  return Status::Internal("unreachable");
}

}  // namespace aisle::etl::builtin
