#include "layers/data/resize.h"

#include <algorithm>
#include <utility>

#include "autograd/ops_shape.h"
#include "core/factory.h"
#include "layers/data/functional.h"
#include "layers/data/pairs.h"

namespace convgrad::data {

Tensor resize(const Tensor& image, int64_t height, int64_t width, InterpolateMode mode, bool antialias,
              bool align_corners) {
  CONVGRAD_CHECK(image.defined() && image.dim() >= 2, "resize: expected an image (..., H, W), got {}",
                 image.defined() ? shape_str(image.shape()) : std::string("an undefined tensor"));
  CONVGRAD_CHECK(height >= 1 && width >= 1, "resize: the size must be positive, got {}x{}", height, width);
  const bool smooth = mode == InterpolateMode::Bilinear || mode == InterpolateMode::Bicubic;
  const Shape shape = image.shape();
  const int64_t h = shape[shape.size() - 2], w = shape[shape.size() - 1];
  if (image.dtype() == DType::Int64) {
    CONVGRAD_CHECK(mode == InterpolateMode::Nearest || mode == InterpolateMode::NearestExact,
                   "resize: an int64 map {} can only be resized with a nearest mode, not {}",
                   shape_str(shape), interpolate_mode_name(mode));
    // Nearest only copies values: resize the index grid as float32 and gather with it.
    Tensor where = reshape(arange(static_cast<double>(h * w)), {1, 1, h, w});
    Tensor idx = interpolate(where, InterpolateOptions().size({height, width}).mode(mode));
    Tensor src = image.is_contiguous() ? image : clone_data(image);
    Shape out_shape = shape;
    out_shape[out_shape.size() - 2] = height;
    out_shape[out_shape.size() - 1] = width;
    Tensor out = uninitialized(out_shape, DType::Int64);
    const float* ix = idx.data<float>();
    const int64_t* s = src.data<int64_t>();
    int64_t* d = out.data<int64_t>();
    const int64_t planes = h * w == 0 ? 0 : src.numel() / (h * w);
    for (int64_t p = 0; p < planes; ++p)
      for (int64_t k = 0; k < height * width; ++k)
        d[p * height * width + k] = s[p * h * w + static_cast<int64_t>(ix[k])];
    return out;
  }
  InterpolateOptions o = InterpolateOptions().size({height, width}).mode(mode);
  if (smooth) o.antialias(antialias).align_corners(align_corners);
  // interpolate takes (N, C, H, W): fold every leading dim into C.
  Tensor x = reshape(contiguous(image), {1, -1, h, w});
  Shape out_shape = shape;
  out_shape[out_shape.size() - 2] = height;
  out_shape[out_shape.size() - 1] = width;
  return reshape(interpolate(x, o), out_shape);
}

Resize::Resize(int64_t size) : size_(size) {
  CONVGRAD_CHECK(size >= 1, "Resize: the size must be positive, got {}", size);
}

Resize::Resize(int64_t height, int64_t width) : height_(height), width_(width) {
  CONVGRAD_CHECK(height >= 1 && width >= 1, "Resize: the size must be positive, got {}x{}", height, width);
}

Example Resize::operator()(Example ex, Generator&) const {
  const int64_t scale = pair_scale(ex, "Resize");
  const int64_t h = ex.input.size(-2), w = ex.input.size(-1);
  int64_t nh = height_, nw = width_;
  if (size_ > 0) {
    // torchvision: the short edge becomes size, the long one int(size * long / short).
    if (w <= h) {
      nw = size_;
      nh = static_cast<int64_t>(static_cast<double>(size_) * h / w);
    } else {
      nh = size_;
      nw = static_cast<int64_t>(static_cast<double>(size_) * w / h);
    }
  }
  ex.input = resize(ex.input, nh, nw, mode_, antialias_, align_corners_);
  if (scale > 0) ex.target = resize(ex.target, scale * nh, scale * nw, mode_, antialias_, align_corners_);
  return ex;
}

MakeLowResPair::MakeLowResPair(int64_t scale) : scale_(scale) {
  CONVGRAD_CHECK(scale >= 1, "MakeLowResPair: the scale must be at least 1, got {}", scale);
}

Example MakeLowResPair::operator()(Example ex, Generator&) const {
  CONVGRAD_CHECK(!ex.target.defined(),
                 "MakeLowResPair: {} already has a target; it makes the pair from the input alone",
                 example_name(ex));
  pair_scale(ex, "MakeLowResPair");
  const int64_t h = ex.input.size(-2) / scale_ * scale_, w = ex.input.size(-1) / scale_ * scale_;
  CONVGRAD_CHECK(h >= scale_ && w >= scale_, "MakeLowResPair: {} is {}x{}, smaller than the scale {}",
                 example_name(ex), ex.input.size(-2), ex.input.size(-1), scale_);
  ex.target = h == ex.input.size(-2) && w == ex.input.size(-1) ? ex.input : crop(ex.input, 0, 0, h, w);
  ex.input = resize(ex.target, h / scale_, w / scale_, mode_, antialias_);
  if (clamp_) {
    // Clamped in place below, so never the target's (possibly cached) storage.
    if (ex.input.storage() == ex.target.storage()) ex.input = clone_data(ex.input);
    float* p = ex.input.data<float>();
    for (int64_t i = 0, n = ex.input.numel(); i < n; ++i) p[i] = std::clamp(p[i], 0.f, 1.f);
  }
  return ex;
}

}  // namespace convgrad::data
