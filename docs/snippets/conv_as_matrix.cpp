// d2l 14.10.3: a convolution is a matrix product W x; the transposed convolution is W^T y.
#include <convgrad/convgrad.h>

#include <vector>

using namespace convgrad;

// [doc:kernel2matrix]
// The 4 x 9 matrix of a 2 x 2 kernel sliding over a 3 x 3 input: row r holds the kernel laid
// over the flattened input where output r's window starts.
Tensor kernel2matrix(const Tensor& K) {
  Tensor k = concat({select(K, 0, 0), zeros({1}), select(K, 0, 1)}, 0);  // [k00, k01, 0, k10, k11]
  std::vector<Tensor> rows;
  for (int64_t start : {0, 1, 3, 4}) rows.push_back(pad(k, {start, 4 - start}));
  return stack(rows, 0);
}
// [/doc]

int main() {
  // [doc:use]
  Tensor X = reshape(arange(9), {1, 1, 3, 3});
  Tensor K = reshape(tensor({{1, 2}, {3, 4}}), {1, 1, 2, 2});
  Tensor Y = conv2d(X, K);
  fmt::print("Y = conv2d(X, K)\n{}\n", Y);

  Tensor W = kernel2matrix(reshape(K, {2, 2}));
  fmt::print("W = kernel2matrix(K)\n{}\n", W);
  // Convolution: Y = W x.
  Tensor Wx = matmul(W, reshape(X, {9}));
  fmt::print("Y == W x:   {}\n", allclose(Wx, reshape(Y, {4})));
  // Transposed convolution: Z = W^T y.
  Tensor Z = conv_transpose2d(Y, K);
  fmt::print("Z = conv_transpose2d(Y, K)\n{}\n", Z);
  Tensor Wty = matmul(transpose(W, 0, 1), reshape(Y, {4}));
  fmt::print("Z == W^T y: {}\n", allclose(Wty, reshape(Z, {9})));

  // Autograd agrees: the input gradient of conv2d multiplies the output gradient by W^T.
  Tensor x = reshape(arange(9), {1, 1, 3, 3}).set_requires_grad();
  conv2d(x, K).backward(Y);  // output gradient = Y
  fmt::print("x.grad == W^T y: {}\n", allclose(x.grad(), Z));
  // [/doc]
}
