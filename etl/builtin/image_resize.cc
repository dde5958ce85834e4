#include "etl/builtin/image_resize.h"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace aisle::etl::builtin {
namespace {

constexpr int kBits = 14;
constexpr int32_t kOne = 1 << kBits;
constexpr int32_t kHalf = 1 << (kBits - 1);

// Taps of one axis for output indexes [first, first+count): output i reads input
// [start[i], start[i] + n[i]) with weights w[off[i]...], each set summing to kOne.
struct Taps {
  std::vector<int> start, n, off;
  std::vector<int16_t> w;
};

Taps MakeTaps(int in, int out, int first, int count) {
  Taps t;
  t.start.resize(count);
  t.n.resize(count);
  t.off.resize(count);
  const double scale = static_cast<double>(in) / out;
  std::vector<double> tmp;
  for (int k = 0; k < count; ++k) {
    int i = first + k;
    int lo = 0;
    tmp.clear();
    if (scale >= 1.0) {
      // Area: output pixel i covers input [a, b); weight = overlap of each input pixel.
      double a = i * scale, b = (i + 1) * scale;
      lo = static_cast<int>(a);
      int hi = std::min(in, static_cast<int>(std::ceil(b)));
      for (int j = lo; j < hi; ++j) {
        tmp.push_back(std::min<double>(j + 1, b) - std::max<double>(j, a));
      }
    } else {
      // Bilinear between the two nearest input centers (edges clamp).
      double c = std::clamp((i + 0.5) * scale - 0.5, 0.0, in - 1.0);
      lo = static_cast<int>(c);
      double f = c - lo;
      tmp.push_back(1.0 - f);
      if (lo + 1 < in) tmp.push_back(f);
    }
    double sum = 0;
    for (double v : tmp) sum += v;
    t.start[k] = lo;
    t.n[k] = static_cast<int>(tmp.size());
    t.off[k] = static_cast<int>(t.w.size());
    int32_t isum = 0;
    size_t big = t.w.size();
    for (double v : tmp) {
      auto q = static_cast<int16_t>(std::lround(v / sum * kOne));
      if (t.w.size() == static_cast<size_t>(t.off[k]) || q > t.w[big]) big = t.w.size();
      t.w.push_back(q);
      isum += q;
    }
    t.w[big] = static_cast<int16_t>(t.w[big] + (kOne - isum));  // exact unit gain
  }
  return t;
}

inline uint8_t Clamp8(int32_t v) {
  v >>= kBits;
  return static_cast<uint8_t>(v < 0 ? 0 : (v > 255 ? 255 : v));
}

// Rows [y_lo, y_hi) of src resampled horizontally into dst (w * C per row).
template <int C>
void Horizontal(const Image& src, const Taps& tx, int w, int y_lo, int y_hi, uint8_t* dst) {
  const size_t stride = size_t{static_cast<size_t>(src.width)} * C;
  for (int y = y_lo; y < y_hi; ++y) {
    const uint8_t* row = src.pixels.data() + y * stride;
    uint8_t* out = dst + size_t{static_cast<size_t>(y - y_lo)} * w * C;
    for (int x = 0; x < w; ++x) {
      const uint8_t* p = row + size_t{static_cast<size_t>(tx.start[x])} * C;
      const int16_t* wt = tx.w.data() + tx.off[x];
      int32_t acc[C];
      for (int c = 0; c < C; ++c) acc[c] = kHalf;
      for (int k = 0, n = tx.n[x]; k < n; ++k, p += C) {
        for (int c = 0; c < C; ++c) acc[c] += wt[k] * p[c];
      }
      for (int c = 0; c < C; ++c) out[x * C + c] = Clamp8(acc[c]);
    }
  }
}

template <int C>
Image Resize(const Image& src, int out_w, int out_h, int x0, int y0, int w, int h) {
  Taps tx = MakeTaps(src.width, out_w, x0, w);
  Taps ty = MakeTaps(src.height, out_h, y0, h);
  // Only the input rows the window needs go through the horizontal pass.
  int y_lo = ty.start[0];
  int y_hi = ty.start[h - 1] + ty.n[h - 1];
  const size_t row = size_t{static_cast<size_t>(w)} * C;
  std::vector<uint8_t> mid(row * (y_hi - y_lo));
  Horizontal<C>(src, tx, w, y_lo, y_hi, mid.data());

  Image out;
  out.width = w;
  out.height = h;
  out.channels = C;
  out.pixels.resize(row * h);
  std::vector<int32_t> acc(row);
  for (int y = 0; y < h; ++y) {
    std::fill(acc.begin(), acc.end(), kHalf);
    const int16_t* wt = ty.w.data() + ty.off[y];
    for (int k = 0; k < ty.n[y]; ++k) {
      const uint8_t* in = mid.data() + (ty.start[y] + k - y_lo) * row;
      const int32_t wk = wt[k];
      int32_t* a = acc.data();
      for (size_t i = 0; i < row; ++i) a[i] += wk * in[i];  // vectorizes
    }
    uint8_t* o = out.pixels.data() + y * row;
    for (size_t i = 0; i < row; ++i) o[i] = Clamp8(acc[i]);
  }
  return out;
}

}  // namespace

Image ResizeWindow(const Image& src, int out_w, int out_h, int x0, int y0, int w, int h) {
  switch (src.channels) {
    case 1: return Resize<1>(src, out_w, out_h, x0, y0, w, h);
    case 2: return Resize<2>(src, out_w, out_h, x0, y0, w, h);
    case 3: return Resize<3>(src, out_w, out_h, x0, y0, w, h);
    default: return Resize<4>(src, out_w, out_h, x0, y0, w, h);
  }
}

Image CropWindow(const Image& src, int x0, int y0, int w, int h) {
  Image out;
  out.width = w;
  out.height = h;
  out.channels = src.channels;
  const size_t c = static_cast<size_t>(src.channels);
  out.pixels.assign(size_t{static_cast<size_t>(w)} * h * c, 0);
  int sx0 = std::max(x0, 0), sx1 = std::min(x0 + w, src.width);
  int sy0 = std::max(y0, 0), sy1 = std::min(y0 + h, src.height);
  if (sx0 >= sx1) return out;
  for (int y = sy0; y < sy1; ++y) {
    const uint8_t* s = src.pixels.data() + (size_t{static_cast<size_t>(y)} * src.width + sx0) * c;
    uint8_t* d = out.pixels.data() + (size_t{static_cast<size_t>(y - y0)} * w + (sx0 - x0)) * c;
    std::memcpy(d, s, (sx1 - sx0) * c);
  }
  return out;
}

}  // namespace aisle::etl::builtin
