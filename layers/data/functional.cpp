#include "layers/data/functional.h"

#include <cmath>
#include <cstring>

#include "core/factory.h"

namespace convgrad::data {
namespace {

void check_image(const Tensor& image, const char* op) {
  CONVGRAD_CHECK(image.defined() && image.dim() >= 2,
                 "{}: expected an image (..., H, W) with at least 2 dims, got {}", op,
                 image.defined() ? shape_str(image.shape()) : std::string("an undefined tensor"));
}

// out[plane][i][j] = in[plane][src(i, j)] for every plane of the leading dims, where `src` maps an
// output position of the (out_h, out_w) plane to an offset into the contiguous (H, W) input plane.
template <class T, class Map>
void remap_planes(const Tensor& in, Tensor& out, int64_t out_h, int64_t out_w, Map src) {
  const int64_t h = in.size(-2), w = in.size(-1);
  const int64_t planes = h * w == 0 ? 0 : in.numel() / (h * w);
  const T* s = in.data<T>();
  T* d = out.data<T>();
  for (int64_t p = 0; p < planes; ++p, s += h * w)
    for (int64_t i = 0; i < out_h; ++i)
      for (int64_t j = 0; j < out_w; ++j) *d++ = s[src(i, j)];
}

// A new tensor with `in`'s leading dims and an (out_h, out_w) plane, filled by `src` (see above).
template <class Map>
Tensor remap(const Tensor& image, int64_t out_h, int64_t out_w, Map src) {
  Tensor in = image.is_contiguous() ? image : clone_data(image);
  Shape shape = in.shape();
  shape[shape.size() - 2] = out_h;
  shape[shape.size() - 1] = out_w;
  Tensor out = uninitialized(shape, in.dtype());
  if (in.dtype() == DType::Float32)
    remap_planes<float>(in, out, out_h, out_w, src);
  else
    remap_planes<int64_t>(in, out, out_h, out_w, src);
  return out;
}

}  // namespace

Tensor crop(const Tensor& image, int64_t top, int64_t left, int64_t height, int64_t width) {
  check_image(image, "crop");
  const int64_t h = image.size(-2), w = image.size(-1);
  CONVGRAD_CHECK(height >= 1 && width >= 1 && top >= 0 && left >= 0 && top + height <= h && left + width <= w,
                 "crop: the window rows [{}, {}), columns [{}, {}) does not lie inside the {}x{} image {}; "
                 "pick a smaller crop or a larger image",
                 top, top + height, left, left + width, h, w, shape_str(image.shape()));
  return remap(image, height, width, [=](int64_t i, int64_t j) { return (top + i) * w + left + j; });
}

Tensor center_crop(const Tensor& image, int64_t height, int64_t width) {
  check_image(image, "center_crop");
  const int64_t h = image.size(-2), w = image.size(-1);
  CONVGRAD_CHECK(height >= 1 && width >= 1 && height <= h && width <= w,
                 "center_crop: the {}x{} crop is larger than the {}x{} image {}", height, width, h, w,
                 shape_str(image.shape()));
  // torchvision: int(round((h - height) / 2.0)), Python's round halves to even, as nearbyint does.
  const auto top = static_cast<int64_t>(std::nearbyint((h - height) / 2.0));
  const auto left = static_cast<int64_t>(std::nearbyint((w - width) / 2.0));
  return crop(image, top, left, height, width);
}

Tensor hflip(const Tensor& image) {
  check_image(image, "hflip");
  const int64_t h = image.size(-2), w = image.size(-1);
  return remap(image, h, w, [=](int64_t i, int64_t j) { return i * w + (w - 1 - j); });
}

Tensor vflip(const Tensor& image) {
  check_image(image, "vflip");
  const int64_t h = image.size(-2), w = image.size(-1);
  return remap(image, h, w, [=](int64_t i, int64_t j) { return (h - 1 - i) * w + j; });
}

Tensor rot90(const Tensor& image, int64_t k) {
  check_image(image, "rot90");
  const int64_t h = image.size(-2), w = image.size(-1);
  switch (((k % 4) + 4) % 4) {
    case 1:  // counter-clockwise: out (w, h), out[i][j] = in[j][w-1-i]
      return remap(image, w, h, [=](int64_t i, int64_t j) { return j * w + (w - 1 - i); });
    case 2:
      return remap(image, h, w, [=](int64_t i, int64_t j) { return (h - 1 - i) * w + (w - 1 - j); });
    case 3:  // clockwise: out[i][j] = in[h-1-j][i]
      return remap(image, w, h, [=](int64_t i, int64_t j) { return (h - 1 - j) * w + i; });
    default:
      return clone_data(image);
  }
}

Tensor dihedral(const Tensor& image, int64_t k) {
  CONVGRAD_CHECK(k >= 0 && k < 8, "dihedral: k must be in [0, 8) (4 rotations, then 4 mirrored ones), got {}",
                 k);
  return k < 4 ? rot90(image, k) : rot90(hflip(image), k - 4);
}

Tensor dihedral_inverse(const Tensor& image, int64_t k) {
  CONVGRAD_CHECK(k >= 0 && k < 8, "dihedral_inverse: k must be in [0, 8), got {}", k);
  return k < 4 ? rot90(image, -k) : hflip(rot90(image, -(k - 4)));
}

}  // namespace convgrad::data
