// Gradient clipping by total norm, used between backward() and an optimizer's step().
#pragma once

#include <vector>

#include "core/tensor.h"

namespace convgrad {

/// Like torch.nn.utils.clip_grad_norm_: the norm of order `norm_type` of all gradients together
/// (as if concatenated; norm_type = INFINITY takes the largest |g|), and, scaled by
/// min(1, max_norm / (total + 1e-6)) in place, every defined gradient. Parameters without a gradient
/// are skipped; none at all gives 0. Returns the total norm before clipping. A non-finite total norm
/// is an Error when error_if_nonfinite, else the gradients are scaled by it (NaN), as in PyTorch.
double clip_grad_norm_(const std::vector<Tensor>& parameters, double max_norm, double norm_type = 2.0,
                       bool error_if_nonfinite = false);

}  // namespace convgrad
