// The per-axis tap tables of every F.interpolate mode, with PyTorch 1.13's index arithmetic (float32
// where PyTorch computes in float32), so results agree to rounding.
#pragma once

#include <cstdint>

#include "core/kernels/resample.h"

namespace convgrad::kernels {

/// `scale` is the user's scale factor for this axis, or 0 when the output size was given (or
/// recomputed); PyTorch then maps positions with in / out instead of 1 / scale.

/// mode="nearest": src = min(floor(o * s), in - 1); `exact` gives "nearest-exact":
/// src = min(floor((o + 0.5) * s), in - 1).
ResampleAxis nearest_axis(int64_t in, int64_t out, double scale, bool exact);
/// mode="bilinear" (align_corners or half-pixel centres, clamped at the edges).
ResampleAxis linear_axis(int64_t in, int64_t out, bool align_corners, double scale);
/// mode="bicubic": Keys' cubic with A = -0.75 over four taps, indices clamped to the border.
ResampleAxis cubic_axis(int64_t in, int64_t out, bool align_corners, double scale);
/// mode="area" (adaptive average pooling): output o averages inputs [floor(o*in/out), ceil((o+1)*in/out)).
ResampleAxis area_axis(int64_t in, int64_t out);
/// antialias=true for bilinear (triangle filter) or bicubic (Keys' cubic with a = -0.5, as PIL):
/// when downscaling the filter is stretched by the scale, so every input contributes; the weights
/// of each output are normalised to sum to 1 and taps outside the input are dropped.
ResampleAxis antialias_axis(int64_t in, int64_t out, bool align_corners, double scale, bool cubic);

}  // namespace convgrad::kernels
