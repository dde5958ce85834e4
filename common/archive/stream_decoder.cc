#include "common/archive/stream_decoder.h"

#include <lz4frame.h>
#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <cstring>
#include <string>

namespace aisle::archive {
namespace {

constexpr size_t kInChunk = 256 << 10;
constexpr size_t kWindow = 32768;

Status Corrupt(const char* what, const std::string& why) {
  return Status::InvalidArgument(std::string(what) + ": corrupt or truncated stream: " + why);
}

// Buffered sequential input over the source.
class Input {
 public:
  Input(const RandomAccessSource* src, uint64_t pos) : src_(src), next_(pos), buf_(kInChunk, 0) {}
  // Refills when empty; false at the end of the source.
  Result<bool> Fill() {
    if (avail_ > 0) return true;
    AISLE_ASSIGN_OR_RETURN(size_t n, src_->ReadAt(next_, buf_.data(), buf_.size()));
    pos_ = buf_.data();
    avail_ = n;
    next_ += n;
    return n > 0;
  }
  const char* data() const { return pos_; }
  size_t avail() const { return avail_; }
  void Consume(size_t n) {
    pos_ += n;
    avail_ -= n;
  }
  // Absolute offset of the next unconsumed byte.
  uint64_t pos() const { return next_ - avail_; }
  bool AtEnd() const { return avail_ == 0 && next_ >= src_->Size(); }

 private:
  const RandomAccessSource* src_;
  uint64_t next_;
  std::string buf_;
  const char* pos_ = nullptr;
  size_t avail_ = 0;
};

class GzipDecoder : public StreamDecoder {
 public:
  GzipDecoder(const RandomAccessSource* src, uint64_t in) : in_(src, in) {}
  ~GzipDecoder() override {
    if (init_) inflateEnd(&z_);
  }

  Status Init(const SeekPoint* start) {
    std::memset(&z_, 0, sizeof z_);
    if (!start) {
      if (inflateInit2(&z_, 47) != Z_OK) return Status::Internal("inflateInit2 failed");
      init_ = true;
      return Status::OK();
    }
    if (inflateInit2(&z_, -15) != Z_OK) return Status::Internal("inflateInit2 failed");
    init_ = true;
    raw_ = true;
    out_ = start->out;
    if (start->bits) {
      char c;
      AISLE_RETURN_IF_ERROR(ReadExact(*src_, start->in - 1, &c, 1, "gzip seek point"));
      inflatePrime(&z_, start->bits, static_cast<unsigned char>(c) >> (8 - start->bits));
    }
    if (!start->window.empty()) {
      inflateSetDictionary(&z_, reinterpret_cast<const Bytef*>(start->window.data()),
                           static_cast<uInt>(start->window.size()));
    }
    return Status::OK();
  }

  Result<size_t> Read(char* buf, size_t n) override {
    if (done_ || n == 0) return size_t{0};
    z_.next_out = reinterpret_cast<Bytef*>(buf);
    z_.avail_out = static_cast<uInt>(std::min<size_t>(n, 1 << 30));
    while (z_.avail_out > 0) {
      AISLE_ASSIGN_OR_RETURN(bool more, in_.Fill());
      if (!more) {
        if (!member_started_) {  // clean end between gzip members
          done_ = true;
          break;
        }
        return Corrupt("gzip", "unexpected end of data");
      }
      if (!member_started_ && !raw_) {
        // Between members: anything but a gzip magic is trailing padding; stop there.
        if (static_cast<unsigned char>(in_.data()[0]) != 0x1f) {
          done_ = true;
          break;
        }
      }
      member_started_ = true;
      z_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in_.data()));
      z_.avail_in = static_cast<uInt>(in_.avail());
      Bytef* before_out = z_.next_out;
      uInt before_in = z_.avail_in;
      int rc = inflate(&z_, record_ ? Z_BLOCK : Z_NO_FLUSH);
      size_t produced = static_cast<size_t>(z_.next_out - before_out);
      in_.Consume(before_in - z_.avail_in);
      if (record_) Remember(before_out, produced);
      out_ += produced;
      if (rc == Z_STREAM_END) {
        member_started_ = false;
        if (raw_) {  // skip the 8-byte trailer, then parse the next member's header
          Status st = SkipInput(8);
          if (!st.ok()) return st;
          raw_ = false;
          inflateReset2(&z_, 47);
        } else {
          inflateReset(&z_);
        }
        continue;
      }
      if (produced == 0 && before_in == z_.avail_in) {
        if (++stalls_ > 2) return Corrupt("gzip", "decoder made no progress");
        continue;
      }
      stalls_ = 0;
      if (rc != Z_OK && rc != Z_BUF_ERROR)
        return Corrupt("gzip", z_.msg ? z_.msg : "inflate error " + std::to_string(rc));
      if (record_ && (z_.data_type & 128) && !(z_.data_type & 64) &&
          (points_.empty() || out_ - points_.back().out >= limits_.seek_span)) {
        AddPoint();
      }
      AISLE_RETURN_IF_ERROR(CheckExpansion(in_.pos()));
    }
    return static_cast<size_t>(reinterpret_cast<char*>(z_.next_out) - buf);
  }

