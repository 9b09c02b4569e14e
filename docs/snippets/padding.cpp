// d2l 14.10.2: padding crops the output of a transposed convolution.
#include <convgrad/convgrad.h>

using namespace convgrad;

int main() {
  Tensor X = reshape(tensor({{0, 1}, {2, 3}}), {1, 1, 2, 2});
  Tensor K = reshape(tensor({{0, 1}, {2, 3}}), {1, 1, 2, 2});
  // [doc:use]
  auto options = ConvTranspose2dFuncOptions().padding(1);
  fmt::print("{}\n", conv_transpose2d(X, K, Tensor(), options));
  // [/doc]
}
