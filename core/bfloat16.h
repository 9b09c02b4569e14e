// bfloat16 (PyTorch's torch.bfloat16): the upper 16 bits of an IEEE float32 — the same sign and 8-bit
// exponent, 7 stored mantissa bits. Every bfloat16 value is exactly a float32; float32 -> bfloat16
// rounds to nearest, ties to even, exactly as PyTorch's c10::BFloat16 does.
#pragma once

#include <cstdint>
#include <cstring>

namespace convgrad {

/// One bfloat16 value, stored as its bit pattern (2 bytes). The element type of DType::BFloat16.
struct BFloat16 {
  uint16_t bits = 0;
};

/// float32 -> bfloat16, round to nearest, ties to even (c10::BFloat16's round_to_nearest_even): a NaN
/// becomes the quiet NaN 0x7FC0, infinities stay infinite, finite values past the largest bfloat16
/// (0x1.FEp127) round to infinity, float32 denormals round like any other value.
inline BFloat16 to_bfloat16(float value) {
  uint32_t u;
  std::memcpy(&u, &value, sizeof u);
  if ((u & 0x7FFFFFFFu) > 0x7F800000u) return BFloat16{0x7FC0};  // NaN (any payload, any sign)
  const uint32_t rounding_bias = 0x7FFFu + ((u >> 16) & 1u);
  return BFloat16{static_cast<uint16_t>((u + rounding_bias) >> 16)};
}

/// bfloat16 -> float32 (exact).
inline float to_float(BFloat16 value) {
  const uint32_t u = static_cast<uint32_t>(value.bits) << 16;
  float f;
  std::memcpy(&f, &u, sizeof f);
  return f;
}

/// The float32 nearest to `value` that a bfloat16 holds (ties to even): to_float(to_bfloat16(value)).
inline float round_to_bfloat16(float value) { return to_float(to_bfloat16(value)); }

namespace kernels {
/// Rounds n float32 values to bfloat16 (`out` may equal `in`).
void round_to_bfloat16(const float* in, float* out, int64_t n);
/// float32 -> bfloat16 for n values.
void float_to_bfloat16(const float* in, BFloat16* out, int64_t n);
/// bfloat16 -> float32 for n values.
void bfloat16_to_float(const BFloat16* in, float* out, int64_t n);
}  // namespace kernels

}  // namespace convgrad