 private:
  Status SkipInput(size_t n) {
    while (n > 0) {
      AISLE_ASSIGN_OR_RETURN(bool more, in_.Fill());
      if (!more) return Corrupt("gzip", "truncated member trailer");
      size_t k = std::min(n, in_.avail());
      in_.Consume(k);
      n -= k;
    }
    return Status::OK();
  }

  void Remember(const Bytef* p, size_t n) {
    if (n >= kWindow) {
      window_.assign(reinterpret_cast<const char*>(p + n - kWindow), kWindow);
      return;
    }
    window_.append(reinterpret_cast<const char*>(p), n);
    if (window_.size() > 2 * kWindow) window_.erase(0, window_.size() - kWindow);
  }

  void AddPoint() {
    SeekPoint p;
    p.out = out_;
    p.in = in_.pos();
    p.bits = static_cast<uint8_t>(z_.data_type & 7);
    size_t w = std::min(window_.size(), kWindow);
    p.window = window_.substr(window_.size() - w);
    points_.push_back(std::move(p));
  }

  Input in_;
  z_stream z_;
  bool init_ = false;
  bool raw_ = false;
  bool member_started_ = false;
  bool done_ = false;
  int stalls_ = 0;
  std::string window_;
};

class Lz4Decoder : public StreamDecoder {
 public:
  Lz4Decoder(const RandomAccessSource* src, uint64_t in) : in_(src, in) {}
  ~Lz4Decoder() override {
    if (ctx_) LZ4F_freeDecompressionContext(ctx_);
  }
  Status Init(const SeekPoint* start) {
    if (LZ4F_isError(LZ4F_createDecompressionContext(&ctx_, LZ4F_VERSION)))
      return Status::Internal("lz4 context");
    if (start) out_ = start->out;
    return Status::OK();
  }
  Result<size_t> Read(char* buf, size_t n) override {
    size_t total = 0;
    while (total < n) {
      AISLE_ASSIGN_OR_RETURN(bool more, in_.Fill());
      if (!more) {
        if (frame_open_) return Corrupt("lz4", "unexpected end of data");
        break;
      }
      if (!frame_open_) {
        if (record_ && (points_.empty() || out_ - points_.back().out >= limits_.seek_span))
          points_.push_back(SeekPoint{out_, in_.pos(), 0, {}});
        frame_open_ = true;
      }
      size_t dst = n - total, srcn = in_.avail();
      size_t rc = LZ4F_decompress(ctx_, buf + total, &dst, in_.data(), &srcn, nullptr);
      if (LZ4F_isError(rc)) return Corrupt("lz4", LZ4F_getErrorName(rc));
      in_.Consume(srcn);
      total += dst;
      out_ += dst;
      if (rc == 0) frame_open_ = false;
      AISLE_RETURN_IF_ERROR(CheckExpansion(in_.pos()));
      if (dst == 0 && srcn == 0) return Corrupt("lz4", "decoder made no progress");
    }
    return total;
  }

 private:
  Input in_;
  LZ4F_dctx* ctx_ = nullptr;
  bool frame_open_ = false;
};

