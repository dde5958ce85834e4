// image-resize: decode (JPEG at a DCT scale), resize like torchvision Resize(N) or to an exact
// size, center crop like torchvision CenterCrop, encode as JPEG or PNG.
#include <algorithm>
#include <cmath>

#include "etl/builtin/builtin_ops.h"
#include "etl/builtin/image_codec.h"
#include "etl/builtin/image_resize.h"

namespace aisle::etl::builtin {
namespace {

constexpr uint64_t kMaxPixels = 100'000'000;  // decoded or produced; more is kTooLarge
constexpr int64_t kMaxSide = 65'535;          // JPEG's own limit

struct ResizeOptions {
  int64_t size = 0;  // shorter side -> size
  int64_t width = 0, height = 0;
  int64_t crop = 0;
  std::string format = "same";
  int64_t quality = 90;
};

Result<ResizeOptions> ParseOptions(const Args& args) {
  AISLE_RETURN_IF_ERROR(CheckKeys(args, {"size", "width", "height", "crop", "format", "quality"}));
  ResizeOptions o;
  AISLE_ASSIGN_OR_RETURN(o.size, GetInt(args, "size", 0, 1, kMaxSide));
  AISLE_ASSIGN_OR_RETURN(o.width, GetInt(args, "width", 0, 1, kMaxSide));
  AISLE_ASSIGN_OR_RETURN(o.height, GetInt(args, "height", 0, 1, kMaxSide));
  AISLE_ASSIGN_OR_RETURN(o.crop, GetInt(args, "crop", 0, 1, kMaxSide));
  AISLE_ASSIGN_OR_RETURN(o.quality, GetInt(args, "quality", 90, 1, 100));
  o.format = GetString(args, "format", "same");
  if (o.format != "jpeg" && o.format != "png" && o.format != "same") {
    return BadValue("format", o.format, "jpeg, png or same");
  }
  if ((o.width != 0) != (o.height != 0)) {
    return Status::InvalidArgument("arguments 'width' and 'height' go together");
  }
  if (o.size != 0 && o.width != 0) {
    return Status::InvalidArgument("argument 'size' excludes 'width' and 'height'");
  }
  return o;
}

// torchvision CenterCrop: offset round((len - crop) / 2) (ties to even, as Python's round),
// or padding of (crop - len) / 2 before when the crop is larger.
int CropOffset(int len, int crop) {
  if (crop > len) return -((crop - len) / 2);
  return static_cast<int>(std::nearbyint((len - crop) / 2.0));
}

}  // namespace

Status ValidateImageResize(const Args& args, bool /*complete*/) {
  return ParseOptions(args).status();
}

Result<std::string> RunImageResize(const BuiltinCall& call) {
  AISLE_ASSIGN_OR_RETURN(ResizeOptions o, ParseOptions(*call.args));
  AISLE_ASSIGN_OR_RETURN(ImageHeader hdr, ReadImageHeader(call.data));
  const int64_t W = hdr.width, H = hdr.height;

  // Size of the resized image (torchvision truncates the longer side).
  int64_t ow = W, oh = H;
  if (o.size != 0) {
    if (W <= H) {
      ow = o.size;
      oh = o.size * H / W;
    } else {
      oh = o.size;
      ow = o.size * W / H;
    }
  } else if (o.width != 0) {
    ow = o.width;
    oh = o.height;
  }
  ow = std::max<int64_t>(ow, 1);
  oh = std::max<int64_t>(oh, 1);
  if (ow > kMaxSide || oh > kMaxSide) {
    return Status::TooLarge("resized image of " + std::to_string(ow) + "x" + std::to_string(oh) +
                            " is too large");
  }
  // The window of the resized image that is kept.
  int x0 = 0, y0 = 0, cw = static_cast<int>(ow), ch = static_cast<int>(oh);
  if (o.crop != 0) {
    cw = ch = static_cast<int>(o.crop);
    x0 = CropOffset(static_cast<int>(ow), cw);
    y0 = CropOffset(static_cast<int>(oh), ch);
  }
  if (static_cast<uint64_t>(cw) * ch > kMaxPixels) {
    return Status::TooLarge("output of " + std::to_string(cw) + "x" + std::to_string(ch) +
                            " exceeds " + std::to_string(kMaxPixels) + " pixels");
  }

  bool resizing = ow != W || oh != H;
  AISLE_ASSIGN_OR_RETURN(Image img, DecodeImage(call.data, resizing ? static_cast<int>(ow) : 0,
                                                resizing ? static_cast<int>(oh) : 0, kMaxPixels));
  // Inside the resized image, then padded out to the crop window when it is larger.
  int ix0 = std::max(x0, 0), iy0 = std::max(y0, 0);
  int ix1 = std::min<int>(x0 + cw, static_cast<int>(ow));
  int iy1 = std::min<int>(y0 + ch, static_cast<int>(oh));
  Image out;
  if (img.width == ow && img.height == oh) {
    if (x0 == 0 && y0 == 0 && cw == img.width && ch == img.height) {
      out = std::move(img);
    } else {
      out = CropWindow(img, x0, y0, cw, ch);
    }
  } else {
    out = ResizeWindow(img, static_cast<int>(ow), static_cast<int>(oh), ix0, iy0, ix1 - ix0,
                       iy1 - iy0);
    if (ix0 != x0 || iy0 != y0 || out.width != cw || out.height != ch) {
      out = CropWindow(out, x0 - ix0, y0 - iy0, cw, ch);
    }
  }

  bool png = o.format == "png" || (o.format == "same" && hdr.format == ImageFormat::kPng);
  AISLE_ASSIGN_OR_RETURN(std::string bytes,
                         png ? EncodePng(out) : EncodeJpeg(out, static_cast<int>(o.quality)));
  if (bytes.size() > call.max_output) {
    return Status::TooLarge("encoded image of " + std::to_string(bytes.size()) +
                            " bytes exceeds max_output " + std::to_string(call.max_output));
  }
  return bytes;
}

}  // namespace aisle::etl::builtin
