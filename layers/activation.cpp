#include "layers/activation.h"

#include "autograd/ops_activation.h"
#include "autograd/ops_math.h"
#include "core/factory.h"

namespace convgrad {

Tensor ReLU::forward(const Tensor& x) { return relu(x); }

Tensor LeakyReLU::forward(const Tensor& x) { return leaky_relu(x, options_.negative_slope()); }

std::string LeakyReLU::extra_repr() const {
  return fmt::format("negative_slope={}", options_.negative_slope());
}

PReLU::PReLU(const PReLUOptions& options) : options_(options) {
  CONVGRAD_CHECK(options.num_parameters() > 0, "PReLU: num_parameters must be positive, got {}",
                 options.num_parameters());
  weight = register_parameter("weight", full({options.num_parameters()}, options.init()));
}

Tensor PReLU::forward(const Tensor& x) { return prelu(x, weight); }

std::string PReLU::extra_repr() const { return fmt::format("num_parameters={}", options_.num_parameters()); }

Tensor Sigmoid::forward(const Tensor& x) { return sigmoid(x); }

Tensor Tanh::forward(const Tensor& x) { return tanh(x); }

}  // namespace convgrad
