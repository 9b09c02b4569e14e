// d2l 14.10.1: the basic operation, by hand and with the framework op.
#include <convgrad/convgrad.h>

using namespace convgrad;

// [doc:trans_conv]
// Y[i:i+h, j:j+w] += X[i, j] * K for every input element. Tensors are values here, so instead
// of writing into a slice we pad the scaled kernel out to Y's shape at (i, j) and add it.
Tensor trans_conv(const Tensor& X, const Tensor& K) {
  const int64_t n = X.size(0), m = X.size(1);
  const int64_t h = K.size(0), w = K.size(1);
  Tensor Y = zeros({n + h - 1, m + w - 1});
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < m; ++j)
      Y = Y + pad(select(select(X, 0, i), 0, j) * K, {j, m - 1 - j, i, n - 1 - i});
  return Y;
}
// [/doc]

int main() {
  // [doc:use]
  Tensor X = tensor({{0, 1}, {2, 3}});
  Tensor K = tensor({{0, 1}, {2, 3}});
  fmt::print("{}\n", trans_conv(X, K));

  // The framework op takes X as (batch, channels, h, w) and K as (in, out, kh, kw).
  X = reshape(X, {1, 1, 2, 2});
  K = reshape(K, {1, 1, 2, 2});
  fmt::print("{}\n", conv_transpose2d(X, K));
  // [/doc]
}
