// d2l 14.10.2: stride 2 spaces the scattered kernels two apart.
#include <convgrad/convgrad.h>

using namespace convgrad;

int main() {
  Tensor X = reshape(tensor({{0, 1}, {2, 3}}), {1, 1, 2, 2});
  Tensor K = reshape(tensor({{0, 1}, {2, 3}}), {1, 1, 2, 2});
  // [doc:use]
  auto options = ConvTranspose2dFuncOptions().stride(2);
  fmt::print("{}\n", conv_transpose2d(X, K, Tensor(), options));
  // [/doc]
}
