// The loss modules: each forwards to its loss function (autograd/ops_loss.h) with its options.
#include "layers/loss.h"

#include <fmt/format.h>

namespace convgrad {

Tensor L1Loss::forward(const Tensor& input, const Tensor& target) {
  return l1_loss(input, target, options_.reduction());
}

std::string L1Loss::extra_repr() const {
  return fmt::format("reduction='{}'", reduction_name(options_.reduction()));
}

Tensor SmoothL1Loss::forward(const Tensor& input, const Tensor& target) {
  return smooth_l1_loss(input, target, options_.reduction(), options_.beta());
}

std::string SmoothL1Loss::extra_repr() const {
  return fmt::format("reduction='{}', beta={}", reduction_name(options_.reduction()), options_.beta());
}

}  // namespace convgrad
