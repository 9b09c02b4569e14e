// ReLU with a one-bit mask: the forward also packs (x > 0) into 64-bit words, so the backward reads
// 1/32 of the bytes the saved output would cost (it is memory-bound: a gradient and a mask in, the
// gradient out). For contiguous float32 tensors; kernels::unary covers every other case.
#pragma once

#include "core/tensor.h"

namespace convgrad::kernels {

/// relu(x) and its mask.
struct ReluMasked {
  Tensor y;     ///< max(x, 0) with NaN kept, exactly kernels::unary(UnaryOp::Relu, x)
  Tensor mask;  ///< int64 (ceil(n / 64)): bit i % 64 of word i / 64 is x[i] > 0
};

/// relu of a contiguous float32 tensor, and the mask its gradient needs. Throws for other tensors.
ReluMasked relu_masked(const Tensor& x);

/// grad where the mask bit is set, 0 elsewhere (the gradient of relu). `grad` must be contiguous
/// float32 with as many elements as the mask covers; with `overwrite_grad` the result is written over
/// `grad` and `grad` returned.
Tensor relu_backward_masked(const Tensor& grad, const Tensor& mask, bool overwrite_grad = false);

}  // namespace convgrad::kernels
