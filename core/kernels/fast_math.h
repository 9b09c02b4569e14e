// Branch-free float exp and log in a form GCC vectorises (libm's calls are scalar): the inner loops of
// the fused losses call them once per element. Accurate to a few ulp on the domains stated.
#pragma once

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>

namespace convgrad::kernels {

/// e^x for x <= 0 (what softmax needs): x = n ln2 + r with |r| <= ln2/2, e^r by its Taylor series to
/// degree 7 (truncation error < 6e-9, below float rounding), times 2^n. Below -87 (the end of the normal
/// floats; -inf included) the result is 0; NaN gives NaN. Branch-free on purpose: float compares and
/// std::floor stop GCC's vectoriser here, so the special cases work on the bits.
inline float exp_nonpositive(float x) {
  // For x <= 0 a larger bit pattern means a more negative value.
  uint32_t u = std::bit_cast<uint32_t>(x);
  uint32_t nan_mask = 0u - static_cast<uint32_t>((u & 0x7FFFFFFFu) > 0x7F800000u);
  uint32_t zero_mask = (0u - static_cast<uint32_t>(u > 0xC2AE0000u)) & ~nan_mask;
  x = std::bit_cast<float>(std::min(u, 0xC2AE0000u) & ~nan_mask);  // NaN -> 0 here, restored at the end
  float n = (x * 1.44269504f + 12582912.f) - 12582912.f;           // round to nearest via 1.5 * 2^23
  float r = std::fma(n, -0.693145752f, x);                         // ln2 split in two for an exact reduction
  r = std::fma(n, -1.42860677e-6f, r);
  float p = std::fma(1.f / 5040, r, 1.f / 720);
  p = std::fma(p, r, 1.f / 120);
  p = std::fma(p, r, 1.f / 24);
  p = std::fma(p, r, 1.f / 6);
  p = std::fma(p, r, 0.5f);
  p = std::fma(p, r, 1.f);
  p = std::fma(p, r, 1.f);
  float e = p * std::bit_cast<float>((static_cast<int32_t>(n) + 127) << 23);
  return std::bit_cast<float>((std::bit_cast<uint32_t>(e) & ~zero_mask & ~nan_mask) |
                              (0x7FC00000u & nan_mask));
}

/// log(x) for x >= FLT_MIN (positive normal floats); +inf and NaN pass through unchanged. x = 2^e f with
/// f in [sqrt(1/2), sqrt(2)); log f = 2 atanh(t), t = (f - 1) / (f + 1), |t| <= 0.172, by its odd series to
/// t^9 (truncation error < 1e-9). What log-sum-exp needs: its sums lie in [1, number of classes].
inline float log_normal(float x) {
  uint32_t u = std::bit_cast<uint32_t>(x);
  uint32_t special = 0u - static_cast<uint32_t>((u & 0x7FFFFFFFu) >= 0x7F800000u);  // inf or NaN
  uint32_t mant = u & 0x007FFFFFu;
  uint32_t high = 0u - static_cast<uint32_t>(mant > 0x003504F3u);  // mantissa above sqrt(2): halve f
  int32_t e = static_cast<int32_t>((u >> 23) & 0xFFu) - 127 + static_cast<int32_t>(high & 1u);
  float f = std::bit_cast<float>(mant | (0x3F800000u - (high & 0x00800000u)));
  float t = (f - 1.f) / (f + 1.f);
  float t2 = t * t;
  float p = std::fma(t2, 1.f / 9, 1.f / 7);
  p = std::fma(p, t2, 1.f / 5);
  p = std::fma(p, t2, 1.f / 3);
  p = std::fma(p, t2, 1.f);
  float lf = 2.f * t * p;
  float ef = static_cast<float>(e);
  float r = std::fma(ef, 0.693145752f, std::fma(ef, 1.42860677e-6f, lf));
  return std::bit_cast<float>((std::bit_cast<uint32_t>(r) & ~special) | (u & special));
}

}  // namespace convgrad::kernels
