// Raw PReLU kernels (no autograd): one pass forward, one pass for both gradients.
#pragma once

#include "core/tensor.h"

namespace convgrad::kernels {

/// y = x > 0 ? x : a * x with `a` the weight of x's channel (dim 1), or weight[0] when it has one
/// element. Inputs of fewer than 2 dims have one channel.
Tensor prelu_forward(const Tensor& x, const Tensor& weight);

/// Both gradients of prelu in one pass: dx = g * (x > 0 ? 1 : a), dweight[c] = sum over x <= 0 of
/// g * x (summed into one element when weight has one). Either output may be skipped.
struct PreluGrads {
  Tensor x, weight;
};
PreluGrads prelu_backward(const Tensor& grad_out, const Tensor& x, const Tensor& weight, bool need_x,
                          bool need_weight);

}  // namespace convgrad::kernels
