// Raw 2-D pooling kernels (no autograd): max and average pooling over (N, C, H, W) planes.
#pragma once

#include <array>
#include <cstdint>

#include "core/tensor.h"

namespace convgrad::kernels {

/// Sizes of one pooling call, resolved and validated (stride 0 already replaced by the kernel).
struct Pool2dGeometry {
  int64_t n = 0, c = 0;    ///< batch and channels (n = 1 for a (C, H, W) input)
  int64_t h = 0, w = 0;    ///< input plane
  int64_t kh = 0, kw = 0;  ///< window
  int64_t sh = 0, sw = 0;  ///< stride
  int64_t ph = 0, pw = 0;  ///< padding on each side
  int64_t oh = 0, ow = 0;  ///< output plane
};

/// Validates the arguments of `op` (max_pool2d / avg_pool2d) for input `shape` ((N, C, H, W) or
/// (C, H, W)) and computes the output size like PyTorch. With ceil_mode the size rounds up, but the
/// last window must start inside the input or its left/top padding. Throws Error naming the op, the
/// shape and the offending argument.
Pool2dGeometry pool2d_geometry(const char* op, const Shape& shape, Pair kernel, Pair stride, Pair padding,
                               bool ceil_mode = false);

/// The divisor of each average-pooling window, like PyTorch's avg_pool2d: divisor_override when
/// non-zero; else the window clipped to the padded input (count_include_pad) or to the input.
struct AvgPoolDivisor {
  bool count_include_pad = true;
  int64_t divisor_override = 0;  ///< 0: none (PyTorch rejects 0 as an override)
};

/// The output shape for `input_shape` under `g` (keeps the input's rank).
Shape pool2d_output_shape(const Shape& input_shape, const Pool2dGeometry& g);

/// Max pooling forward: fills `out` (float32) and `indices` (int64, flat h * W + w of the first
/// maximum inside its plane, like PyTorch). Padding acts as -inf; NaN propagates.
void max_pool2d_forward(const Tensor& x, const Pool2dGeometry& g, Tensor& out, Tensor& indices);

/// Max pooling backward: routes each output gradient to its recorded argmax.
Tensor max_pool2d_backward(const Tensor& grad_out, const Tensor& indices, const Shape& input_shape,
                           const Pool2dGeometry& g);

/// The adjoint of max_pool2d_backward: out[i] = t[indices[i]] in each plane, i.e. max pooling of `t` (input
/// shape) with the windows' winners fixed by `indices`. The gradient of max_pool2d's gradient.
Tensor max_pool2d_gather(const Tensor& t, const Tensor& indices, const Pool2dGeometry& g);

/// Average pooling forward: each window's sum over the real input divided by `div`'s divisor.
Tensor avg_pool2d_forward(const Tensor& x, const Pool2dGeometry& g, AvgPoolDivisor div = {});

/// Average pooling backward: spreads each output gradient over its window, divided likewise.
Tensor avg_pool2d_backward(const Tensor& grad_out, const Shape& input_shape, const Pool2dGeometry& g,
                           AvgPoolDivisor div = {});

}  // namespace convgrad::kernels
