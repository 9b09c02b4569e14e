// Pooling with PyTorch's full option sets: max_pool2d(x, MaxPool2dOptions(3).stride(2).ceil_mode(true)),
// avg_pool2d(x, AvgPool2dOptions(3).count_include_pad(false).divisor_override(4)). The layers
// MaxPool2d and AvgPool2d take the same options.
#pragma once

#include <optional>

#include "autograd/ops_conv.h"
#include "core/arg.h"
#include "core/tensor.h"

namespace convgrad {

/// Options of max_pool2d / MaxPool2d, like PyTorch's MaxPool2dOptions (no dilation).
class MaxPool2dOptions {
 public:
  /// A kernel_size x kernel_size window.
  // NOLINTNEXTLINE(google-explicit-constructor): implicit like PyTorch
  MaxPool2dOptions(int64_t kernel_size) : MaxPool2dOptions(Pair{kernel_size, kernel_size}) {}
  /// A (kh, kw) window.
  MaxPool2dOptions(Pair kernel_size) : kernel_size_(kernel_size) {}  // NOLINT(google-explicit-constructor)
  /// Step between windows (default: the kernel size, hence written by hand).
  MaxPool2dOptions& stride(int64_t s) { return stride(Pair{s, s}); }
  MaxPool2dOptions& stride(Pair s) { return stride_ = s, *this; }
  Pair stride() const { return stride_.value_or(kernel_size_); }
  /// Implicit -inf padding on both sides, at most half the kernel (default 0).
  MaxPool2dOptions& padding(int64_t p) { return padding(Pair{p, p}); }
  CONVGRAD_ARG(Pair, padding) = Pair{0, 0};
  /// Window (height, width).
  CONVGRAD_ARG(Pair, kernel_size);
  /// Round the output size up instead of down; the last window must still start inside the input
  /// or the leading padding (default false).
  CONVGRAD_ARG(bool, ceil_mode) = false;

 private:
  std::optional<Pair> stride_;
};

/// Options of avg_pool2d / AvgPool2d, like PyTorch's AvgPool2dOptions.
class AvgPool2dOptions {
 public:
  /// A kernel_size x kernel_size window.
  // NOLINTNEXTLINE(google-explicit-constructor): implicit like PyTorch
  AvgPool2dOptions(int64_t kernel_size) : AvgPool2dOptions(Pair{kernel_size, kernel_size}) {}
  /// A (kh, kw) window.
  AvgPool2dOptions(Pair kernel_size) : kernel_size_(kernel_size) {}  // NOLINT(google-explicit-constructor)
  /// Step between windows (default: the kernel size, hence written by hand).
  AvgPool2dOptions& stride(int64_t s) { return stride(Pair{s, s}); }
  AvgPool2dOptions& stride(Pair s) { return stride_ = s, *this; }
  Pair stride() const { return stride_.value_or(kernel_size_); }
  /// Implicit zero padding on both sides, at most half the kernel (default 0).
  AvgPool2dOptions& padding(int64_t p) { return padding(Pair{p, p}); }
  CONVGRAD_ARG(Pair, padding) = Pair{0, 0};
  /// Window (height, width).
  CONVGRAD_ARG(Pair, kernel_size);
  /// Round the output size up instead of down; the last window must still start inside the input
  /// or the leading padding (default false).
  CONVGRAD_ARG(bool, ceil_mode) = false;
  /// Whether padded zeros count in the divisor (default true). Window parts beyond the padding
  /// (ceil_mode) never count.
  CONVGRAD_ARG(bool, count_include_pad) = true;
  /// A fixed divisor for every window instead of its size (non-zero; default none).
  CONVGRAD_ARG(std::optional<int64_t>, divisor_override);

 private:
  std::optional<Pair> stride_;
};

/// Max pooling over (N, C, H, W) or (C, H, W), exactly F.max_pool2d with these options.
Tensor max_pool2d(const Tensor& x, const MaxPool2dOptions& options);
/// Average pooling over (N, C, H, W) or (C, H, W), exactly F.avg_pool2d with these options.
Tensor avg_pool2d(const Tensor& x, const AvgPool2dOptions& options);

}  // namespace convgrad
