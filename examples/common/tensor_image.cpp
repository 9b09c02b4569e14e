#include "tensor_image.h"

#include <algorithm>
#include <cmath>

#include "core/factory.h"

namespace convgrad::example {
namespace {

uint8_t to_byte(float v) {
  if (!(v >= 0.f)) v = 0.f;  // NaN shows as black
  return static_cast<uint8_t>(std::lround(std::min(v, 1.f) * 255.f));
}

}  // namespace

Image image_from_tensor(const Tensor& chw) {
  CONVGRAD_CHECK(chw.dtype() == DType::Float32 && (chw.dim() == 2 || chw.dim() == 3),
                 "image_from_tensor: expected a float32 (3, H, W), (1, H, W) or (H, W) tensor, got shape {}",
                 shape_str(chw.shape()));
  int64_t c = chw.dim() == 3 ? chw.size(0) : 1;
  CONVGRAD_CHECK(c == 1 || c == 3, "image_from_tensor: expected 1 or 3 channels, got shape {}",
                 shape_str(chw.shape()));
  int64_t h = chw.size(-2), w = chw.size(-1);
  std::vector<float> v = chw.to_vector<float>();
  Image image(static_cast<int>(w), static_cast<int>(h));
  for (int64_t y = 0; y < h; ++y)
    for (int64_t x = 0; x < w; ++x) {
      int64_t i = y * w + x;
      uint8_t r = to_byte(v[i]);
      if (c == 1) {
        image.set(static_cast<int>(x), static_cast<int>(y), {r, r, r});
      } else {
        image.set(static_cast<int>(x), static_cast<int>(y),
                  {r, to_byte(v[h * w + i]), to_byte(v[2 * h * w + i])});
      }
    }
  return image;
}

Image image_from_labels(const Tensor& labels, const std::vector<Rgb>& palette) {
  CONVGRAD_CHECK(labels.dtype() == DType::Int64 && labels.dim() == 2,
                 "image_from_labels: expected an int64 (H, W) label map, got shape {}",
                 shape_str(labels.shape()));
  int64_t h = labels.size(0), w = labels.size(1);
  std::vector<int64_t> v = labels.to_vector<int64_t>();
  Image image(static_cast<int>(w), static_cast<int>(h));
  for (int64_t y = 0; y < h; ++y)
    for (int64_t x = 0; x < w; ++x) {
      int64_t l = v[y * w + x];
      Rgb c = l >= 0 && l < static_cast<int64_t>(palette.size()) ? palette[l] : Rgb{255, 0, 255};
      image.set(static_cast<int>(x), static_cast<int>(y), c);
    }
  return image;
}

Tensor tensor_from_image(const Image& image, bool grey) {
  int64_t h = image.height(), w = image.width();
  std::vector<float> v(static_cast<size_t>((grey ? 1 : 3) * h * w));
  for (int64_t y = 0; y < h; ++y)
    for (int64_t x = 0; x < w; ++x) {
      Rgb p = image.get(static_cast<int>(x), static_cast<int>(y));
      if (grey) {
        v[y * w + x] = (p.r + p.g + p.b) / (3.f * 255.f);
      } else {
        v[y * w + x] = p.r / 255.f;
        v[h * w + y * w + x] = p.g / 255.f;
        v[2 * h * w + y * w + x] = p.b / 255.f;
      }
    }
  return from_vector(v, {grey ? 1 : 3, h, w});
}

}  // namespace convgrad::example
