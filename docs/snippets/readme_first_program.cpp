// README.md: a first program — a learned x2 upsampling and its gradients.
// [doc:program]
#include <convgrad/convgrad.h>
using namespace convgrad;

int main() {
  Tensor x = randn({1, 3, 8, 8}).set_requires_grad();
  auto up = std::make_shared<ConvTranspose2d>(ConvTranspose2dOptions(3, 3, 4).stride(2).padding(1));
  Tensor y = up->forward(x);  // (1, 3, 16, 16)
  sum(mul(y, y)).backward();
  fmt::print("{} {}\n", shape_str(y.shape()), shape_str(up->weight.grad().shape()));
}
// [/doc]
