// d2l 14.10.2: with matching hyperparameters, ConvTranspose2d undoes Conv2d's change of shape.
#include <convgrad/convgrad.h>

using namespace convgrad;

int main() {
  // [doc:use]
  Tensor X = rand({1, 10, 16, 16});
  Conv2d conv(Conv2dOptions(10, 20, 5).padding(2).stride(3));
  ConvTranspose2d tconv(ConvTranspose2dOptions(20, 10, 5).padding(2).stride(3));

  Tensor Y = conv(X);
  fmt::print("conv(X):        {}\n", shape_str(Y.shape()));
  fmt::print("tconv(conv(X)): {}\n", shape_str(tconv(Y).shape()));
  fmt::print("same shape as X: {}\n", tconv(Y).shape() == X.shape());
  // [/doc]
}
