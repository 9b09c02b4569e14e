// Pooling layers: MaxPool2d and AvgPool2d over (N, C, H, W), like torch.nn.
#pragma once

#include <optional>
#include <string>

#include "autograd/ops_conv.h"
#include "layers/module.h"

namespace convgrad {

/// Options shared by the 2-D pooling layers: MaxPool2dOptions(2).stride(2).padding(0).
class Pool2dOptions {
 public:
  /// A kernel_size x kernel_size window.
  Pool2dOptions(int64_t kernel_size) : Pool2dOptions(Pair{kernel_size, kernel_size}) {}  // NOLINT: implicit like PyTorch
  /// A (kh, kw) window.
  Pool2dOptions(Pair kernel_size) : kernel_(kernel_size) {}  // NOLINT
  /// Window (height, width).
  const Pair& kernel_size() const { return kernel_; }
  /// Step between windows (default: the kernel size).
  Pool2dOptions& stride(int64_t s) { return stride(Pair{s, s}); }
  Pool2dOptions& stride(Pair s) { stride_ = s; return *this; }
  Pair stride() const { return stride_.value_or(kernel_); }
  /// Implicit padding on both sides (at most half the kernel; -inf for max, 0 counted for average).
  Pool2dOptions& padding(int64_t p) { return padding(Pair{p, p}); }
  Pool2dOptions& padding(Pair p) { padding_ = p; return *this; }
  const Pair& padding() const { return padding_; }

 private:
  Pair kernel_;
  std::optional<Pair> stride_;
  Pair padding_{0, 0};
};

/// Options of MaxPool2d.
using MaxPool2dOptions = Pool2dOptions;
/// Options of AvgPool2d (count_include_pad = true, like PyTorch's default).
using AvgPool2dOptions = Pool2dOptions;

/// Maximum over each window.
class MaxPool2d : public Module {
 public:
  explicit MaxPool2d(const MaxPool2dOptions& options);
  Tensor forward(const Tensor& x) override;
  std::string name() const override { return "MaxPool2d"; }
  std::string extra_repr() const override;
  /// The options this layer was built with.
  const MaxPool2dOptions& options() const { return options_; }

 private:
  MaxPool2dOptions options_;
};

/// Mean over each window.
class AvgPool2d : public Module {
 public:
  explicit AvgPool2d(const AvgPool2dOptions& options);
  Tensor forward(const Tensor& x) override;
  std::string name() const override { return "AvgPool2d"; }
  std::string extra_repr() const override;
  /// The options this layer was built with.
  const AvgPool2dOptions& options() const { return options_; }

 private:
  AvgPool2dOptions options_;
};

}  // namespace convgrad
