// Direct convolution kernels for few output channels and wide kernels: the three kernels of the FCN
// upsampling heads (conv view: x 32x4x64x64, w 4x4x16x16, stride 8 -> y 32x4x8x8), where oneDNN
// pads 4 output channels to 16 (or falls back to its GEMM) and the phase GEMMs are too small to pay
// for their rearrangements. These are ConvAlgo::Direct; choose_algo (conv_algo.h) decides when they run.
//
// Forward: each output pixel is O dot products of length C x kh x kw over rows of kw consecutive src
// floats. The kernel vectorises along kw (8 floats), keeps a block of (output channels x output
// columns) accumulators in registers and sums each horizontally once. Weight gradient: each kernel
// row of dw (8 taps a vector) accumulates dy[o, oh, ow] x (the src row of ow's window) over the output
// columns in registers, into a partial gradient per thread. Both split the work over (image, output
// row) and read src rows in place where every window lies inside src, else from a per-thread copy of
// the rows with zero columns on either side (rows outside src are skipped). Input gradient (a width
// stride that is a multiple of 8, strides dividing the kernel): each vector of 8 dx pixels is a sum of
// broadcast dy values times 8 consecutive weights (direct_conv_data.cpp).
#pragma once

#include "core/conv_geometry.h"
#include "core/tensor.h"

namespace convgrad::onednn {

/// Whether the direct kernels compute this convolution: an AVX2 build, one group, dilation 1, no
/// zero-size tensor. Any stride, padding (output_padding included) and kernel size.
bool direct_conv_supported(const ConvShapes& s);

/// Whether the direct kernels should run instead of oneDNN's primitives or the phase GEMMs (forward and
/// weight gradient alike): supported, at most 8 output channels (oneDNN pads them to 16), a kernel row
/// of at least 8 taps (one vector), packed weights of at most 256 KiB (read from L2 for every block of
/// output pixels) and a zero-padded copy of one image of at most 16 MiB (one per thread, kept).
bool direct_conv_preferred(const ConvShapes& s);

/// y = conv(x, w) + bias (bias per output channel, may be undefined); every element of y is written.
/// Requires direct_conv_supported.
void direct_conv_forward(const Tensor& x, const Tensor& w, const Tensor& bias, const Tensor& y,
                         const ConvParams& p);

/// dw = the gradient of conv(x, w) wrt w given dy (vectorised along kw, a partial gradient per thread);
/// db = the sum of dy over N, H, W (may be undefined). Every element of dw and db is written. Requires
/// direct_conv_supported.
void direct_conv_backward_weights(const Tensor& x, const Tensor& dy, const Tensor& dw, const Tensor& db,
                                  const ConvParams& p);

/// Whether direct_conv_backward_data computes this convolution: an AVX2 build, one group, dilation 1,
/// no zero-size tensor, strides dividing the kernel, and a width stride that is a multiple of 8 (each
/// run of sw dx pixels that meets the same dy pixels is then whole vectors).
bool direct_conv_data_supported(const ConvShapes& s);

/// Whether direct_conv_backward_data should run instead of the phase GEMM or oneDNN's primitive:
/// supported, and at most 8 output channels (dy channels): few terms per dx vector.
bool direct_conv_data_preferred(const ConvShapes& s);

/// dx = conv^T(dy, w) + bias (bias per dx channel, may be undefined); every element of dx is written.
/// Requires direct_conv_data_supported.
void direct_conv_backward_data(const Tensor& dy, const Tensor& w, const Tensor& bias, const Tensor& dx,
                               const ConvParams& p);

}  // namespace convgrad::onednn
