// ReLU forward with a packed mask, and the masked backward. Work splits at 64-element (one mask word)
// boundaries, so threads never share a word; with AVX2 each word is eight 8-float vectors.
#include "core/kernels/relu.h"

#include <cstring>

#if defined(__AVX2__)
#include <immintrin.h>
#endif

#include "core/factory.h"
#include "core/kernels/elementwise.h"

namespace convgrad::kernels {

namespace {

constexpr int64_t kWord = 64;

int64_t words_for(int64_t n) { return (n + kWord - 1) / kWord; }

// Elements [base, base + count) of one word, count <= 64: y and the word's bits.
uint64_t forward_word(const float* x, float* y, int64_t count) {
  uint64_t bits = 0;
#if defined(__AVX2__)
  if (count == kWord) {
    const __m256 zero = _mm256_setzero_ps();
    for (int j = 0; j < 8; ++j) {
      const __m256 v = _mm256_loadu_ps(x + 8 * j);
      // y = v where v > 0 or v is NaN (NaN passes through, as kernels::unary's relu), else +0.
      _mm256_storeu_ps(y + 8 * j, _mm256_and_ps(v, _mm256_cmp_ps(v, zero, _CMP_NLE_UQ)));
      bits |= static_cast<uint64_t>(_mm256_movemask_ps(_mm256_cmp_ps(v, zero, _CMP_GT_OQ))) << (8 * j);
    }
    return bits;
  }
#endif
  for (int64_t j = 0; j < count; ++j) {
    const float v = x[j];
    y[j] = v > 0.f || v != v ? v : 0.f;
    bits |= static_cast<uint64_t>(v > 0.f) << j;
  }
  return bits;
}

// out[j] = bit j ? g[j] : +0 for one word's elements (out may be g).
void backward_word(const float* g, float* out, uint64_t bits, int64_t count) {
#if defined(__AVX2__)
  if (count == kWord) {
    const __m256i lanes = _mm256_setr_epi32(1, 2, 4, 8, 16, 32, 64, 128);
    for (int j = 0; j < 8; ++j) {
      const __m256i byte = _mm256_set1_epi32(static_cast<int>((bits >> (8 * j)) & 0xFFu));
      const __m256i on = _mm256_cmpeq_epi32(_mm256_and_si256(byte, lanes), lanes);
      _mm256_storeu_ps(out + 8 * j, _mm256_and_ps(_mm256_loadu_ps(g + 8 * j), _mm256_castsi256_ps(on)));
    }
    return;
  }
#endif
  for (int64_t j = 0; j < count; ++j) out[j] = (bits >> j) & 1u ? g[j] : 0.f;
}

}  // namespace

ReluMasked relu_masked(const Tensor& x) {
  CONVGRAD_CHECK(x.defined() && x.dtype() == DType::Float32 && x.is_contiguous(),
                 "relu_masked: needs a contiguous float32 tensor, got {}",
                 x.defined() ? shape_str(x.shape()) : "undefined");
  const int64_t n = x.numel();
  ReluMasked r{uninitialized(x.shape()), uninitialized({words_for(n)}, DType::Int64)};
  const float* px = x.data<float>();
  float* py = r.y.data<float>();
  int64_t* pm = r.mask.data<int64_t>();
  flat_loop(
      n,
      [&](int64_t i0, int64_t i1) {
        for (int64_t b = i0; b < i1; b += kWord) {
          const uint64_t bits = forward_word(px + b, py + b, std::min(kWord, i1 - b));
          std::memcpy(pm + b / kWord, &bits, sizeof bits);
        }
      },
      kWord);
  return r;
}

Tensor relu_backward_masked(const Tensor& grad, const Tensor& mask, bool overwrite_grad) {
  CONVGRAD_CHECK(
      grad.defined() && grad.dtype() == DType::Float32 && grad.is_contiguous() && mask.defined() &&
          mask.dtype() == DType::Int64 && mask.is_contiguous() && mask.numel() == words_for(grad.numel()),
      "relu_backward_masked: needs a contiguous float32 gradient and its int64 mask of ceil(n / 64) words, got "
      "gradient {} and mask {}",
      grad.defined() ? shape_str(grad.shape()) : "undefined",
      mask.defined() ? shape_str(mask.shape()) : "undefined");
  const int64_t n = grad.numel();
  Tensor out = overwrite_grad ? grad : uninitialized(grad.shape());
  const float* pg = grad.data<float>();
  float* po = out.data<float>();
  const int64_t* pm = mask.data<int64_t>();
  flat_loop(
      n,
      [&](int64_t i0, int64_t i1) {
        for (int64_t b = i0; b < i1; b += kWord) {
          uint64_t bits;
          std::memcpy(&bits, pm + b / kWord, sizeof bits);
          backward_word(pg + b, po + b, bits, std::min(kWord, i1 - b));
        }
      },
      kWord);
  return out;
}

}  // namespace convgrad::kernels
