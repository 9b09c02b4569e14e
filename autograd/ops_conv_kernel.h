// The three convolution kernels as differentiable ops in the conv view (core/conv_geometry.h): every
// convolution's gradient, at every order, is one of them again.
#pragma once

#include "core/conv_geometry.h"
#include "core/tensor.h"

namespace convgrad::detail {

/// Which of the backend's three kernels: the forward F(src, wei) -> dst, backward-data D(dst, wei) -> src,
/// backward-weights W(src, dst) -> wei. For a fixed geometry they are one bilinear form read three ways,
/// <F(x, w), y> = <x, D(y, w)> = <w, W(x, y)>, so each one's gradients are the other two.
enum class ConvKernel { Forward, BackwardData, BackwardWeights };

/// Runs `kernel` on (a, b) with geometry `s` (operands in the conv view's 4-D shapes: F takes (src, wei),
/// D takes (dst, wei), W takes (src, dst)) and records a node whose gradients are the other two kernels,
/// so it can be differentiated to any order.
Tensor conv_kernel(ConvKernel kernel, const Tensor& a, const Tensor& b, const ConvShapes& s);

}  // namespace convgrad::detail
