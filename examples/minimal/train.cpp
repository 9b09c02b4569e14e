// The smallest complete training program: a model, a loss, backward() and an optimizer step.
// Two 3x3 convolutions learn the Sobel edge filter from random images.
#include <convgrad/convgrad.h>

using namespace convgrad;

int main() {
  manual_seed(0);
  // The task: y = sobel * x, a fixed filter that responds to vertical edges.
  Tensor sobel = from_vector(std::vector<float>{-1, 0, 1, -2, 0, 2, -1, 0, 1}, {1, 1, 3, 3});

  // The model: conv 3x3 -> ReLU -> conv 3x3, "same" padding so shapes stay 16 x 16.
  auto model = std::make_shared<Sequential>(std::make_shared<Conv2d>(Conv2dOptions(1, 8, 3).padding(1)),
                                            std::make_shared<ReLU>(),
                                            std::make_shared<Conv2d>(Conv2dOptions(8, 1, 3).padding(1)));
  Adam optimizer(model->parameters(), AdamOptions(1e-2));

  float first = 0.f, last = 0.f;
  for (int step = 1; step <= 300; ++step) {
    Tensor x = randn({16, 1, 16, 16});
    Tensor target = conv2d(x, sobel, Tensor(), Conv2dFuncOptions().padding(1));

    Tensor loss = mse_loss(model->forward(x), target);  // forward
    optimizer.zero_grad();
    loss.backward();   // gradients of every parameter
    optimizer.step();  // Adam update

    last = loss.item<float>();
    if (step == 1) first = last;
    if (step % 50 == 0) fmt::print("step {:3}  loss {:.4f}\n", step, last);
  }
  // Trained, the model reproduces the filter: the loss falls to a small fraction of where it started.
  const bool learned = last < 0.02f * first;
  fmt::print("loss {:.4f} -> {:.4f}: {}\n", first, last, learned ? "learned" : "NOT learned");
  return learned ? 0 : 1;
}
