// Adam and AdamW, following torch 1.13's _single_tensor_adam / _single_tensor_adamw step by step.
#include <algorithm>
#include <cmath>

#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
#endif

#include "autograd/grad_mode.h"
#include "core/factory.h"
#include "core/kernels/elementwise.h"
#include "layers/optim.h"

namespace convgrad {

namespace {

// The scalars of one parameter's update.
struct AdamScalars {
  float b1, b2, one_minus_b1, one_minus_b2, wd, eps, decay, neg_step_size, bc2_sqrt;
};

// Elements [k0, k1) of one parameter's update, torch 1.13's _single_tensor_adam(w) op by op, each op rounded
// on its own as PyTorch's separate tensor ops are. The variants are template flags so the loop has no
// branches. With AVX2 + FMA eight elements go at a time through intrinsics (GCC will not vectorise std::sqrt
// while it may set errno, and would contract p * decay + step into one fma in plain code); the last few go
// through the same code in a padded copy, so every element rounds identically.
template <bool kMaximize, bool kDecoupled, bool kDecay, bool kAmsgrad>
void adam_range(const AdamScalars& c, float* __restrict p, const float* __restrict gp, float* __restrict m,
                float* __restrict v, float* __restrict vmax, int64_t k0, int64_t k1) {
#if defined(__AVX2__) && defined(__FMA__)
  const __m256 b1 = _mm256_set1_ps(c.b1), b2 = _mm256_set1_ps(c.b2), omb1 = _mm256_set1_ps(c.one_minus_b1),
               omb2 = _mm256_set1_ps(c.one_minus_b2), wd = _mm256_set1_ps(c.wd), eps = _mm256_set1_ps(c.eps),
               decay = _mm256_set1_ps(c.decay), nss = _mm256_set1_ps(c.neg_step_size),
               bc2 = _mm256_set1_ps(c.bc2_sqrt), sign = _mm256_set1_ps(-0.f);
  auto eight = [&](float* pp, const float* pg, float* pm, float* pv, float* px) {
    __m256 gk = _mm256_loadu_ps(pg), pk = _mm256_loadu_ps(pp);
    if constexpr (kMaximize) gk = _mm256_xor_ps(gk, sign);
    if constexpr (kDecoupled) {
      pk = _mm256_mul_ps(pk, decay);  // AdamW: param.mul_(1 - lr * weight_decay)
    } else if constexpr (kDecay) {
      gk = _mm256_fmadd_ps(wd, pk, gk);  // Adam: grad.add(param, alpha=weight_decay)
    }
    const __m256 mk = _mm256_fmadd_ps(omb1, gk, _mm256_mul_ps(_mm256_loadu_ps(pm), b1));  // m * beta1 + (1 - beta1) g
    // addcmul_: self * beta2 + value * t1 * t2, the add fused as ATen's vectorised kernel does
    const __m256 vk = _mm256_fmadd_ps(_mm256_loadu_ps(pv), b2, _mm256_mul_ps(_mm256_mul_ps(omb2, gk), gk));
    _mm256_storeu_ps(pm, mk);
    _mm256_storeu_ps(pv, vk);
    __m256 second = vk;
    if constexpr (kAmsgrad) {
      const __m256 old = _mm256_loadu_ps(px);  // std::max(old, v) = old < v ? v : old
      second = _mm256_blendv_ps(old, vk, _mm256_cmp_ps(old, vk, _CMP_LT_OQ));
      _mm256_storeu_ps(px, second);
    }
    const __m256 denom = _mm256_add_ps(_mm256_div_ps(_mm256_sqrt_ps(second), bc2), eps);
    _mm256_storeu_ps(pp, _mm256_add_ps(pk, _mm256_div_ps(_mm256_mul_ps(nss, mk), denom)));  // addcdiv_
  };
  int64_t k = k0;
  for (; k + 8 <= k1; k += 8) eight(p + k, gp + k, m + k, v + k, kAmsgrad ? vmax + k : nullptr);
  if (k < k1) {
    const int64_t n = k1 - k;
    float tp[8] = {}, tg[8] = {}, tm[8] = {}, tv[8] = {}, tx[8] = {};
    std::copy(p + k, p + k1, tp);
    std::copy(gp + k, gp + k1, tg);
    std::copy(m + k, m + k1, tm);
    std::copy(v + k, v + k1, tv);
    if (kAmsgrad) std::copy(vmax + k, vmax + k1, tx);
    eight(tp, tg, tm, tv, tx);
    std::copy(tp, tp + n, p + k);
    std::copy(tm, tm + n, m + k);
    std::copy(tv, tv + n, v + k);
    if (kAmsgrad) std::copy(tx, tx + n, vmax + k);
  }
#else
  for (int64_t k = k0; k < k1; ++k) {
    float gk = kMaximize ? -gp[k] : gp[k];
    if constexpr (kDecoupled) {
      p[k] *= c.decay;  // AdamW: param.mul_(1 - lr * weight_decay)
    } else if constexpr (kDecay) {
      gk = std::fma(c.wd, p[k], gk);  // Adam: grad.add(param, alpha=weight_decay)
    }
    m[k] = std::fma(c.one_minus_b1, gk, m[k] * c.b1);
    v[k] = std::fma(v[k], c.b2, c.one_minus_b2 * gk * gk);  // addcmul_: self + value * t1 * t2
    float second = v[k];
    if constexpr (kAmsgrad) second = vmax[k] = std::max(vmax[k], v[k]);
    float denom = std::sqrt(second) / c.bc2_sqrt + c.eps;
    p[k] = p[k] + c.neg_step_size * m[k] / denom;  // addcdiv_: self + value * t1 / t2
  }
#endif
}

using AdamRangeFn = void (*)(const AdamScalars&, float*, const float*, float*, float*, float*, int64_t, int64_t);

template <bool A, bool B, bool C>
AdamRangeFn pick4(bool amsgrad) {
  return amsgrad ? &adam_range<A, B, C, true> : &adam_range<A, B, C, false>;
}
template <bool A, bool B>
AdamRangeFn pick3(bool decay, bool amsgrad) {
  return decay ? pick4<A, B, true>(amsgrad) : pick4<A, B, false>(amsgrad);
}
template <bool A>
AdamRangeFn pick2(bool decoupled, bool decay, bool amsgrad) {
  return decoupled ? pick3<A, true>(decay, amsgrad) : pick3<A, false>(decay, amsgrad);
}
AdamRangeFn pick(bool maximize, bool decoupled, bool decay, bool amsgrad) {
  return maximize ? pick2<true>(decoupled, decay, amsgrad) : pick2<false>(decoupled, decay, amsgrad);
}

AdamOptions as_adam_options(const AdamWOptions& w) {
  return AdamOptions(w.lr())
      .betas(w.beta1(), w.beta2())
      .eps(w.eps())
      .weight_decay(w.weight_decay())
      .amsgrad(w.amsgrad())
      .maximize(w.maximize());
}
}  // namespace

Adam::Adam(std::vector<Tensor> params, const AdamOptions& options) : Adam(std::move(params), options, false, "Adam") {}

Adam::Adam(std::vector<Tensor> params, const AdamOptions& options, bool decoupled, const char* name)
    : Optimizer(std::move(params), options.lr()), options_(options), decoupled_(decoupled), name_(name) {
  const auto& o = options_;
  check(o.eps() >= 0, "{}: invalid eps {} (expected >= 0)", name_, o.eps());
  check(o.beta1() >= 0 && o.beta1() < 1 && o.beta2() >= 0 && o.beta2() < 1,
        "{}: invalid betas ({}, {}) (each expected in [0, 1))", name_, o.beta1(), o.beta2());
  check(o.weight_decay() >= 0, "{}: invalid weight_decay {} (expected >= 0)", name_, o.weight_decay());
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
    const AdamScalars c{b1, b2, one_minus_b1, one_minus_b2, wd, eps, decay,
                        static_cast<float>(-(lr_ / bias_correction1)), static_cast<float>(std::sqrt(bias_correction2))};
    const AdamRangeFn update = pick(o.maximize(), decoupled_, !decoupled_ && o.weight_decay() != 0, o.amsgrad());
    kernels::flat_loop(n, [&](int64_t k0, int64_t k1) { update(c, p, gp, m, v, vmax, k0, k1); });
  }
  ++step_count_;
}

}  // namespace convgrad
