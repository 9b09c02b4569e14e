// Raw bilinear upsampling kernels (no autograd), align_corners=false like PyTorch's F.interpolate.
#pragma once

#include <cstdint>

#include "core/tensor.h"

namespace convgrad::kernels {

/// Resizes every (H, W) plane of the contiguous-or-not (N, C, H, W) float32 `x` to (out_h, out_w)
/// with bilinear interpolation, half-pixel centres (align_corners=false), edges clamped.
Tensor upsample_bilinear2d_forward(const Tensor& x, int64_t out_h, int64_t out_w);

/// The adjoint of the forward: each output gradient is split over its four source pixels with the
/// same weights. `input_shape` is the forward's input shape.
Tensor upsample_bilinear2d_backward(const Tensor& grad_out, const Shape& input_shape);

}  // namespace convgrad::kernels
