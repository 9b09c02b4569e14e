// Separable 2-D resampling (no autograd): every interpolation mode of F.interpolate is one table of
// (source index, weight) taps per axis, applied along W, then along H.
#pragma once

#include <cstdint>
#include <vector>

#include "core/tensor.h"

namespace convgrad::kernels {

/// The taps of one axis in compressed rows: output o reads input index[k] with weight[k] for k in
/// [start[o], start[o + 1]). `identity` marks a table that copies (the pass is skipped).
struct ResampleAxis {
  int64_t in = 0, out = 0;
  std::vector<int64_t> start, index;
  std::vector<float> weight;
  bool identity = false;
};

/// y[n, c, oy, ox] = sum_i sum_j wy_i * wx_j * x[n, c, iy_i, ix_j] for the (N, C, H, W) float32 `x`:
/// a pass along W over every input row, then a pass along H. `ay.in`, `ax.in` equal H and W; `out`
/// is the contiguous (N, C, ay.out, ax.out) result, allocated by the caller.
void resample2d_forward(const Tensor& x, const ResampleAxis& ay, const ResampleAxis& ax, Tensor& out);

/// The adjoint of resample2d_forward: the gradient of x for the output gradient `grad_out`.
Tensor resample2d_backward(const Tensor& grad_out, const ResampleAxis& ay, const ResampleAxis& ax,
                           const Shape& input_shape);

}  // namespace convgrad::kernels
