// Pooling with PyTorch's full option sets: max_pool2d(x, MaxPool2dOptions(3).stride(2).ceil_mode(true)),
// avg_pool2d(x, AvgPool2dOptions(3).count_include_pad(false).divisor_override(4)). The layers
// MaxPool2d and AvgPool2d take the same options.
#pragma once

#include <optional>

#include "autograd/ops_conv.h"
#include "core/tensor.h"

namespace convgrad {

/// Options of max_pool2d / MaxPool2d, like PyTorch's MaxPool2dOptions (no dilation).
class MaxPool2dOptions {
 public:
  /// A kernel_size x kernel_size window.
  // NOLINTNEXTLINE(google-explicit-constructor): implicit like PyTorch
  MaxPool2dOptions(int64_t kernel_size) : MaxPool2dOptions(Pair{kernel_size, kernel_size}) {}
  /// A (kh, kw) window.
  MaxPool2dOptions(Pair kernel_size) : kernel_(kernel_size) {}  // NOLINT(google-explicit-constructor)
  /// Window (height, width).
  const Pair& kernel_size() const { return kernel_; }
  /// Step between windows (default: the kernel size).
  MaxPool2dOptions& stride(int64_t s) { return stride(Pair{s, s}); }
  MaxPool2dOptions& stride(Pair s) {
    stride_ = s;
    return *this;
  }
  Pair stride() const { return stride_.value_or(kernel_); }
  /// Implicit -inf padding on both sides, at most half the kernel (default 0).
  MaxPool2dOptions& padding(int64_t p) { return padding(Pair{p, p}); }
  MaxPool2dOptions& padding(Pair p) {
    padding_ = p;
    return *this;
  }
  const Pair& padding() const { return padding_; }
  /// Round the output size up instead of down; the last window must still start inside the input
  /// or the leading padding (default false).
  MaxPool2dOptions& ceil_mode(bool on) {
    ceil_mode_ = on;
    return *this;
  }
  bool ceil_mode() const { return ceil_mode_; }

 private:
  Pair kernel_;
  std::optional<Pair> stride_;
  Pair padding_{0, 0};
  bool ceil_mode_ = false;
};

/// Options of avg_pool2d / AvgPool2d, like PyTorch's AvgPool2dOptions.
class AvgPool2dOptions {
 public:
  /// A kernel_size x kernel_size window.
  // NOLINTNEXTLINE(google-explicit-constructor): implicit like PyTorch
  AvgPool2dOptions(int64_t kernel_size) : AvgPool2dOptions(Pair{kernel_size, kernel_size}) {}
  /// A (kh, kw) window.
  AvgPool2dOptions(Pair kernel_size) : kernel_(kernel_size) {}  // NOLINT(google-explicit-constructor)
  /// Window (height, width).
  const Pair& kernel_size() const { return kernel_; }
  /// Step between windows (default: the kernel size).
  AvgPool2dOptions& stride(int64_t s) { return stride(Pair{s, s}); }
  AvgPool2dOptions& stride(Pair s) {
    stride_ = s;
    return *this;
  }
  Pair stride() const { return stride_.value_or(kernel_); }
  /// Implicit zero padding on both sides, at most half the kernel (default 0).
  AvgPool2dOptions& padding(int64_t p) { return padding(Pair{p, p}); }
  AvgPool2dOptions& padding(Pair p) {
    padding_ = p;
    return *this;
  }
  const Pair& padding() const { return padding_; }
  /// Round the output size up instead of down; the last window must still start inside the input
  /// or the leading padding (default false).
  AvgPool2dOptions& ceil_mode(bool on) {
    ceil_mode_ = on;
    return *this;
  }
  bool ceil_mode() const { return ceil_mode_; }
  /// Whether padded zeros count in the divisor (default true). Window parts beyond the padding
  /// (ceil_mode) never count.
  AvgPool2dOptions& count_include_pad(bool on) {
    count_include_pad_ = on;
    return *this;
  }
  bool count_include_pad() const { return count_include_pad_; }
  /// A fixed divisor for every window instead of its size (non-zero; default none).
  AvgPool2dOptions& divisor_override(std::optional<int64_t> d) {
    divisor_override_ = d;
    return *this;
  }
  const std::optional<int64_t>& divisor_override() const { return divisor_override_; }

 private:
  Pair kernel_;
  std::optional<Pair> stride_;
  Pair padding_{0, 0};
  bool ceil_mode_ = false;
  bool count_include_pad_ = true;
  std::optional<int64_t> divisor_override_;
};

/// Max pooling over (N, C, H, W) or (C, H, W), exactly F.max_pool2d with these options.
Tensor max_pool2d(const Tensor& x, const MaxPool2dOptions& options);
/// Average pooling over (N, C, H, W) or (C, H, W), exactly F.avg_pool2d with these options.
Tensor avg_pool2d(const Tensor& x, const AvgPool2dOptions& options);

}  // namespace convgrad
