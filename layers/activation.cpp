#include "layers/activation.h"

#include "autograd/ops_math.h"

namespace convgrad {

Tensor ReLU::forward(const Tensor& x) { return relu(x); }

Tensor LeakyReLU::forward(const Tensor& x) { return leaky_relu(x, options_.negative_slope()); }

std::string LeakyReLU::extra_repr() const { return fmt::format("negative_slope={}", options_.negative_slope()); }

Tensor Sigmoid::forward(const Tensor& x) { return sigmoid(x); }

Tensor Tanh::forward(const Tensor& x) { return tanh(x); }

}  // namespace convgrad
