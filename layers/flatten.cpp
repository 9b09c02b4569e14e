#include "layers/flatten.h"

#include "autograd/ops_shape.h"

namespace convgrad {

Tensor Flatten::forward(const Tensor& x) { return flatten(x, options_.start_dim(), options_.end_dim()); }

std::string Flatten::extra_repr() const {
  return fmt::format("start_dim={}, end_dim={}", options_.start_dim(), options_.end_dim());
}

}  // namespace convgrad
