// Autocast: mixed precision in a scope, PyTorch's torch.autocast("cpu", dtype=torch.bfloat16).
//
// While an AutocastGuard lives on a thread, conv2d, conv_transpose2d and matmul (so Linear) on that
// thread compute in bfloat16: their float32 inputs are rounded to bfloat16 (round to nearest, ties to
// even) and the products accumulated in float32, and in backward the incoming gradient is rounded to
// bfloat16 before the gradient kernels read it. Every other op (elementwise, reductions, softmax,
// losses, batch-norm, the optimizer) runs in float32 as outside the guard. Tensors stay float32 in and
// out: parameters and their gradients are float32 (master weights), and so are the outputs, which carry
// the float32 accumulation unrounded (PyTorch returns bfloat16 outputs; see docs/mixed-precision.md).
#pragma once

#include <cstddef>

#include "core/tensor.h"

namespace convgrad {

/// RAII: autocast on (or off, with enabled = false) for this thread while it lives; the previous state
/// comes back at its end, so guards nest. `dtype` must be DType::BFloat16, the one lower precision
/// convgrad computes in. Within the outermost guard the bfloat16 copy of a leaf that requires grad (a
/// parameter) is made once per storage version and reused (dropped when that guard ends).
class AutocastGuard {
 public:
  explicit AutocastGuard(DType dtype = DType::BFloat16, bool enabled = true);
  ~AutocastGuard();
  AutocastGuard(const AutocastGuard&) = delete;
  AutocastGuard& operator=(const AutocastGuard&) = delete;

 private:
  bool previous_;
};

/// Whether autocast is on for this thread (torch.is_autocast_cpu_enabled()).
bool is_autocast_enabled();

namespace detail {

/// `t` rounded to bfloat16 (as float32 values), as a differentiable op whose gradient passes through
/// unchanged (the float32 leaf gets a float32 gradient). A leaf that requires grad is rounded once per
/// storage version within the outermost AutocastGuard.
Tensor autocast_input(const Tensor& t);
/// `y` itself as a differentiable op that rounds the gradient flowing back through it to bfloat16:
/// the gradient a bfloat16 op receives.
Tensor autocast_output(const Tensor& y);
/// Number of cached bfloat16 copies on this thread (for tests), and how many lookups reused one.
struct AutocastCacheStats {
  std::size_t entries = 0, hits = 0;
};
AutocastCacheStats autocast_cache_stats();

}  // namespace detail

}  // namespace convgrad
