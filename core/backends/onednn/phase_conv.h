// The phase decomposition of a strided convolution whose stride divides its kernel (kernel = 2 x
// stride in the FCN upsamplers): the three kernels as one GEMM each (oneDNN's dnnl_sgemm) between
// rearrangements of the operands, with no scatter-add over the large tensor.
//
// In the conv view, src pixel ih = s * (oh + j) + r - pad is touched by output row oh through tap
// kh = r + s * j. Split src into its s x s phases r = (rh, rw) ("pixel unshuffle", over the grid of
// q = oh + j) and the kernel into s x s sub-kernels of (k/s) x (k/s) taps; then, with the weight
// gathered once as W2[(o, jh, jw), (c, rh, rw)]:
//   backward data (a transposed conv's forward):  G = W2^T x im2col(dy), then pixel-shuffle G into dx;
//   forward (a transposed conv's input gradient): Z = W2 x unshuffle(x), then y = shift-add of Z;
//   backward weights:                             dW2 = im2col(dy) x unshuffle(x)^T, scattered into dw.
// The large tensor is only ever read or written once, in L2-sized blocks.
#pragma once

#include <string>

#include "core/conv_geometry.h"
#include "core/tensor.h"

namespace convgrad::onednn {

/// Whether the phase decomposition computes this convolution: dilation 1, one group, each stride
/// dividing the kernel size of its dimension, a stride above 1 in at least one dimension, and no
/// zero-size tensor.
bool phase_conv_supported(const ConvShapes& s);

/// Which of the three kernels a dispatch decision is for.
enum class ConvKernel { Forward, BackwardData, BackwardWeights };

/// Whether the phase kernels should run `kernel` instead of oneDNN's implementation `onednn_impl`
/// (its name in ONEDNN_VERBOSE terms, e.g. "gemm:jit", "jit:avx512_core"). Requires phase_conv_supported(s).
bool phase_conv_preferred(ConvKernel kernel, const ConvShapes& s, const std::string& onednn_impl);

/// The name of the kernel that phase_conv_forward / _backward_data / _backward_weights run for `s`
/// (for ONEDNN_VERBOSE-style logs and convbench's "kernel" field): "direct:avx2" or "phase:sgemm".
const char* phase_conv_impl(ConvKernel kernel, const ConvShapes& s);

/// y = conv(x, w) + bias (bias per output channel, may be undefined); y is overwritten. Runs the direct
/// kernel (direct_conv.h) where direct_conv_preferred holds, else phase_gemm_forward.
void phase_conv_forward(const Tensor& x, const Tensor& w, const Tensor& bias, const Tensor& y, const ConvParams& p);

/// The phase decomposition's input gradient (G = W2^T x im2col(dy), then a pixel shuffle), whatever the shape.
void phase_gemm_backward_data(const Tensor& dy, const Tensor& w, const Tensor& bias, const Tensor& dx,
                              const ConvParams& p);

/// The phase decomposition's forward (Z = W2 x unshuffle(x), then a shift-add), whatever the shape.
void phase_gemm_forward(const Tensor& x, const Tensor& w, const Tensor& bias, const Tensor& y, const ConvParams& p);

/// dx = conv^T(dy, w) + bias (bias per dx channel, may be undefined); dx is overwritten. Runs the direct
/// kernel (direct_conv.h) where direct_conv_data_preferred holds, else phase_gemm_backward_data.
void phase_conv_backward_data(const Tensor& dy, const Tensor& w, const Tensor& bias, const Tensor& dx,
                              const ConvParams& p);

/// dw = gradient of the convolution wrt its weight; db = sum of dy over N, H, W (may be undefined).
/// Runs the direct kernel (direct_conv.h) where direct_conv_preferred holds, else phase_gemm_backward_weights.
void phase_conv_backward_weights(const Tensor& x, const Tensor& dy, const Tensor& dw, const Tensor& db,
                                 const ConvParams& p);

/// The phase decomposition's weight gradient (dW2 = im2col(dy) x unshuffle(x)^T), whatever the shape.
void phase_gemm_backward_weights(const Tensor& x, const Tensor& dy, const Tensor& dw, const Tensor& db,
                                 const ConvParams& p);

}  // namespace convgrad::onednn
