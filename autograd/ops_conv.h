// Differentiable convolutions. conv2d and conv_transpose2d share one set of three backend kernels:
// each one's input gradient is the other's forward. Their arguments (Conv2dFuncOptions,
// ConvTranspose2dFuncOptions) are in core/conv_options.h, read as they are by the geometry.
#pragma once

#include <array>
#include <optional>

#include "core/conv_options.h"
#include "core/tensor.h"

namespace convgrad {

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
