#include "core/kernels/pixel_shuffle.h"

#include "core/factory.h"
#include "core/threading.h"

namespace convgrad::kernels {

namespace {

// Moves data between the low-resolution layout (B, C, r, r, H, W) and the high-resolution layout
// (B, C, H, r, W, r); `to_high` picks the direction. Both are the same elements, permuted.
void shuffle(const float* src, float* dst, int64_t batch, int64_t c, int64_t r, int64_t h, int64_t w,
             bool to_high) {
  const int64_t plane = h * w, hi_w = w * r;
#pragma omp parallel for num_threads(get_num_threads()) collapse(2) schedule(static)
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t ch = 0; ch < c; ++ch) {
      const int64_t base = (b * c + ch) * r * r * plane;
      for (int64_t i = 0; i < r; ++i)
        for (int64_t j = 0; j < r; ++j) {
          const int64_t low = base + (i * r + j) * plane;
          for (int64_t y = 0; y < h; ++y) {
            const int64_t high = base + (y * r + i) * hi_w + j;
            if (to_high) {
              for (int64_t x = 0; x < w; ++x) dst[high + x * r] = src[low + y * w + x];
            } else {
              for (int64_t x = 0; x < w; ++x) dst[low + y * w + x] = src[high + x * r];
            }
          }
        }
    }
}

}  // namespace

Tensor pixel_shuffle_forward(const Tensor& x, int64_t r) {
  Tensor xc = contiguous_data(x);
  Shape s = x.shape();
  const int64_t d = static_cast<int64_t>(s.size());
  const int64_t c = s[d - 3] / (r * r), h = s[d - 2], w = s[d - 1];
  const int64_t batch = c * h * w == 0 ? 0 : x.numel() / (c * r * r * h * w);
  s[d - 3] = c;
  s[d - 2] = h * r;
  s[d - 1] = w * r;
  Tensor out = empty(s);
  if (out.numel() > 0) shuffle(xc.data<float>(), out.data<float>(), batch, c, r, h, w, true);
  return out;
}

Tensor pixel_unshuffle_forward(const Tensor& x, int64_t r) {
  Tensor xc = contiguous_data(x);
  Shape s = x.shape();
  const int64_t d = static_cast<int64_t>(s.size());
  const int64_t c = s[d - 3], h = s[d - 2] / r, w = s[d - 1] / r;
  const int64_t batch = c * h * w == 0 ? 0 : x.numel() / (c * r * r * h * w);
  s[d - 3] = c * r * r;
  s[d - 2] = h;
  s[d - 1] = w;
  Tensor out = empty(s);
  if (out.numel() > 0) shuffle(xc.data<float>(), out.data<float>(), batch, c, r, h, w, false);
  return out;
}

}  // namespace convgrad::kernels
