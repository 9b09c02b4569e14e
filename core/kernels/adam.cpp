// Built with -ffp-contract=off (CMakeLists.txt): PyTorch rounds param * (1 - lr * wd) before adding the
// step, so neither loop may fuse that multiply and add into one fma. The fmas written out below are
// the ones ATen's kernels make.
#include "core/kernels/adam.h"

#include <algorithm>
#include <cmath>

#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
#endif

#include "core/kernels/elementwise.h"

namespace convgrad::kernels {

namespace {

// Template flags keep the loops free of branches; `dispatch` turns the runtime variant into them.
template <bool kMaximize, bool kDecoupled, bool kL2, bool kAmsgrad>
void reference_range(const AdamScalars& c, float* __restrict p, const float* __restrict g,
                     float* __restrict m, float* __restrict v, float* __restrict vmax, int64_t k0,
                     int64_t k1) {
  for (int64_t k = k0; k < k1; ++k) {
    float gk = kMaximize ? -g[k] : g[k];
    if constexpr (kDecoupled) {
      p[k] *= c.decay;  // AdamW: param.mul_(1 - lr * weight_decay)
    } else if constexpr (kL2) {
      gk = std::fma(c.weight_decay, p[k], gk);  // Adam: grad.add(param, alpha=weight_decay)
    }
    m[k] = std::fma(c.one_minus_beta1, gk, m[k] * c.beta1);       // lerp_: m * beta1 + (1 - beta1) g
    v[k] = std::fma(v[k], c.beta2, c.one_minus_beta2 * gk * gk);  // addcmul_: self + value * t1 * t2
    float second = v[k];
    if constexpr (kAmsgrad) second = vmax[k] = std::max(vmax[k], v[k]);
    const float denom = std::sqrt(second) / c.bias_correction2_sqrt + c.eps;
    p[k] = p[k] + c.neg_step_size * m[k] / denom;  // addcdiv_: self + value * t1 / t2
  }
}

#if defined(__AVX2__) && defined(__FMA__)
// Eight elements of reference_range, the same operations in the same order. (GCC does not vectorise
// the plain loop: std::sqrt may set errno.) The last k1 - k0 mod 8 elements go through a padded copy.
template <bool kMaximize, bool kDecoupled, bool kL2, bool kAmsgrad>
void simd_range(const AdamScalars& c, float* __restrict p, const float* __restrict g, float* __restrict m,
                float* __restrict v, float* __restrict vmax, int64_t k0, int64_t k1) {
  const __m256 b1 = _mm256_set1_ps(c.beta1), b2 = _mm256_set1_ps(c.beta2);
  const __m256 omb1 = _mm256_set1_ps(c.one_minus_beta1), omb2 = _mm256_set1_ps(c.one_minus_beta2);
  const __m256 wd = _mm256_set1_ps(c.weight_decay), eps = _mm256_set1_ps(c.eps),
               decay = _mm256_set1_ps(c.decay);
  const __m256 nss = _mm256_set1_ps(c.neg_step_size), bc2 = _mm256_set1_ps(c.bias_correction2_sqrt);
  const __m256 sign = _mm256_set1_ps(-0.f);
  auto eight = [&](float* pp, const float* pg, float* pm, float* pv, float* px) {
    __m256 gk = _mm256_loadu_ps(pg), pk = _mm256_loadu_ps(pp);
    if constexpr (kMaximize) gk = _mm256_xor_ps(gk, sign);
    if constexpr (kDecoupled) {
      pk = _mm256_mul_ps(pk, decay);
    } else if constexpr (kL2) {
      gk = _mm256_fmadd_ps(wd, pk, gk);
    }
    const __m256 mk = _mm256_fmadd_ps(omb1, gk, _mm256_mul_ps(_mm256_loadu_ps(pm), b1));
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
    _mm256_storeu_ps(pp, _mm256_add_ps(pk, _mm256_div_ps(_mm256_mul_ps(nss, mk), denom)));
  };
  int64_t k = k0;
  for (; k + 8 <= k1; k += 8) eight(p + k, g + k, m + k, v + k, kAmsgrad ? vmax + k : nullptr);
  if (k == k1) return;
  const int64_t n = k1 - k;
  float tp[8] = {}, tg[8] = {}, tm[8] = {}, tv[8] = {}, tx[8] = {};
  std::copy(p + k, p + k1, tp);
  std::copy(g + k, g + k1, tg);
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
// Without AVX2 + FMA the "SIMD" path is the reference loop.
template <bool kMaximize, bool kDecoupled, bool kL2, bool kAmsgrad>
void simd_range(const AdamScalars& c, float* p, const float* g, float* m, float* v, float* vmax, int64_t k0,
                int64_t k1) {
  reference_range<kMaximize, kDecoupled, kL2, kAmsgrad>(c, p, g, m, v, vmax, k0, k1);
}
#endif

using RangeFn = void (*)(const AdamScalars&, float*, const float*, float*, float*, float*, int64_t, int64_t);

// The instance of `Range` for one runtime variant: 16 instances, one table.
template <template <bool, bool, bool, bool> class Range>
RangeFn dispatch(AdamVariant a) {
  static constexpr RangeFn table[16] = {
      Range<false, false, false, false>::run, Range<false, false, false, true>::run,
      Range<false, false, true, false>::run,  Range<false, false, true, true>::run,
      Range<false, true, false, false>::run,  Range<false, true, false, true>::run,
      Range<false, true, true, false>::run,   Range<false, true, true, true>::run,
      Range<true, false, false, false>::run,  Range<true, false, false, true>::run,
      Range<true, false, true, false>::run,   Range<true, false, true, true>::run,
      Range<true, true, false, false>::run,   Range<true, true, false, true>::run,
      Range<true, true, true, false>::run,    Range<true, true, true, true>::run};
  return table[a.maximize * 8 + a.decoupled * 4 + a.l2 * 2 + a.amsgrad];
}

template <bool A, bool B, bool C, bool D>
struct Reference {
  static constexpr RangeFn run = &reference_range<A, B, C, D>;
};
template <bool A, bool B, bool C, bool D>
struct Simd {
  static constexpr RangeFn run = &simd_range<A, B, C, D>;
};

}  // namespace

void adam_update_reference(const AdamScalars& c, AdamVariant variant, float* p, const float* g, float* m,
                           float* v, float* vmax, int64_t k0, int64_t k1) {
  dispatch<Reference>(variant)(c, p, g, m, v, vmax, k0, k1);
}

void adam_update_simd(const AdamScalars& c, AdamVariant variant, float* p, const float* g, float* m, float* v,
                      float* vmax, int64_t k0, int64_t k1) {
  dispatch<Simd>(variant)(c, p, g, m, v, vmax, k0, k1);
}

void adam_update(const AdamScalars& c, AdamVariant variant, float* p, const float* g, float* m, float* v,
                 float* vmax, int64_t n) {
  const RangeFn update = dispatch<Simd>(variant);
  flat_loop(n, [&](int64_t k0, int64_t k1) { update(c, p, g, m, v, vmax, k0, k1); });
}

}  // namespace convgrad::kernels
