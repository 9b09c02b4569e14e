// The reference convolution kernels: direct loops in the conv view, accumulated in double.
// Shapes are validated by the caller (check_conv_call); any consistent shape works, including
// zero-size tensors, groups, dilation and asymmetric or negative pad_end.
#pragma once

#include "core/conv_geometry.h"
#include "core/tensor.h"

namespace convgrad::reference {

/// y = conv(x, w) + bias (bias may be undefined).
void conv_forward(const Tensor& x, const Tensor& w, const Tensor& bias, const Tensor& y, const ConvParams& p);
/// dx = conv^T(dy, w) + bias per dx channel (bias may be undefined).
void conv_backward_data(const Tensor& dy, const Tensor& w, const Tensor& bias, const Tensor& dx,
                        const ConvParams& p);
/// dw = gradient wrt the weight; db = sum of dy over N, H, W (db may be undefined).
void conv_backward_weights(const Tensor& x, const Tensor& dy, const Tensor& dw, const Tensor& db,
                           const ConvParams& p);

}  // namespace convgrad::reference
