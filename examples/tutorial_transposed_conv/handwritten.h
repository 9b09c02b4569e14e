// The book's helper functions written the way a reader would, with convgrad tensor ops
// (slices, padding, stacking, elementwise arithmetic) and no raw pointers; and the two conventions
// for "transposed convolution" as one recipe each: dilate the input by the stride, pad it,
// correlate it with a kernel. PyTorch rotates the kernel by 180 degrees; Flax (by default) does not.
#pragma once

#include <convgrad/convgrad.h>

#include <cstdint>

namespace tutorial {

using convgrad::Tensor;

/// d2l's trans_conv (stride 1, no padding): Y[i:i+h, j:j+w] += X[i, j] * K for every input element.
Tensor trans_conv(const Tensor& X, const Tensor& K);

/// d2l's corr2d: Y[i, j] = sum(X[i:i+h, j:j+w] * K), the cross-correlation every conv layer computes.
Tensor corr2d(const Tensor& X, const Tensor& K);

/// d2l's kernel2matrix for an n x m input: W (outputs x inputs) whose row r holds K spread over the
/// flattened input where output r's window sits, so conv(X) = W @ X.flatten().
Tensor kernel2matrix(const Tensor& K, int64_t n, int64_t m);

/// `x` reversed along `dim`.
Tensor flip(const Tensor& x, int64_t dim);

/// The last two dims reversed: each kernel rotated by 180 degrees.
Tensor flip2d(const Tensor& x);

/// s - 1 zeros inserted between neighbouring elements of the last two dims ("lhs dilation").
Tensor dilate2d(const Tensor& x, int64_t s);

// ---- the frameworks' recipes ----

/// Padding before and after one spatial dim.
struct PadPair {
  int64_t lo = 0;
  int64_t hi = 0;
};

/// jax.lax.conv_transpose's 'SAME' padding of the stride-dilated input (kernel k, stride s):
/// pad_len = k + s - 2, lo = k - 1 when s > k - 1 else ceil(pad_len / 2), hi = pad_len - lo.
/// The output is then n * s.
PadPair lax_transpose_same_padding(int64_t k, int64_t s);

/// XLA's 'SAME' padding of a forward convolution of an n-sized dim: output ceil(n / s),
/// total = max((out - 1) * s + k - n, 0), lo = total / 2.
PadPair lax_conv_same_padding(int64_t n, int64_t k, int64_t s);

/// Flax's nn.ConvTranspose with transpose_kernel=False (its default): the input (N, C, H, W)
/// dilated by `stride`, padded by (ph, pw), then correlated with `w` exactly as stored.
/// `w` is in correlation layout (out, in, kh, kw), i.e. Flax's (kh, kw, in, out) kernel permuted.
Tensor flax_conv_transpose(const Tensor& x, const Tensor& w, int64_t stride, PadPair ph, PadPair pw);

/// Flax's nn.Conv with padding='SAME' and `stride`; `w` is (out, in, kh, kw).
Tensor flax_conv_same(const Tensor& x, const Tensor& w, int64_t stride);

/// PyTorch's conv_transpose2d written with the same recipe: dilate by `stride`, pad k - 1 - p on
/// each side, correlate with the kernel rotated by 180 degrees and its in/out axes swapped.
/// `w` is PyTorch's ConvTranspose2d weight (in, out, kh, kw).
Tensor torch_conv_transpose_as_correlation(const Tensor& x, const Tensor& w, int64_t stride, int64_t padding);

}  // namespace tutorial