class ZstdDecoder : public StreamDecoder {
 public:
  ZstdDecoder(const RandomAccessSource* src, uint64_t in) : in_(src, in) {}
  ~ZstdDecoder() override {
    if (ctx_) ZSTD_freeDCtx(ctx_);
  }
  Status Init(const SeekPoint* start) {
    ctx_ = ZSTD_createDCtx();
    if (!ctx_) return Status::Internal("zstd context");
    ZSTD_DCtx_setParameter(ctx_, ZSTD_d_windowLogMax, 27);  // bounds decoder memory (128 MiB)
    if (start) out_ = start->out;
    return Status::OK();
  }
  Result<size_t> Read(char* buf, size_t n) override {
    ZSTD_outBuffer out{buf, n, 0};
    while (out.pos < out.size) {
      AISLE_ASSIGN_OR_RETURN(bool more, in_.Fill());
      if (!more) {
        if (frame_open_) return Corrupt("zstd", "unexpected end of data");
        break;
      }
      if (!frame_open_) {
        if (record_ && (points_.empty() || out_ - points_.back().out >= limits_.seek_span))
          points_.push_back(SeekPoint{out_, in_.pos(), 0, {}});
        frame_open_ = true;
      }
      ZSTD_inBuffer in{in_.data(), in_.avail(), 0};
      size_t before = out.pos;
      size_t rc = ZSTD_decompressStream(ctx_, &out, &in);
      if (ZSTD_isError(rc)) return Corrupt("zstd", ZSTD_getErrorName(rc));
      in_.Consume(in.pos);
      out_ += out.pos - before;
      if (rc == 0) frame_open_ = false;
      AISLE_RETURN_IF_ERROR(CheckExpansion(in_.pos()));
      if (in.pos == 0 && out.pos == before) return Corrupt("zstd", "decoder made no progress");
    }
    return out.pos;
  }

 private:
  Input in_;
  ZSTD_DCtx* ctx_ = nullptr;
  bool frame_open_ = false;
};

}  // namespace

Status StreamDecoder::CheckExpansion(uint64_t in_consumed) const {
  uint64_t in = in_consumed - in_start_ + 4096;  // slack for tiny streams
  if (out_ > limits_.max_uncompressed)
    return Status::InvalidArgument("archive expands beyond the limit of " +
                                   std::to_string(limits_.max_uncompressed) + " bytes");
  if (record_ && out_ > limits_.expansion_floor && out_ / in > limits_.max_expansion_ratio)
    return Status::InvalidArgument("archive expansion ratio exceeds the limit of " +
                                   std::to_string(limits_.max_expansion_ratio) +
                                   ":1 (compression bomb?)");
  return Status::OK();
}

Status StreamDecoder::Skip(uint64_t n) {
  char buf[64 << 10];
  while (n > 0) {
    AISLE_ASSIGN_OR_RETURN(size_t got,
                           Read(buf, static_cast<size_t>(std::min<uint64_t>(n, sizeof buf))));
    if (got == 0) return Status::InvalidArgument("archive is truncated (member beyond the end)");
    n -= got;
  }
  return Status::OK();
}

Result<std::unique_ptr<StreamDecoder>> StreamDecoder::Open(Format format,
                                                           const RandomAccessSource* src,
                                                           const SeekPoint* start, bool record,
                                                           const Limits& limits) {
  uint64_t in = start ? start->in : 0;
  std::unique_ptr<StreamDecoder> d;
  Status st;
  switch (format) {
    case Format::kTgz: {
      auto g = std::make_unique<GzipDecoder>(src, in);
      g->src_ = src;
      st = g->Init(start);
      d = std::move(g);
      break;
    }
    case Format::kTarLz4: {
      auto l = std::make_unique<Lz4Decoder>(src, in);
      st = l->Init(start);
      d = std::move(l);
      break;
    }
    case Format::kTarZst: {
      auto z = std::make_unique<ZstdDecoder>(src, in);
      st = z->Init(start);
      d = std::move(z);
      break;
    }
    default: return Status::InvalidArgument("not a compressed tar format");
  }
  if (!st.ok()) return st;
  d->src_ = src;
  d->limits_ = limits;
  d->record_ = record;
  d->in_start_ = in;
  return d;
}

}  // namespace aisle::archive
