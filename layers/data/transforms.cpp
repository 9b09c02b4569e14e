#include "layers/data/transforms.h"

#include <cmath>
#include <utility>

#include "autograd/ops_shape.h"
#include "core/factory.h"
#include "core/image_ops.h"
#include "layers/data/functional.h"
#include "layers/data/pairs.h"

namespace convgrad::data {

std::string example_name(const Example& ex) { return ex.path.empty() ? std::string("the image") : ex.path; }

int64_t pair_scale(const Example& ex, const char* op) {
  CONVGRAD_CHECK(ex.input.defined() && ex.input.dim() >= 2, "{}: {} has no input image (..., H, W); got {}",
                 op, example_name(ex),
                 ex.input.defined() ? shape_str(ex.input.shape()) : std::string("an undefined tensor"));
  if (!ex.target.defined()) return 0;
  const int64_t h = ex.input.size(-2), w = ex.input.size(-1);
  const int64_t th = ex.target.dim() >= 2 ? ex.target.size(-2) : 0,
                tw = ex.target.dim() >= 2 ? ex.target.size(-1) : 0;
  const int64_t s = h > 0 ? th / h : 0;
  CONVGRAD_CHECK(s >= 1 && th == s * h && tw == s * w,
                 "{}: {}: the target {} must be the input {} times an integer factor in height and width (a "
                 "super-resolution pair) or the same size",
                 op, example_name(ex), shape_str(ex.target.shape()), shape_str(ex.input.shape()));
  return s;
}

Example crop_pair(Example ex, int64_t scale, int64_t top, int64_t left, int64_t height, int64_t width) {
  ex.input = crop(ex.input, top, left, height, width);
  if (scale > 0) ex.target = crop(ex.target, scale * top, scale * left, scale * height, scale * width);
  return ex;
}

Compose::Compose(std::initializer_list<Transform> transforms) : Compose(std::vector<Transform>(transforms)) {}

Compose::Compose(std::vector<Transform> transforms) : transforms_(std::move(transforms)) {
  for (size_t i = 0; i < transforms_.size(); ++i)
    CONVGRAD_CHECK(static_cast<bool>(transforms_[i]), "Compose: transform {} is empty", i);
}

Example Compose::operator()(Example ex, Generator& gen) const {
  for (const auto& t : transforms_) ex = t(std::move(ex), gen);
  return ex;
}

RandomCrop::RandomCrop(int64_t height, int64_t width) : height_(height), width_(width) {
  CONVGRAD_CHECK(height >= 1 && width >= 1, "RandomCrop: the size must be positive, got {}x{}", height,
                 width);
}

Example RandomCrop::operator()(Example ex, Generator& gen) const {
  const int64_t scale = pair_scale(ex, "RandomCrop");
  const int64_t h = ex.input.size(-2), w = ex.input.size(-1);
  CONVGRAD_CHECK(height_ <= h && width_ <= w,
                 "RandomCrop: {} is {}x{}, smaller than the {}x{} crop; use larger images or a "
                 "smaller crop",
                 example_name(ex), h, w, height_, width_);
  const int64_t top = gen.randint(0, h - height_ + 1), left = gen.randint(0, w - width_ + 1);
  return crop_pair(std::move(ex), scale, top, left, height_, width_);
}

CenterCrop::CenterCrop(int64_t height, int64_t width) : height_(height), width_(width) {
  CONVGRAD_CHECK(height >= 1 && width >= 1, "CenterCrop: the size must be positive, got {}x{}", height,
                 width);
}

Example CenterCrop::operator()(Example ex, Generator&) const {
  const int64_t scale = pair_scale(ex, "CenterCrop");
  const int64_t h = ex.input.size(-2), w = ex.input.size(-1);
  CONVGRAD_CHECK(height_ <= h && width_ <= w,
                 "CenterCrop: {} is {}x{}, smaller than the {}x{} crop; use larger images or a "
                 "smaller crop",
                 example_name(ex), h, w, height_, width_);
  // The offsets torchvision's center_crop picks, on the input; the target follows at `scale`.
  const auto top = static_cast<int64_t>(std::nearbyint((h - height_) / 2.0));
  const auto left = static_cast<int64_t>(std::nearbyint((w - width_) / 2.0));
  return crop_pair(std::move(ex), scale, top, left, height_, width_);
}

RandomHorizontalFlip::RandomHorizontalFlip(double p) : p_(p) {
  CONVGRAD_CHECK(p >= 0 && p <= 1, "RandomHorizontalFlip: p must be in [0, 1], got {}", p);
}

Example RandomHorizontalFlip::operator()(Example ex, Generator& gen) const {
  pair_scale(ex, "RandomHorizontalFlip");
  return gen.uniform() < p_ ? map_pair(std::move(ex), [](const Tensor& t) { return hflip(t); }) : ex;
}

RandomVerticalFlip::RandomVerticalFlip(double p) : p_(p) {
  CONVGRAD_CHECK(p >= 0 && p <= 1, "RandomVerticalFlip: p must be in [0, 1], got {}", p);
}

Example RandomVerticalFlip::operator()(Example ex, Generator& gen) const {
  pair_scale(ex, "RandomVerticalFlip");
  return gen.uniform() < p_ ? map_pair(std::move(ex), [](const Tensor& t) { return vflip(t); }) : ex;
}

Example RandomRotation90::operator()(Example ex, Generator& gen) const {
  pair_scale(ex, "RandomRotation90");
  const int64_t k = gen.randint(0, 4);
  return map_pair(std::move(ex), [k](const Tensor& t) { return rot90(t, k); });
}

Example RandomDihedral::operator()(Example ex, Generator& gen) const {
  pair_scale(ex, "RandomDihedral");
  const int64_t k = gen.randint(0, 8);
  return map_pair(std::move(ex), [k](const Tensor& t) { return dihedral(t, k); });
}

Dihedral::Dihedral(int64_t k) : k_(k) {
  CONVGRAD_CHECK(k >= 0 && k < 8, "Dihedral: k must be in [0, 8), got {}", k);
}

Example Dihedral::operator()(Example ex, Generator&) const {
  pair_scale(ex, "Dihedral");
  return map_pair(std::move(ex), [k = k_](const Tensor& t) { return dihedral(t, k); });
}

Normalize::Normalize(std::vector<float> mean, std::vector<float> std)
    : mean_(std::move(mean)), std_(std::move(std)) {
  CONVGRAD_CHECK(!mean_.empty() && mean_.size() == std_.size(),
                 "Normalize: mean and std need one value per channel and the same count, got {} and {}",
                 mean_.size(), std_.size());
  for (float s : std_) CONVGRAD_CHECK(s > 0, "Normalize: every std must be positive, got {}", s);
}

Example Normalize::operator()(Example ex, Generator&) const {
  const std::string name = example_name(ex);
  auto norm = [&](const Tensor& t) {
    const auto c = static_cast<int64_t>(mean_.size());
    CONVGRAD_CHECK(t.dtype() == DType::Float32 && t.dim() >= 3 && t.size(-3) == c,
                   "Normalize: {} has shape {}; expected float32 (..., {}, H, W) for {} mean/std values",
                   name, shape_str(t.shape()), c, c);
    Tensor src = t.is_contiguous() ? t : clone_data(t), out = uninitialized(src.shape());
    const int64_t plane = src.size(-1) * src.size(-2), n = src.numel();
    const float* s = src.data<float>();
    float* d = out.data<float>();
    for (int64_t i = 0; i < n; ++i) {
      const int64_t ch = (i / plane) % c;
      d[i] = (s[i] - mean_[ch]) / std_[ch];
    }
    return out;
  };
  return map_pair(std::move(ex), norm);
}

namespace {

void check_colour(const std::string& name, const Tensor& t, const char* op, bool grey_ok) {
  CONVGRAD_CHECK(
      t.dtype() == DType::Float32 && t.dim() >= 3 && (t.size(-3) == 3 || (grey_ok && t.size(-3) == 1)),
      "{}: {} has {} {}; expected a float32 RGB image (3, H, W){}", op, name, dtype_name(t.dtype()),
      shape_str(t.shape()), grey_ok ? " or a grey one (1, H, W)" : "");
}

}  // namespace

ToGrayscale::ToGrayscale(int64_t num_output_channels) : channels_(num_output_channels) {
  CONVGRAD_CHECK(channels_ == 1 || channels_ == 3, "ToGrayscale: num_output_channels must be 1 or 3, got {}",
                 channels_);
}

Example ToGrayscale::operator()(Example ex, Generator&) const {
  pair_scale(ex, "ToGrayscale");
  const std::string name = example_name(ex);
  return map_pair(std::move(ex), [&](const Tensor& t) {
    check_colour(name, t, "ToGrayscale", true);
    Tensor grey = t.size(-3) == 1 ? t : rgb_to_grayscale(t);
    if (channels_ == 1) return grey;
    Shape shape = grey.shape();
    shape[shape.size() - 3] = 3;
    return clone_data(expand(grey, shape));
  });
}

Example RgbToY::operator()(Example ex, Generator&) const {
  pair_scale(ex, "RgbToY");
  const std::string name = example_name(ex);
  return map_pair(std::move(ex), [&](const Tensor& t) {
    check_colour(name, t, "RgbToY", false);
    return rgb_to_y(t);
  });
}

}  // namespace convgrad::data
