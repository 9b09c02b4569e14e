#include "layers/dropout.h"

#include "autograd/ops_nn.h"

namespace convgrad {

Dropout::Dropout(const DropoutOptions& options) : options_(options) {
  CONVGRAD_CHECK(options.p() >= 0.f && options.p() <= 1.f, "Dropout: p must be in [0, 1], got {}",
                 options.p());
}

Tensor Dropout::forward(const Tensor& x) {
  return dropout(x, options_.p(), is_training(), gen_ ? *gen_ : default_generator());
}

std::string Dropout::extra_repr() const { return fmt::format("p={}", options_.p()); }

}  // namespace convgrad
