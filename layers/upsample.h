// Upsample: fixed bilinear resizing, the baseline a learned ConvTranspose2d is compared with.
#pragma once

#include <array>
#include <optional>
#include <string>

#include "autograd/ops_conv.h"
#include "layers/module.h"

namespace convgrad {

/// Options of Upsample: UpsampleOptions().scale_factor(2) or UpsampleOptions().size({64, 64}).
class UpsampleOptions {
 public:
  /// A fixed output (H, W).
  UpsampleOptions& size(Pair hw) { size_ = hw; scale_.reset(); return *this; }
  const std::optional<Pair>& size() const { return size_; }
  /// Output = floor(input * factor) per dimension.
  UpsampleOptions& scale_factor(double f) { return scale_factor(std::array<double, 2>{f, f}); }
  UpsampleOptions& scale_factor(std::array<double, 2> f) { scale_ = f; size_.reset(); return *this; }
  const std::optional<std::array<double, 2>>& scale_factor() const { return scale_; }

 private:
  std::optional<Pair> size_;
  std::optional<std::array<double, 2>> scale_;
};

/// Bilinear upsampling of (N, C, H, W) like nn.Upsample(mode="bilinear", align_corners=False).
/// With scale_factor, the interpolation uses the ratio of the sizes (PyTorch's
/// recompute_scale_factor=True); for integer factors this equals PyTorch's default exactly.
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
};

}  // namespace convgrad
