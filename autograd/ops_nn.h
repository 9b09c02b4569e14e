// Differentiable neural-network ops besides convolution: pooling, batch norm, dropout, upsampling.
#pragma once

#include "autograd/ops_conv.h"
#include "core/random.h"
#include "core/tensor.h"

namespace convgrad {

/// Max pooling over (N, C, H, W) like F.max_pool2d (stride defaults to the kernel; padding pads with -inf).
/// ceil_mode: the MaxPool2dOptions overload in autograd/ops_pool.h.
Tensor max_pool2d(const Tensor& x, Pair kernel, Pair stride = {0, 0}, Pair padding = {0, 0});
/// Average pooling like F.avg_pool2d with count_include_pad=true. ceil_mode, count_include_pad and
/// divisor_override: the AvgPool2dOptions overload in autograd/ops_pool.h.
Tensor avg_pool2d(const Tensor& x, Pair kernel, Pair stride = {0, 0}, Pair padding = {0, 0});
/// Batch norm over (N, C, H, W) or (N, C). In training it normalises with the batch statistics and
/// updates running_mean/var in place (unbiased variance, like PyTorch); otherwise it uses them.
/// weight/bias/running stats may be undefined. momentum must be in [0, 1] (NaN is rejected).
Tensor batch_norm(const Tensor& x, const Tensor& running_mean, const Tensor& running_var,
                  const Tensor& weight, const Tensor& bias, bool training, float momentum = 0.1f,
                  float eps = 1e-5f);
/// Zeroes elements with probability p and scales the rest by 1/(1-p) when training; identity otherwise.
Tensor dropout(const Tensor& x, float p, bool training, Generator& gen = default_generator());
/// Bilinear upsampling of (N, C, H, W) to `size`, like F.interpolate(mode="bilinear", align_corners=false).
Tensor upsample_bilinear2d(const Tensor& x, Pair size);

}  // namespace convgrad
