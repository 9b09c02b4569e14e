// Built against the installed package: a convolution and its backward pass, checked against values
// worked out by hand; exits 1 on any difference.
#include <convgrad/convgrad.h>

#include <cstdio>

int main() {
  using namespace convgrad;
  // x = 0..15 as a 4x4 image, a 2x2 kernel of ones: each output is the sum of a 2x2 window,
  // y[i][j] = x[i][j] + x[i][j+1] + x[i+4][j] + x[i+4][j+1] (flat index), e.g. y[0][0] = 0 + 1 + 4 + 5 = 10.
  Tensor x = reshape(arange(16), {1, 1, 4, 4}).detach().set_requires_grad();
  Tensor w = ones({1, 1, 2, 2}).set_requires_grad();
  Tensor y = conv2d(x, w);
  sum(y).backward();
  // d sum(y) / d w[a][b] = the sum of the 3x3 block of x starting at (a, b); d / dx = how many windows hold
  // x.
  const float y00 = y.at({0, 0, 0, 0}), y22 = y.at({0, 0, 2, 2});
  const float dw00 = w.grad().at({0, 0, 0, 0}), dw11 = w.grad().at({0, 0, 1, 1});
  const float dx_corner = x.grad().at({0, 0, 0, 0}), dx_centre = x.grad().at({0, 0, 1, 1});
  std::printf("y[0][0] = %g, y[2][2] = %g, dw[0][0] = %g, dw[1][1] = %g, dx corner %g, centre %g\n", y00, y22,
              dw00, dw11, dx_corner, dx_centre);
  const bool ok = y.shape() == Shape{1, 1, 3, 3} && y00 == 10.f && y22 == 50.f && dw00 == 45.f &&
                  dw11 == 90.f && dx_corner == 1.f && dx_centre == 4.f;
  return ok ? 0 : 1;
}
