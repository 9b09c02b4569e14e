// Ops linear in one input, recorded with their adjoint so they differentiate to any order: pooling by
// averages, resampling, padding, pixel shuffles.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "core/tensor.h"

namespace convgrad::detail {

/// A linear map on tensors (a kernel call) and its adjoint (transpose): <map(x), y> = <x, adjoint(y)>.
struct LinearPair {
  std::function<Tensor(const Tensor&)> map, adjoint;
};

/// Records `y` = pair.map(x), computed by the caller, as op `name`. Its gradient is adjoint(g), recorded the
/// same way under create_graph (as "<name>_backward", whose gradient is map again), so the op has a double
/// backward at every order. Without create_graph the closure is one adjoint kernel call.
Tensor linear_result(Tensor y, const Tensor& x, const std::string& name,
                     std::shared_ptr<const LinearPair> pair, bool transposed = false);

}  // namespace convgrad::detail
