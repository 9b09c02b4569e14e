// The book's helpers with convgrad ops. Where PyTorch writes into a slice (Y[a:b] += ...), these
// build the same tensor functionally: pad a small piece into place, then add. Then the
// frameworks' transposed-convolution recipes built from them.
#include "handwritten.h"

#include <algorithm>
#include <vector>

namespace tutorial {

using namespace convgrad;

Tensor trans_conv(const Tensor& X, const Tensor& K) {
  const int64_t n = X.size(0), m = X.size(1);
  const int64_t h = K.size(0), w = K.size(1);
  Tensor Y = zeros({n + h - 1, m + w - 1});
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t j = 0; j < m; ++j) {
      Tensor x_ij = select(select(X, 0, i), 0, j);
      // Y[i:i+h, j:j+w] += X[i, j] * K: the scaled kernel padded out to Y's shape at (i, j).
      Y = Y + pad(x_ij * K, {j, m - 1 - j, i, n - 1 - i});
    }
  }
  return Y;
}

Tensor corr2d(const Tensor& X, const Tensor& K) {
  const int64_t h = K.size(0), w = K.size(1);
  const int64_t oh = X.size(0) - h + 1, ow = X.size(1) - w + 1;
  std::vector<Tensor> values;
  for (int64_t i = 0; i < oh; ++i)
    for (int64_t j = 0; j < ow; ++j) values.push_back(sum(slice(slice(X, 0, i, i + h), 1, j, j + w) * K));
  return reshape(stack(values, 0), {oh, ow});
}

Tensor kernel2matrix(const Tensor& K, int64_t n, int64_t m) {
  const int64_t h = K.size(0), w = K.size(1);
  const int64_t oh = n - h + 1, ow = m - w + 1;
  // The kernel laid out over a flattened input row-major: K's rows separated by m - w zeros
  // (the book's k = [K[0, :], 0, K[1, :]] for a 3 x 3 input).
  std::vector<Tensor> parts;
  for (int64_t a = 0; a < h; ++a) {
    parts.push_back(select(K, 0, a));
    if (a + 1 < h && m > w) parts.push_back(zeros({m - w}));
  }
  Tensor k = concat(parts, 0);
  // Row r = (i, j) of W is k shifted to where the window of output (i, j) starts.
  std::vector<Tensor> rows;
  for (int64_t i = 0; i < oh; ++i) {
    for (int64_t j = 0; j < ow; ++j) {
      const int64_t start = i * m + j;
      rows.push_back(pad(k, {start, n * m - start - k.numel()}));
    }
  }
  return stack(rows, 0);
}

Tensor flip(const Tensor& x, int64_t dim) {
  const int64_t d = normalize_dim(dim, x.dim(), "flip");
  std::vector<Tensor> parts;
  for (int64_t i = x.size(d) - 1; i >= 0; --i) parts.push_back(select(x, d, i));
  return stack(parts, d);
}

Tensor flip2d(const Tensor& x) { return flip(flip(x, -1), -2); }

namespace {

// Interleaves x with s - 1 zero copies along dim d, then drops the zeros after the last element.
Tensor dilate_dim(const Tensor& x, int64_t d, int64_t s) {
  const int64_t n = x.size(d);
  std::vector<Tensor> parts{x};
  for (int64_t k = 1; k < s; ++k) parts.push_back(zeros_like(x));
  Shape merged = x.shape();
  merged[d] = n * s;
  Tensor t = reshape(stack(parts, d + 1), merged);  // x0, 0, .., x1, 0, .., x_{n-1}, 0, ..
  return slice(t, d, 0, (n - 1) * s + 1);
}

}  // namespace

Tensor dilate2d(const Tensor& x, int64_t s) {
  CONVGRAD_CHECK(s >= 1, "dilate2d: the factor must be >= 1, got {}", s);
  if (s == 1) return x;
  return dilate_dim(dilate_dim(x, x.dim() - 1, s), x.dim() - 2, s);
}

PadPair lax_transpose_same_padding(int64_t k, int64_t s) {
  const int64_t pad_len = k + s - 2;
  const int64_t lo = s > k - 1 ? k - 1 : (pad_len + 1) / 2;
  return {lo, pad_len - lo};
}

PadPair lax_conv_same_padding(int64_t n, int64_t k, int64_t s) {
  const int64_t out = (n + s - 1) / s;
  const int64_t total = std::max<int64_t>((out - 1) * s + k - n, 0);
  return {total / 2, total - total / 2};
}

Tensor flax_conv_transpose(const Tensor& x, const Tensor& w, int64_t stride, PadPair ph, PadPair pw) {
  Tensor d = pad(dilate2d(x, stride), {pw.lo, pw.hi, ph.lo, ph.hi});
  return conv2d(d, contiguous(w));
}

Tensor flax_conv_same(const Tensor& x, const Tensor& w, int64_t stride) {
  const PadPair ph = lax_conv_same_padding(x.size(-2), w.size(-2), stride);
  const PadPair pw = lax_conv_same_padding(x.size(-1), w.size(-1), stride);
  Tensor padded = pad(x, {pw.lo, pw.hi, ph.lo, ph.hi});
  return conv2d(padded, contiguous(w), Tensor(), Conv2dFuncOptions().stride(stride));
}

Tensor torch_conv_transpose_as_correlation(const Tensor& x, const Tensor& w, int64_t stride,
                                           int64_t padding) {
  const int64_t kh = w.size(2), kw = w.size(3);
  // Negative padding crops, which is what a padding larger than k - 1 means here.
  Tensor d =
      pad(dilate2d(x, stride), {kw - 1 - padding, kw - 1 - padding, kh - 1 - padding, kh - 1 - padding});
  Tensor k = contiguous(flip2d(transpose(w, 0, 1)));
  return conv2d(d, k);
}

}  // namespace tutorial
