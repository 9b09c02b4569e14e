// Adam and AdamW, following torch 1.13's _single_tensor_adam / _single_tensor_adamw step by step.
#include <algorithm>
#include <cmath>

#include "autograd/grad_mode.h"
#include "core/factory.h"
#include "core/kernels/adam.h"
#include "layers/optim.h"

namespace convgrad {

namespace {

AdamOptions as_adam_options(const AdamWOptions& w) {
  return AdamOptions(w.lr())
      .betas(w.beta1(), w.beta2())
      .eps(w.eps())
      .weight_decay(w.weight_decay())
      .amsgrad(w.amsgrad())
      .maximize(w.maximize());
}
}  // namespace

Adam::Adam(std::vector<Tensor> params, const AdamOptions& options)
    : Adam(std::move(params), options, false, "Adam") {}

Adam::Adam(std::vector<Tensor> params, const AdamOptions& options, bool decoupled, const char* name)
    : Optimizer(std::move(params), options.lr()), options_(options), decoupled_(decoupled), name_(name) {
  const auto& o = options_;
  CONVGRAD_CHECK(o.eps() >= 0, "{}: invalid eps {} (expected >= 0)", name_, o.eps());
  CONVGRAD_CHECK(o.beta1() >= 0 && o.beta1() < 1 && o.beta2() >= 0 && o.beta2() < 1,
                 "{}: invalid betas [{}, {}] (each expected in [0, 1))", name_, o.beta1(), o.beta2());
  CONVGRAD_CHECK(o.weight_decay() >= 0, "{}: invalid weight_decay {} (expected >= 0)", name_,
                 o.weight_decay());
}

AdamW::AdamW(std::vector<Tensor> params, const AdamWOptions& options)
    : Adam(std::move(params), as_adam_options(options), true, "AdamW") {}

std::vector<Optimizer::StateSpec> Adam::state_specs() const {
  std::vector<StateSpec> specs{{"step", true}, {"exp_avg", false}, {"exp_avg_sq", false}};
  if (options_.amsgrad()) specs.push_back({"max_exp_avg_sq", false});
  return specs;
}

void Adam::step() {
  NoGradGuard guard;
  const auto& o = options_;
  const double beta1 = o.beta1(), beta2 = o.beta2();
  // Tensor-scalar ops in ATen apply the scalar as float; adds with alpha are fused multiply-adds.
  const float b1 = static_cast<float>(beta1), b2 = static_cast<float>(beta2);
  const float one_minus_b1 = static_cast<float>(1 - beta1), one_minus_b2 = static_cast<float>(1 - beta2);
  const float wd = static_cast<float>(o.weight_decay()), eps = static_cast<float>(o.eps());
  const float decay = static_cast<float>(1 - lr_ * o.weight_decay());
  for (size_t i : params_with_grad(name_)) {
    Tensor g = grad_of(i);
    const Shape& shape = params_[i].shape();
    Tensor& step_t = state(i, "step");
    Tensor& m_t = state(i, "exp_avg");
    Tensor& v_t = state(i, "exp_avg_sq");
    if (!step_t.defined()) {  // lazy state, as PyTorch creates it on the first step
      step_t = from_vector(std::vector<int64_t>{0}, {});
      m_t = zeros(shape);
      v_t = zeros(shape);
      if (o.amsgrad()) state(i, "max_exp_avg_sq") = zeros(shape);
    }
    // In-place writes to the parameter and its state (a tensor saved for backward may no longer be used).
    const char* writer = decoupled_ ? "AdamW::step" : "Adam::step";
    for (const Tensor* t : {&params_[i], &step_t, &m_t, &v_t}) t->bump_version(writer);
    if (o.amsgrad()) state(i, "max_exp_avg_sq").bump_version(writer);
    int64_t step = ++step_t.data<int64_t>()[0];
    float* p = params_[i].data<float>();
    float *m = m_t.data<float>(), *v = v_t.data<float>();
    float* vmax = o.amsgrad() ? state(i, "max_exp_avg_sq").data<float>() : nullptr;
    const float* gp = g.data<float>();
    const int64_t n = params_[i].numel();

    const double bias_correction1 = 1 - std::pow(beta1, static_cast<double>(step));
    const double bias_correction2 = 1 - std::pow(beta2, static_cast<double>(step));
    const kernels::AdamScalars c{b1,
                                 b2,
                                 one_minus_b1,
                                 one_minus_b2,
                                 wd,
                                 eps,
                                 decay,
                                 static_cast<float>(-(lr_ / bias_correction1)),
                                 static_cast<float>(std::sqrt(bias_correction2))};
    const kernels::AdamVariant variant{o.maximize(), decoupled_, !decoupled_ && o.weight_decay() != 0,
                                       o.amsgrad()};
    kernels::adam_update(c, variant, p, gp, m, v, vmax, n);
  }
  ++step_count_;
}

}  // namespace convgrad
