#include "layers/clip_grad.h"

#include <algorithm>
#include <cmath>

#include "core/factory.h"

namespace convgrad {

namespace {

// sum |g|^p (or max |g| for p = inf) over one gradient, in double.
double accumulate(const Tensor& g, double p) {
  Tensor c = g.is_contiguous() ? g : clone_data(g);
  const float* d = c.data<float>();
  const int64_t n = c.numel();
  double acc = 0.0;
  for (int64_t i = 0; i < n; ++i) {
    const double a = std::fabs(static_cast<double>(d[i]));
    if (std::isinf(p)) {
      acc = (a > acc || std::isnan(a)) ? a : acc;
    } else if (p == 2.0) {
      acc += a * a;
    } else if (p == 1.0) {
      acc += a;
    } else {
      acc += std::pow(a, p);
    }
  }
  return acc;
}

}  // namespace

double clip_grad_norm_(const std::vector<Tensor>& parameters, double max_norm, double norm_type,
                       bool error_if_nonfinite) {
  CONVGRAD_CHECK(norm_type > 0.0, "clip_grad_norm_: norm_type must be positive (or INFINITY), got {}",
                 norm_type);
  CONVGRAD_CHECK(!std::isnan(max_norm), "clip_grad_norm_: max_norm is NaN");
  std::vector<Tensor> grads;
  for (const Tensor& p : parameters) {
    CONVGRAD_CHECK(p.defined(), "clip_grad_norm_: a parameter is an undefined tensor");
    Tensor g = p.grad();
    if (!g.defined()) continue;
    CONVGRAD_CHECK(g.dtype() == DType::Float32,
                   "clip_grad_norm_: gradients must be float32, got {} of shape {}", dtype_name(g.dtype()),
                   shape_str(g.shape()));
    grads.push_back(g);
  }
  if (grads.empty()) return 0.0;
  const bool inf = std::isinf(norm_type);
  double acc = 0.0;
  for (const Tensor& g : grads) {
    const double a = accumulate(g, norm_type);
    acc = inf ? ((a > acc || std::isnan(a)) ? a : acc) : acc + a;
  }
  // PyTorch computes the total in float32; so does the coefficient below.
  const float total = static_cast<float>(inf                ? acc
                                         : norm_type == 2.0 ? std::sqrt(acc)
                                         : norm_type == 1.0 ? acc
                                                            : std::pow(acc, 1.0 / norm_type));
  CONVGRAD_CHECK(
      !error_if_nonfinite || std::isfinite(total),
      "clip_grad_norm_: the total norm of order {} of the gradients is non-finite ({}), so it cannot be "
      "clipped; pass error_if_nonfinite = false to scale the gradients by it anyway",
      norm_type, total);
  const float coef = std::min(static_cast<float>(max_norm) / (total + 1e-6f), 1.f);
  for (Tensor& g : grads) {
    if (g.is_contiguous()) {
      g.bump_version("clip_grad_norm_");
      float* d = g.data<float>();
      for (int64_t i = 0, n = g.numel(); i < n; ++i) d[i] *= coef;
    } else {
      Tensor c = clone_data(g);
      float* d = c.data<float>();
      for (int64_t i = 0, n = c.numel(); i < n; ++i) d[i] *= coef;
      // Not contiguous: the scaled copy replaces the gradient (a view cannot be written in place here).
      for (const Tensor& p : parameters)
        if (p.grad().defined() && p.grad().is_same(g)) p.set_grad(c);
    }
  }
  return static_cast<double>(total);
}

}  // namespace convgrad
