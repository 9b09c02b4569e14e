// Differentiable activations with learned parameters.
#pragma once

#include "core/tensor.h"

namespace convgrad {

/// Parametric ReLU like F.prelu: y = x > 0 ? x : a * x, where `a` is weight[c] for the channel c of
/// x (dim 1) when weight has one element per channel, or weight[0] for every element when it has
/// one. One kernel forward; one kernel computes both the input and the weight gradient.
Tensor prelu(const Tensor& x, const Tensor& weight);

}  // namespace convgrad
