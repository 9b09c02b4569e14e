#include "layers/linear.h"

#include <cmath>

#include "autograd/autocast.h"
#include "autograd/ops.h"
#include "core/factory.h"
#include "layers/init.h"

namespace convgrad {

Linear::Linear(const LinearOptions& options, Generator& gen) : options_(options) {
  CONVGRAD_CHECK(options.in_features() > 0 && options.out_features() > 0,
                 "Linear: in_features ({}) and out_features ({}) must be positive", options.in_features(),
                 options.out_features());
  weight = register_parameter("weight", empty({options.out_features(), options.in_features()}));
  if (options.bias()) bias = register_parameter("bias", empty({options.out_features()}));
  reset_parameters(gen);
}

void Linear::reset_parameters(Generator& gen) {
  init::kaiming_uniform_(weight, std::sqrt(5.0), init::FanMode::FanIn, init::Nonlinearity::LeakyReLU, gen);
  if (bias.defined()) {
    double bound = 1.0 / std::sqrt(static_cast<double>(options_.in_features()));
    init::uniform_(bias, -bound, bound, gen);
  }
}

Tensor Linear::forward(const Tensor& x) {
  CONVGRAD_CHECK(
      x.dim() >= 1 && x.size(-1) == options_.in_features(),
      "Linear: expected input of shape (..., {}), got {}; the last dimension must equal in_features "
      "(flatten conv features first, e.g. with Flatten)",
      options_.in_features(), shape_str(x.shape()));
  // Fold leading dims into one so the product is a single 2-D matmul, then restore them.
  Shape out_shape = x.shape();
  out_shape.back() = options_.out_features();
  Tensor x2 = x.dim() == 2 ? x : reshape(x, {-1, options_.in_features()});
  Tensor y = matmul(x2, transpose(weight, 0, 1));
  // Under autocast the bias is rounded to bfloat16 like the other operands (PyTorch's addmm).
  if (bias.defined()) y = y + (is_autocast_enabled() ? detail::autocast_input(bias) : bias);
  return x.dim() == 2 ? y : reshape(y, out_shape);
}

std::string Linear::extra_repr() const {
  return fmt::format("in_features={}, out_features={}, bias={}", options_.in_features(),
                     options_.out_features(), options_.bias() ? "True" : "False");
}

}  // namespace convgrad
