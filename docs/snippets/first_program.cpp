// A first convgrad program: a tensor, a convolution, and gradients from backward().
#include <convgrad/convgrad.h>

using namespace convgrad;

int main() {
  // One 1-channel 4 x 4 image (batch, channels, height, width) and one 3 x 3 filter of ones.
  Tensor x = reshape(arange(16), {1, 1, 4, 4}).set_requires_grad();
  Tensor w = ones({1, 1, 3, 3}).set_requires_grad();

  Tensor y = conv2d(x, w);  // (1, 1, 2, 2): the sum of each 3 x 3 window
  Tensor loss = sum(y);
  loss.backward();  // fills x.grad() and w.grad()

  fmt::print("y = conv2d(x, w)\n{}\n", y);
  fmt::print("loss = {}\n", loss.item());
  fmt::print("dloss/dx: how many windows cover each pixel\n{}\n", x.grad());
  fmt::print("dloss/dw: the sum of the pixels each weight touches\n{}\n", w.grad());
}
