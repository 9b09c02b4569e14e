#include "autograd/gradcheck.h"

#include <algorithm>
#include <cmath>

#include "autograd/grad_mode.h"
#include "autograd/node.h"
#include "autograd/ops_math.h"
#include "autograd/ops_reduce.h"
#include "core/factory.h"
#include "core/random.h"

namespace convgrad {

namespace {
// <v, f(inputs)> in float64, with no graph recorded.
double projected(const std::function<Tensor(const std::vector<Tensor>&)>& fn,
                 const std::vector<Tensor>& inputs, const std::vector<float>& v) {
  NoGradGuard guard;
  auto out = fn(inputs).to_vector<double>();
  double s = 0.0;
  for (size_t j = 0; j < out.size(); ++j) s += static_cast<double>(v[j]) * out[j];
  return s;
}
}  // namespace

GradcheckResult gradcheck(const std::function<Tensor(const std::vector<Tensor>&)>& fn,
                          const std::vector<Tensor>& inputs, const GradcheckOptions& options) {
  for (size_t i = 0; i < inputs.size(); ++i) {
    const Tensor& t = inputs[i];
    CONVGRAD_CHECK(t.defined(), "gradcheck: input {} is undefined", i);
    CONVGRAD_CHECK(!t.requires_grad() || (t.is_leaf() && t.is_contiguous() && t.dtype() == DType::Float32),
                   "gradcheck: input {} (shape {}) must be a contiguous float32 leaf to be perturbed", i,
                   shape_str(t.shape()));
    if (t.requires_grad()) t.set_grad(Tensor());
  }
  // Analytic: one backward of the projection v.
  Tensor out = fn(inputs);
  CONVGRAD_CHECK(out.requires_grad(),
                 "gradcheck: the function's output (shape {}) does not depend on any input that "
                 "requires grad",
                 shape_str(out.shape()));
  Generator gen(options.seed);
  Tensor v = uniform(out.shape(), -1.f, 1.f, gen);
  std::vector<float> vv = v.to_vector();
  out.backward(v);

  GradcheckResult result;
  result.max_error = -INFINITY;
  for (size_t i = 0; i < inputs.size(); ++i) {
    const Tensor& t = inputs[i];
    if (!t.requires_grad()) continue;
    Tensor g = t.grad();
    std::vector<double> analytic = g.defined() ? g.to_vector<double>() : std::vector<double>(t.numel(), 0.0);
    float* p = t.data<float>();
    for (int64_t e = 0; e < t.numel(); ++e) {
      // Numeric: central difference of the projection around element e.
      float saved = p[e];
      p[e] = static_cast<float>(saved + options.eps);
      double plus = projected(fn, inputs, vv);
      p[e] = static_cast<float>(saved - options.eps);
      double minus = projected(fn, inputs, vv);
      p[e] = saved;
      double numeric = (plus - minus) / (2.0 * options.eps);
      double err = std::abs(analytic[e] - numeric) - options.rtol * std::abs(numeric);
      if (std::isnan(err)) err = INFINITY;  // a NaN gradient or difference fails
      if (err > result.max_error) {
        result.max_error = err;
        result.report = fmt::format("input {} (shape {}), element {}: analytic {:.6g}, numeric {:.6g}", i,
                                    shape_str(t.shape()), e, analytic[e], numeric);
      }
      if (!(err <= options.atol)) result.ok = false;
    }
    t.set_grad(Tensor());
  }
  result.report =
      fmt::format("gradcheck {}: worst at {} (atol {}, rtol {}, eps {})", result.ok ? "passed" : "FAILED",
                  result.report, options.atol, options.rtol, options.eps);
  return result;
}

GradcheckResult gradgradcheck(const std::function<Tensor(const std::vector<Tensor>&)>& fn,
                              const std::vector<Tensor>& inputs, const GradcheckOptions& options) {
  std::vector<size_t> wrt;  // the inputs differentiated in the first order
  for (size_t i = 0; i < inputs.size(); ++i)
    if (inputs[i].defined() && inputs[i].requires_grad()) wrt.push_back(i);
  CONVGRAD_CHECK(!wrt.empty(), "gradgradcheck: no input requires grad");
  Tensor out = fn(inputs);
  CONVGRAD_CHECK(out.requires_grad(),
                 "gradgradcheck: the function's output (shape {}) does not depend on any input "
                 "that requires grad",
                 shape_str(out.shape()));
  Generator gen(options.seed + 1);
  // v: the output weights of the first order (checked too); u: projections of its gradients.
  Tensor v = uniform(out.shape(), -1.f, 1.f, gen).set_requires_grad();
  std::vector<Tensor> u;
  for (size_t i : wrt) u.push_back(uniform(inputs[i].shape(), -1.f, 1.f, gen));
  // sum_i <u_i, d<v, fn(inputs)>/d inputs_i>, recorded (gradcheck evaluates it under no-grad too).
  auto first_order = [&](const std::vector<Tensor>& all) {
    AutoGradMode recording(true);
    std::vector<Tensor> xs(all.begin(), all.end() - 1), targets;
    for (size_t i : wrt) targets.push_back(xs[i]);
    std::vector<Tensor> gs = grad({fn(xs)}, targets, {all.back()}, true, true, true);
    Tensor total = zeros({});
    for (size_t j = 0; j < gs.size(); ++j)
      if (gs[j].defined()) total = total + sum(gs[j] * u[j]);
    return total;
  };
  // The recorded first-order gradients must equal the ordinary (kernel) ones: finite differences of the
  // recorded rule alone would accept a wrong rule differentiated consistently.
  std::vector<Tensor> targets;
  for (size_t i : wrt) targets.push_back(inputs[i]);
  std::vector<Tensor> plain = grad({fn(inputs)}, targets, {v.detach()}, false, false, true);
  std::vector<Tensor> recorded = grad({fn(inputs)}, targets, {v.detach()}, true, true, true);
  for (size_t j = 0; j < targets.size(); ++j) {
    std::vector<double> a = recorded[j].defined() ? recorded[j].to_vector<double>() : std::vector<double>(),
                        b = plain[j].defined() ? plain[j].to_vector<double>() : std::vector<double>();
    for (size_t e = 0; e < std::max(a.size(), b.size()); ++e) {
      const double x = e < a.size() ? a[e] : 0.0, y = e < b.size() ? b[e] : 0.0;
      if (!(std::abs(x - y) <= options.atol + options.rtol * std::abs(y))) {
        GradcheckResult r;
        r.ok = false;
        r.max_error = std::isnan(x - y) ? INFINITY : std::abs(x - y);
        r.report = fmt::format(
            "gradgradcheck FAILED: with create_graph the gradient of input {} (shape {}), "
            "element {}, is {:.6g}; without it {:.6g}",
            wrt[j], shape_str(targets[j].shape()), e, x, y);
        return r;
      }
    }
  }
  std::vector<Tensor> all = inputs;
  all.push_back(v);
  GradcheckResult r = gradcheck(first_order, all, options);
  r.report = "grad" + r.report + fmt::format(" (input {} is the output weights v)", inputs.size());
  return r;
}

}  // namespace convgrad
