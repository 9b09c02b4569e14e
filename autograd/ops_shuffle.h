// Differentiable pixel shuffle and unshuffle: the sub-pixel rearrangement of ESPCN-style models.
#pragma once

#include <cstdint>

#include "core/tensor.h"

namespace convgrad {

/// (*, C*r*r, H, W) -> (*, C, H*r, W*r) like F.pixel_shuffle(x, upscale_factor): output pixel
/// (h*r+i, w*r+j) of channel c is input channel c*r*r + i*r + j at (h, w). Its gradient is
/// pixel_unshuffle.
Tensor pixel_shuffle(const Tensor& x, int64_t upscale_factor);
/// (*, C, H*r, W*r) -> (*, C*r*r, H, W) like F.pixel_unshuffle(x, downscale_factor), the inverse
/// of pixel_shuffle. Its gradient is pixel_shuffle.
Tensor pixel_unshuffle(const Tensor& x, int64_t downscale_factor);

}  // namespace convgrad
