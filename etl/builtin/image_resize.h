// Separable image resampling in 14-bit fixed point: area averaging when shrinking an axis,
// bilinear when enlarging it. Only the requested window of the result is computed, so a
// center crop after a resize costs only the cropped pixels.
#pragma once

#include "etl/builtin/image_codec.h"

namespace aisle::etl::builtin {

// The window [x0, x0+w) x [y0, y0+h) of src resized to out_w x out_h.
// REQUIRES: the window lies inside out_w x out_h; w, h > 0.
Image ResizeWindow(const Image& src, int out_w, int out_h, int x0, int y0, int w, int h);

// The window [x0, x0+w) x [y0, y0+h) of src; parts outside src are black (transparent),
// as torchvision's CenterCrop pads.
Image CropWindow(const Image& src, int x0, int y0, int w, int h);

}  // namespace aisle::etl::builtin
