// Image decode/encode for image-resize: JPEG through libturbojpeg (decoding at a DCT scale
// when a smaller image is wanted), PNG through libpng's simplified API. 8-bit pixels only.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace aisle::etl::builtin {

enum class ImageFormat { kUnknown, kJpeg, kPng };

// Interleaved 8-bit pixels, rows packed (stride = width * channels). channels: 1 gray,
// 2 gray+alpha, 3 RGB, 4 RGBA.
struct Image {
  int width = 0;
  int height = 0;
  int channels = 0;
  std::vector<uint8_t> pixels;
};

struct ImageHeader {
  ImageFormat format = ImageFormat::kUnknown;
  int width = 0;
  int height = 0;
};

// By magic bytes; kInvalidArgument "not a JPEG or PNG image" for anything else, and
// "corrupt JPEG: ..." / "corrupt PNG: ..." when the header does not parse.
Result<ImageHeader> ReadImageHeader(std::string_view data);

// Decodes data. JPEG: at the smallest DCT scale (1/2, 1/4, 1/8) whose result is at least
// need_w x need_h, i.e. most of the downscale is done by the IDCT (0, 0 = full size).
// Images of more than max_pixels are kTooLarge; corrupt data is kInvalidArgument.
Result<Image> DecodeImage(std::string_view data, int need_w, int need_h, uint64_t max_pixels);

// quality 1..100, 4:2:0 chroma subsampling; an alpha channel is dropped.
Result<std::string> EncodeJpeg(const Image& img, int quality);
Result<std::string> EncodePng(const Image& img);

}  // namespace aisle::etl::builtin
