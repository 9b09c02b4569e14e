// Differentiable resizing of (N, C, H, W) images like torch.nn.functional.interpolate.
#pragma once

#include <array>
#include <optional>

#include "autograd/ops_conv.h"
#include "core/tensor.h"

namespace convgrad {

/// The interpolation of interpolate (PyTorch's mode strings: "nearest", "nearest-exact",
/// "bilinear", "bicubic", "area").
enum class InterpolateMode { Nearest, NearestExact, Bilinear, Bicubic, Area };

/// PyTorch's name of a mode ("nearest-exact", ...).
const char* interpolate_mode_name(InterpolateMode mode);

/// Options of interpolate, like F.interpolate's arguments:
/// InterpolateOptions().scale_factor(2).mode(InterpolateMode::Bicubic).antialias(true).
class InterpolateOptions {
 public:
  /// The output (H, W). Give either size or scale_factor.
  InterpolateOptions& size(Pair hw) {
    size_ = hw;
    return *this;
  }
  const std::optional<Pair>& size() const { return size_; }
  /// Output = floor(input * factor) per spatial dim; unless recompute_scale_factor, the factor (not
  /// the size ratio) also maps output positions to input positions, as in PyTorch.
  InterpolateOptions& scale_factor(double f) { return scale_factor(std::array<double, 2>{f, f}); }
  InterpolateOptions& scale_factor(std::array<double, 2> f) {
    scale_ = f;
    return *this;
  }
  const std::optional<std::array<double, 2>>& scale_factor() const { return scale_; }
  /// Default Nearest, like PyTorch.
  InterpolateOptions& mode(InterpolateMode m) {
    mode_ = m;
    return *this;
  }
  InterpolateMode mode() const { return mode_; }
  /// Bilinear and bicubic only: map corner pixel centres onto each other, (in - 1) / (out - 1).
  /// Unset means false; setting it for another mode is an error, as in PyTorch.
  InterpolateOptions& align_corners(bool a) {
    align_corners_ = a;
    return *this;
  }
  const std::optional<bool>& align_corners() const { return align_corners_; }
  /// With scale_factor: map positions with the ratio of the sizes instead of the factor.
  InterpolateOptions& recompute_scale_factor(bool r) {
    recompute_ = r;
    return *this;
  }
  const std::optional<bool>& recompute_scale_factor() const { return recompute_; }
  /// Bilinear and bicubic only: when downscaling, widen the filter by the scale so every input pixel
  /// contributes (PyTorch's antialias=True; bicubic then uses a = -0.5, as PIL's resize does).
  InterpolateOptions& antialias(bool a) {
    antialias_ = a;
    return *this;
  }
  bool antialias() const { return antialias_; }

 private:
  std::optional<Pair> size_;
  std::optional<std::array<double, 2>> scale_;
  InterpolateMode mode_ = InterpolateMode::Nearest;
  std::optional<bool> align_corners_;
  std::optional<bool> recompute_;
  bool antialias_ = false;
};

/// Resizes every (H, W) plane of the float32 (N, C, H, W) `x` like F.interpolate(x, size,
/// scale_factor, mode, align_corners, recompute_scale_factor, antialias) in PyTorch 1.13, values
/// and gradients (every mode, antialias included). Bilinear and bicubic are separable (a pass along
/// W, then along H).
Tensor interpolate(const Tensor& x, const InterpolateOptions& options);

/// The output (H, W) interpolate gives `x_shape` with `options` (checked as interpolate does).
Pair interpolate_output_size(const Shape& x_shape, const InterpolateOptions& options);

}  // namespace convgrad
