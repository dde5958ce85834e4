#include "etl/builtin/image_codec.h"

#include <png.h>
#include <turbojpeg.h>

#include <cstring>

namespace aisle::etl::builtin {
namespace {

constexpr unsigned char kPngMagic[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};

bool IsJpeg(std::string_view d) {
  return d.size() >= 3 && static_cast<unsigned char>(d[0]) == 0xff &&
         static_cast<unsigned char>(d[1]) == 0xd8 && static_cast<unsigned char>(d[2]) == 0xff;
}
bool IsPng(std::string_view d) { return d.size() >= 8 && std::memcmp(d.data(), kPngMagic, 8) == 0; }

// One decompressor and one compressor per thread: creating them costs more than decoding a
// thumbnail-sized image.
struct TjHandle {
  tjhandle h = nullptr;
  ~TjHandle() {
    if (h) tjDestroy(h);
  }
};
Result<tjhandle> Decompressor() {
  thread_local TjHandle t;
  if (!t.h) t.h = tjInitDecompress();
  if (!t.h) return Status::Internal("tjInitDecompress failed");
  return t.h;
}
Result<tjhandle> Compressor() {
  thread_local TjHandle t;
  if (!t.h) t.h = tjInitCompress();
  if (!t.h) return Status::Internal("tjInitCompress failed");
  return t.h;
}

const unsigned char* U8(std::string_view d) {
  return reinterpret_cast<const unsigned char*>(d.data());
}

Status CheckPixels(uint64_t w, uint64_t h, uint64_t max_pixels) {
  if (w == 0 || h == 0) return Status::InvalidArgument("image has zero width or height");
  if (w * h > max_pixels) {
    return Status::TooLarge("image of " + std::to_string(w) + "x" + std::to_string(h) +
                            " exceeds " + std::to_string(max_pixels) + " pixels");
  }
  return Status::OK();
}

struct JpegHeader {
  int width = 0, height = 0, subsamp = 0, colorspace = 0;
};

Result<JpegHeader> ReadJpegHeader(tjhandle h, std::string_view data) {
  JpegHeader jh;
  if (tjDecompressHeader3(h, U8(data), data.size(), &jh.width, &jh.height, &jh.subsamp,
                          &jh.colorspace) != 0) {
    return Status::InvalidArgument(std::string("corrupt JPEG: ") + tjGetErrorStr2(h));
  }
  // A header cut short can "succeed" with zero dimensions.
  if (jh.width <= 0 || jh.height <= 0) {
    return Status::InvalidArgument("corrupt JPEG: no frame header (truncated?)");
  }
  return jh;
}

Result<Image> DecodeJpeg(std::string_view data, int need_w, int need_h, uint64_t max_pixels) {
  AISLE_ASSIGN_OR_RETURN(tjhandle h, Decompressor());
  AISLE_ASSIGN_OR_RETURN(JpegHeader jh, ReadJpegHeader(h, data));
  AISLE_RETURN_IF_ERROR(CheckPixels(jh.width, jh.height, max_pixels));
  if (jh.colorspace == TJCS_CMYK || jh.colorspace == TJCS_YCCK) {
    return Status::InvalidArgument("CMYK JPEG is not supported");
  }
  // Smallest factor 1/2, 1/4 or 1/8 that still covers the wanted size. Only these have SIMD
  // IDCTs in libjpeg-turbo: 3/8..7/8 decode slower than full size (measured, 2.1.5).
  int n = 0;
  const tjscalingfactor* sf = tjGetScalingFactors(&n);
  int w = jh.width, hh = jh.height;
  for (int i = 0; sf && i < n; ++i) {
    if (sf[i].num != 1 || sf[i].denom < 2) continue;
    int sw = TJSCALED(jh.width, sf[i]), sh = TJSCALED(jh.height, sf[i]);
    if (sw >= need_w && sh >= need_h && static_cast<int64_t>(sw) * sh < int64_t{w} * hh) {
      w = sw;
      hh = sh;
    }
  }
  Image img;
  img.width = w;
  img.height = hh;
  img.channels = jh.colorspace == TJCS_GRAY ? 1 : 3;
  img.pixels.resize(size_t{static_cast<size_t>(w)} * hh * img.channels);
  int pf = img.channels == 1 ? TJPF_GRAY : TJPF_RGB;
  if (tjDecompress2(h, U8(data), data.size(), img.pixels.data(), w, 0, hh, pf, 0) != 0) {
    // Warnings (a truncated file) also land here: a partly grey image is not a result.
    return Status::InvalidArgument(std::string("corrupt JPEG: ") + tjGetErrorStr2(h));
  }
  return img;
}

struct PngImage {
  png_image img{};
  PngImage() { img.version = PNG_IMAGE_VERSION; }
  ~PngImage() { png_image_free(&img); }
};

Result<Image> DecodePng(std::string_view data, uint64_t max_pixels) {
  PngImage p;
  if (!png_image_begin_read_from_memory(&p.img, data.data(), data.size())) {
    return Status::InvalidArgument(std::string("corrupt PNG: ") + p.img.message);
  }
  AISLE_RETURN_IF_ERROR(CheckPixels(p.img.width, p.img.height, max_pixels));
  // Keep gray/colour and alpha as the file has them; palettes and 16-bit become 8-bit.
  p.img.format = p.img.format & (PNG_FORMAT_FLAG_ALPHA | PNG_FORMAT_FLAG_COLOR);
  Image img;
  img.width = static_cast<int>(p.img.width);
  img.height = static_cast<int>(p.img.height);
  img.channels = static_cast<int>(PNG_IMAGE_PIXEL_CHANNELS(p.img.format));
  img.pixels.resize(PNG_IMAGE_SIZE(p.img));
  if (!png_image_finish_read(&p.img, nullptr, img.pixels.data(), 0, nullptr)) {
    return Status::InvalidArgument(std::string("corrupt PNG: ") + p.img.message);
  }
  return img;
}

// A copy without the alpha channel (JPEG has none).
Image DropAlpha(const Image& src) {
  Image out;
  out.width = src.width;
  out.height = src.height;
  out.channels = src.channels - 1;
  size_t n = size_t{static_cast<size_t>(src.width)} * src.height;
  out.pixels.resize(n * out.channels);
  const uint8_t* s = src.pixels.data();
  uint8_t* d = out.pixels.data();
  for (size_t i = 0; i < n; ++i, s += src.channels, d += out.channels) {
    for (int c = 0; c < out.channels; ++c) d[c] = s[c];
  }
  return out;
}

}  // namespace

Result<ImageHeader> ReadImageHeader(std::string_view data) {
  ImageHeader hdr;
  if (IsJpeg(data)) {
    AISLE_ASSIGN_OR_RETURN(tjhandle h, Decompressor());
    AISLE_ASSIGN_OR_RETURN(JpegHeader jh, ReadJpegHeader(h, data));
    hdr.format = ImageFormat::kJpeg;
    hdr.width = jh.width;
    hdr.height = jh.height;
    return hdr;
  }
  if (IsPng(data)) {
    // IHDR is always first: length(4) "IHDR" width(4) height(4), big-endian.
    if (data.size() < 24 || data.substr(12, 4) != "IHDR") {
      return Status::InvalidArgument("corrupt PNG: no IHDR chunk");
    }
    auto be32 = [&](size_t off) {
      const unsigned char* p = U8(data) + off;
      return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
    };
    uint32_t w = be32(16), h = be32(20);
    if (w == 0 || h == 0 || w > 0x7fffffff || h > 0x7fffffff) {
      return Status::InvalidArgument("corrupt PNG: bad dimensions");
    }
    hdr.format = ImageFormat::kPng;
    hdr.width = static_cast<int>(w);
    hdr.height = static_cast<int>(h);
    return hdr;
  }
  return Status::InvalidArgument("not a JPEG or PNG image");
}

Result<Image> DecodeImage(std::string_view data, int need_w, int need_h, uint64_t max_pixels) {
  if (IsJpeg(data)) return DecodeJpeg(data, need_w, need_h, max_pixels);
  if (IsPng(data)) return DecodePng(data, max_pixels);
  return Status::InvalidArgument("not a JPEG or PNG image");
}

Result<std::string> EncodeJpeg(const Image& img, int quality) {
  if (img.channels == 2 || img.channels == 4) return EncodeJpeg(DropAlpha(img), quality);
  AISLE_ASSIGN_OR_RETURN(tjhandle h, Compressor());
  bool gray = img.channels == 1;
  unsigned char* buf = nullptr;
  unsigned long size = 0;  // NOLINT(runtime/int): turbojpeg's type
  int rc = tjCompress2(h, img.pixels.data(), img.width, 0, img.height, gray ? TJPF_GRAY : TJPF_RGB,
                       &buf, &size, gray ? TJSAMP_GRAY : TJSAMP_420, quality, 0);
  if (rc != 0) {
    if (buf) tjFree(buf);
    return Status::Internal(std::string("JPEG encode: ") + tjGetErrorStr2(h));
  }
  std::string out(reinterpret_cast<const char*>(buf), size);
  tjFree(buf);
  return out;
}

Result<std::string> EncodePng(const Image& img) {
  PngImage p;
  p.img.width = static_cast<png_uint_32>(img.width);
  p.img.height = static_cast<png_uint_32>(img.height);
  static constexpr png_uint_32 kFormats[] = {PNG_FORMAT_GRAY, PNG_FORMAT_GA, PNG_FORMAT_RGB,
                                             PNG_FORMAT_RGBA};
  p.img.format = kFormats[img.channels - 1];
  // Writing into a worst-case sized buffer compresses once (the two-call form compresses twice).
  png_alloc_size_t size = PNG_IMAGE_PNG_SIZE_MAX(p.img);
  std::string out(size, '\0');
  if (!png_image_write_to_memory(&p.img, out.data(), &size, 0, img.pixels.data(), 0, nullptr)) {
    return Status::Internal(std::string("PNG encode: ") + p.img.message);
  }
  out.resize(size);
  return out;
}

}  // namespace aisle::etl::builtin
