// The oneDNN convolution kernels. Each runs a cached oneDNN primitive, or the reference kernel when
// oneDNN has no implementation for the call (zero-size tensors, rejected parameters); verbose mode
// reports which. Shapes are validated by the caller (check_conv_call).
#pragma once

#include <cstddef>

#include "core/conv_geometry.h"
#include "core/tensor.h"

namespace convgrad::onednn {

/// y = conv(x, w) + bias (bias may be undefined).
void conv_forward(const Tensor& x, const Tensor& w, const Tensor& bias, const Tensor& y, const ConvParams& p);
/// dx = conv^T(dy, w) + bias per dx channel (bias may be undefined; added after the primitive).
void conv_backward_data(const Tensor& dy, const Tensor& w, const Tensor& bias, const Tensor& dx, const ConvParams& p);
/// dw = gradient wrt the weight; db = sum of dy over N, H, W (db may be undefined).
void conv_backward_weights(const Tensor& x, const Tensor& dy, const Tensor& dw, const Tensor& db, const ConvParams& p);

/// True when check_conv_call would accept the call: defined contiguous float32 tensors of consistent
/// shapes, `vec` (may be undefined) of length src C when `vec_on_src` else O. A cheap test that formats
/// nothing, so that a valid call does not pay for building the error messages; a false answer means
/// "ask check_conv_call", which throws with the details.
bool call_is_valid(const Tensor& src, const Tensor& wei, const Tensor& dst, const Tensor& vec, bool vec_on_src,
                   const ConvParams& p);

/// Number of primitive plans in the LRU cache (for tests and diagnostics).
std::size_t plan_cache_size();

}  // namespace convgrad::onednn
