// Upsample: fixed resizing (every interpolate mode), the baseline a learned ConvTranspose2d is
// compared with.
#pragma once

#include <array>
#include <optional>
#include <string>

#include "autograd/ops_conv.h"
#include "autograd/ops_interpolate.h"
#include "core/arg.h"
#include "layers/module.h"

namespace convgrad {

/// Options of Upsample: UpsampleOptions().scale_factor(2).mode(InterpolateMode::Bicubic) or
/// UpsampleOptions().size({64, 64}).
class UpsampleOptions {
 public:
  /// A fixed output (H, W); clears scale_factor (set by hand: the two exclude each other).
  UpsampleOptions& size(Pair hw) {
    size_ = hw;
    scale_.reset();
    return *this;
  }
  const std::optional<Pair>& size() const { return size_; }
  /// Output = floor(input * factor) per dimension.
  UpsampleOptions& scale_factor(double f) { return scale_factor(std::array<double, 2>{f, f}); }
  UpsampleOptions& scale_factor(std::array<double, 2> f) {
    scale_ = f;
    size_.reset();
    return *this;
  }
  const std::optional<std::array<double, 2>>& scale_factor() const { return scale_; }
  /// The interpolation (default Bilinear; nn.Upsample's default is nearest).
  CONVGRAD_ARG(InterpolateMode, mode) = InterpolateMode::Bilinear;
  /// Bilinear and bicubic only, as interpolate's.
  CONVGRAD_ARG(std::optional<bool>, align_corners);
  /// As interpolate's: map positions with the size ratio instead of scale_factor.
  CONVGRAD_ARG(std::optional<bool>, recompute_scale_factor);

 private:
  std::optional<Pair> size_;
  std::optional<std::array<double, 2>> scale_;
};

/// Resizing of (N, C, H, W) like nn.Upsample: interpolate with the options' size or scale_factor,
/// mode, align_corners and recompute_scale_factor (positions mapped with the factor unless
/// recomputed, as in PyTorch; for integer factors both are the same).
class Upsample : public Module {
 public:
  explicit Upsample(const UpsampleOptions& options);
  Tensor forward(const Tensor& x) override;
  std::string name() const override { return "Upsample"; }
  std::string extra_repr() const override;
  /// The options this layer was built with.
  const UpsampleOptions& options() const { return options_; }

 private:
  UpsampleOptions options_;
  InterpolateOptions interp_;
};

}  // namespace convgrad
