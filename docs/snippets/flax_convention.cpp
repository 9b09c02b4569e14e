// Why Flax prints different numbers: its ConvTranspose correlates with the unflipped kernel.
#include <convgrad/convgrad.h>

#include <vector>

using namespace convgrad;

// [doc:recipe]
// Zero insertion: a stride-s transposed convolution of one channel with a 1 x 1 kernel of ones
// puts s - 1 zeros between neighbouring pixels.
Tensor dilate(const Tensor& x, int64_t s) {
  return conv_transpose2d(x, ones({1, 1, 1, 1}), Tensor(), ConvTranspose2dFuncOptions().stride(s));
}

// Flax's nn.ConvTranspose with its default transpose_kernel=False: dilate the input by the
// stride, pad it ({left, right, top, bottom}), correlate with the kernel as stored.
Tensor flax_conv_transpose(const Tensor& x, const Tensor& k, int64_t stride,
                           const std::vector<int64_t>& pads) {
  return conv2d(pad(dilate(x, stride), pads), k);
}
// [/doc]

int main() {
  Tensor X = reshape(tensor({{0, 1}, {2, 3}}), {1, 1, 2, 2});
  Tensor K = reshape(tensor({{0, 1}, {2, 3}}), {1, 1, 2, 2});
  // [doc:use]
  // Flax's default padding 'SAME' pads the dilated input by (1, 0) for k = 2, s = 1.
  fmt::print("{}\n", flax_conv_transpose(X, K, 1, {1, 0, 1, 0}));
  // PyTorch's padding=1 crops the output; in Flax it is explicit padding k - 1 - p = 0.
  fmt::print("{}\n", flax_conv_transpose(X, K, 1, {0, 0, 0, 0}));
  // Stride 2 with 'SAME' pads by (1, 1).
  fmt::print("{}\n", flax_conv_transpose(X, K, 2, {1, 1, 1, 1}));

  // Rotate the kernel by 180 degrees (Flax's transpose_kernel=True), pad k - 1 - p on each
  // side, and the recipe gives PyTorch's conv_transpose2d.
  Tensor K_rot = reshape(tensor({{3, 2}, {1, 0}}), {1, 1, 2, 2});
  Tensor torch_like = flax_conv_transpose(X, K_rot, 2, {1, 1, 1, 1});
  auto stride2 = ConvTranspose2dFuncOptions().stride(2);
  fmt::print("{}\n", allclose(torch_like, conv_transpose2d(X, K, Tensor(), stride2)));
  // [/doc]
}
