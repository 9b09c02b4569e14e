// Built against the installed package: a convolution, a backward pass, one printed gradient.
#include <convgrad/convgrad.h>

#include <cstdio>

int main() {
  using namespace convgrad;
  Tensor x = arange(16).set_requires_grad();
  Tensor y = sum(mul(x, x));
  y.backward();
  // d/dx sum(x^2) = 2x, so the gradient at element 3 is 6.
  std::printf("grad[3] = %g\n", x.grad().at({3}));
  return x.grad().at({3}) == 6.f ? 0 : 1;
}
