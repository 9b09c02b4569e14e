// Raw batch-norm kernels (no autograd) over x viewed as (N, C, L), L = product of the dims after C.
#pragma once

#include <cstdint>

#include "core/tensor.h"

namespace convgrad::kernels {

/// Per-channel statistics of a batch: mean and biased variance, each a (C) float32 tensor.
struct ChannelStats {
  Tensor mean;
  Tensor var;
  int64_t count = 0;  ///< elements per channel (N * L)
};

/// Mean and biased variance of every channel of x (rank >= 2, channels at dim 1), accumulated in
/// double with two passes so large offsets do not cancel.
ChannelStats batch_norm_stats(const Tensor& x);

/// 1 / sqrt(var + eps) per channel, as a (C) float32 tensor.
Tensor batch_norm_invstd(const Tensor& var, float eps);

/// y = (x - mean) * invstd * weight + bias per channel; weight and bias may be undefined (1 and 0).
Tensor batch_norm_apply(const Tensor& x, const Tensor& mean, const Tensor& invstd, const Tensor& weight,
                        const Tensor& bias);

/// Gradients of batch_norm_apply; `x` is undefined when not requested, and so on.
struct BatchNormGrads {
  Tensor x, weight, bias;
};

/// Backward of batch norm. With `batch_stats` the mean and invstd are functions of x (training), so
/// grad_x gets the full correction terms; otherwise they are constants (eval with running stats).
BatchNormGrads batch_norm_backward(const Tensor& grad_out, const Tensor& x, const Tensor& mean,
                                   const Tensor& invstd, const Tensor& weight, bool batch_stats, bool need_x,
                                   bool need_weight, bool need_bias);

/// In place, no autograd: running_mean = (1 - m) * running_mean + m * mean and
/// running_var = (1 - m) * running_var + m * var * count / (count - 1) (the unbiased variance).
/// Either running tensor may be undefined (skipped); both may be strided 1-D views.
void batch_norm_update_running(const Tensor& running_mean, const Tensor& running_var,
                               const ChannelStats& stats, float momentum);

}  // namespace convgrad::kernels
