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
// The large tensor is only ever read or written once, in L2-sized blocks. These are ConvAlgo::Phase;
// choose_algo (conv_algo.h) decides when they run.
#pragma once

#include "core/conv_geometry.h"
#include "core/tensor.h"

namespace convgrad::onednn {

/// Whether the phase decomposition computes this convolution: dilation 1, one group, each stride
/// dividing the kernel size of its dimension, a stride above 1 in at least one dimension, and no
/// zero-size tensor.
bool phase_conv_supported(const ConvShapes& s);

/// y = conv(x, w) + bias (bias per output channel, may be undefined); y is overwritten:
/// Z = W2 x unshuffle(x), then a shift-add. Requires phase_conv_supported.
void phase_conv_forward(const Tensor& x, const Tensor& w, const Tensor& bias, const Tensor& y,
                        const ConvParams& p);

/// dx = conv^T(dy, w) + bias (bias per dx channel, may be undefined); dx is overwritten:
/// G = W2^T x im2col(dy), then a pixel shuffle. Requires phase_conv_supported.
void phase_conv_backward_data(const Tensor& dy, const Tensor& w, const Tensor& bias, const Tensor& dx,
                              const ConvParams& p);

/// dw = gradient of the convolution wrt its weight (dW2 = im2col(dy) x unshuffle(x)^T, scattered into
/// dw); db = sum of dy over N, H, W (may be undefined). Requires phase_conv_supported.
void phase_conv_backward_weights(const Tensor& x, const Tensor& dy, const Tensor& dw, const Tensor& db,
                                 const ConvParams& p);

}  // namespace convgrad::onednn
