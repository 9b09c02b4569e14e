// Raw pixel (un)shuffle kernels (no autograd): the sub-pixel rearrangement of ESPCN-style models.
#pragma once

#include <cstdint>

#include "core/tensor.h"

namespace convgrad::kernels {

/// (*, C*r*r, H, W) -> (*, C, H*r, W*r): out[c, h*r+i, w*r+j] = in[c*r*r + i*r + j, h, w].
/// The caller has checked the shape (at least 3 dims, channels divisible by r*r).
Tensor pixel_shuffle_forward(const Tensor& x, int64_t r);
/// The inverse: (*, C, H*r, W*r) -> (*, C*r*r, H, W). The caller has checked divisibility.
Tensor pixel_unshuffle_forward(const Tensor& x, int64_t r);

}  // namespace convgrad::kernels
