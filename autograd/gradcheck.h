// gradcheck: compares backward() with central finite differences, for users' own ops and layers.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "core/tensor.h"

namespace convgrad {

/// Tolerances and step of gradcheck. Tensors are float32, so the defaults are float32-sized.
struct GradcheckOptions {
  double eps = 1e-3;   ///< finite-difference step
  double atol = 1e-3;  ///< absolute tolerance
  double rtol = 1e-2;  ///< relative tolerance (to the numerical value)
  uint64_t seed = 0;   ///< seed of the random output projection
};

/// What gradcheck found: ok, the worst element, and a readable report.
struct GradcheckResult {
  bool ok = true;
  double max_error = 0.0;  ///< largest |analytic - numeric| - rtol * |numeric| seen
  std::string report;      ///< names the worst input, element, and both values
};

/// Checks the gradients of `fn` with respect to every input that requires grad: backward of a random
/// projection <v, fn(inputs)> against central differences accumulated in float64.
GradcheckResult gradcheck(const std::function<Tensor(const std::vector<Tensor>&)>& fn,
                          const std::vector<Tensor>& inputs, const GradcheckOptions& options = {});

/// Checks second derivatives (torch.autograd.gradgradcheck). First, the first-order gradients of
/// <v, fn(inputs)> taken with create_graph must equal those taken without (the plain backward, which
/// gradcheck covers). Then those recorded gradients are projected on random tensors u, and gradcheck compares
/// the backward of that projection with finite differences, with respect to every input that requires grad
/// and to v itself. Fails (never passes silently) when an op on the way has no double backward: grad()
/// throws.
GradcheckResult gradgradcheck(const std::function<Tensor(const std::vector<Tensor>&)>& fn,
                              const std::vector<Tensor>& inputs, const GradcheckOptions& options = {});

}  // namespace convgrad
