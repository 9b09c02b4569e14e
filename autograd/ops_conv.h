// Differentiable convolutions. conv2d and conv_transpose2d share one set of three backend kernels:
// each one's input gradient is the other's forward.
#pragma once

#include <array>
#include <optional>

#include "core/tensor.h"

namespace convgrad {

/// How conv2d pads: explicit numbers, or PyTorch's "same" / "valid" (stride 1 only for "same").
enum class PaddingMode { Explicit, Same, Valid };

/// Arguments of conv2d, like PyTorch's F::Conv2dFuncOptions: Conv2dFuncOptions().stride(2).padding(1).
class Conv2dFuncOptions {
 public:
  /// Stride per dimension (>= 1).
  Conv2dFuncOptions& stride(int64_t s) { return stride(Pair{s, s}); }
  Conv2dFuncOptions& stride(Pair s) { stride_ = s; return *this; }
  const Pair& stride() const { return stride_; }
  /// Zero padding added on both sides of each dimension (>= 0).
  Conv2dFuncOptions& padding(int64_t p) { return padding(Pair{p, p}); }
  Conv2dFuncOptions& padding(Pair p) { padding_ = p; mode_ = PaddingMode::Explicit; return *this; }
  /// PaddingMode::Same keeps the size (asymmetric when the kernel extent is even); Valid pads nothing.
  Conv2dFuncOptions& padding(PaddingMode m) { mode_ = m; if (m == PaddingMode::Valid) padding_ = {0, 0}; return *this; }
  const Pair& padding() const { return padding_; }
  PaddingMode padding_mode() const { return mode_; }
  /// Spacing between kernel taps (>= 1).
  Conv2dFuncOptions& dilation(int64_t d) { return dilation(Pair{d, d}); }
  Conv2dFuncOptions& dilation(Pair d) { dilation_ = d; return *this; }
  const Pair& dilation() const { return dilation_; }
  /// Channel groups; in and out channels must both divide by it.
  Conv2dFuncOptions& groups(int64_t g) { groups_ = g; return *this; }
  int64_t groups() const { return groups_; }

 private:
  Pair stride_{1, 1}, padding_{0, 0}, dilation_{1, 1};
  int64_t groups_ = 1;
  PaddingMode mode_ = PaddingMode::Explicit;
};

/// Arguments of conv_transpose2d, like PyTorch's F::ConvTranspose2dFuncOptions.
class ConvTranspose2dFuncOptions {
 public:
  /// Stride per dimension (>= 1).
  ConvTranspose2dFuncOptions& stride(int64_t s) { return stride(Pair{s, s}); }
  ConvTranspose2dFuncOptions& stride(Pair s) { stride_ = s; return *this; }
  const Pair& stride() const { return stride_; }
  /// Rows/columns removed from each side of the full output (>= 0).
  ConvTranspose2dFuncOptions& padding(int64_t p) { return padding(Pair{p, p}); }
  ConvTranspose2dFuncOptions& padding(Pair p) { padding_ = p; return *this; }
  const Pair& padding() const { return padding_; }
  /// Extra rows/columns added at the bottom/right (< stride or < dilation); only changes the shape.
  ConvTranspose2dFuncOptions& output_padding(int64_t p) { return output_padding(Pair{p, p}); }
  ConvTranspose2dFuncOptions& output_padding(Pair p) { output_padding_ = p; return *this; }
  const Pair& output_padding() const { return output_padding_; }
  /// Spacing between kernel taps (>= 1).
  ConvTranspose2dFuncOptions& dilation(int64_t d) { return dilation(Pair{d, d}); }
  ConvTranspose2dFuncOptions& dilation(Pair d) { dilation_ = d; return *this; }
  const Pair& dilation() const { return dilation_; }
  /// Channel groups.
  ConvTranspose2dFuncOptions& groups(int64_t g) { groups_ = g; return *this; }
  int64_t groups() const { return groups_; }
  /// Target output (H, W); output_padding is derived from it (error when unreachable).
  ConvTranspose2dFuncOptions& output_size(Pair hw) { output_size_ = hw; return *this; }
  const std::optional<Pair>& output_size() const { return output_size_; }

 private:
  Pair stride_{1, 1}, padding_{0, 0}, output_padding_{0, 0}, dilation_{1, 1};
  int64_t groups_ = 1;
  std::optional<Pair> output_size_;
};

/// 2-D convolution (cross-correlation) of x (N, C, H, W) or (C, H, W) with w (out, in/groups, kh, kw),
/// plus bias (out) when defined. Exactly PyTorch's F.conv2d.
Tensor conv2d(const Tensor& x, const Tensor& w, const Tensor& bias = Tensor(),
              const Conv2dFuncOptions& options = Conv2dFuncOptions());

/// 2-D transposed convolution of x (N, C_in, H, W) or (C_in, H, W) with w (in, out/groups, kh, kw),
/// plus bias (out) when defined. Exactly PyTorch's F.conv_transpose2d; its forward is the
/// convolution's backward-data kernel.
Tensor conv_transpose2d(const Tensor& x, const Tensor& w, const Tensor& bias = Tensor(),
                        const ConvTranspose2dFuncOptions& options = ConvTranspose2dFuncOptions());

/// The gradient of conv2d with respect to its weight, W(input, grad_output), as a differentiable op
/// (torch.nn.grad.conv2d_weight): `weight_size` is the weight's shape (out, in/groups, kh, kw),
/// `grad_output` has conv2d's output shape. Its own gradients are conv_transpose2d (w.r.t. input) and conv2d
/// (w.r.t. grad_output), on the same three backend kernels.
Tensor conv2d_weight_grad(const Tensor& input, const Shape& weight_size, const Tensor& grad_output,
                          const Conv2dFuncOptions& options = Conv2dFuncOptions());

/// The gradient of conv_transpose2d with respect to its weight (in, out/groups, kh, kw), as a differentiable
/// op; `grad_output` has conv_transpose2d's output shape. Its gradients are conv2d (w.r.t. input) and
/// conv_transpose2d (w.r.t. grad_output).
Tensor conv_transpose2d_weight_grad(const Tensor& input, const Shape& weight_size, const Tensor& grad_output,
                                    const ConvTranspose2dFuncOptions& options = ConvTranspose2dFuncOptions());

}  // namespace convgrad
