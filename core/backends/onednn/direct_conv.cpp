#include "core/backends/onednn/direct_conv.h"

#include <algorithm>
#include <cstdint>
#include <vector>

#include "core/backends/onednn/direct_rows.h"
#include "core/error.h"
#include "core/threading.h"

namespace convgrad::onednn {

using direct::round_up8;
using direct::shape_ok;

#if CONVGRAD_DIRECT_CONV

namespace {

using direct::Geo;
using direct::lane_mask;
using direct::Src;

inline float hsum(__m256 v) {
  __m128 a = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  a = _mm_add_ps(a, _mm_movehl_ps(a, a));
  a = _mm_add_ss(a, _mm_movehdup_ps(a));
  return _mm_cvtss_f32(a);
}

// acc[o][j] += the products of one stretch of NV vectors of a kernel row (o < OB) with the src rows
// at xr + j * sw (j < OWB); masked loads when `masked` (the last, partial vector of a row). Each src
// and weight vector is loaded once into a register: OB x OWB accumulators + OWB src vectors + one
// weight vector fit in the 16 vector registers.
template <int OB, int OWB>
inline void row_products(__m256 (&acc)[OB][OWB], const float* xr, int64_t sw, const float* wr, int64_t kwp,
                         int64_t v, bool masked, __m256i mask) {
  __m256 xv[OWB];
#pragma GCC unroll 8
  for (int j = 0; j < OWB; ++j)
    xv[j] = masked ? _mm256_maskload_ps(xr + j * sw + 8 * v, mask) : _mm256_loadu_ps(xr + j * sw + 8 * v);
    // Each vector is loaded once into a register: otherwise the compiler folds its load into each of
    // the FMAs that use it (docs/performance.md#the-phase-decomposition-kernel--2-x-stride).
#pragma GCC unroll 8
  for (int j = 0; j < OWB; ++j) __asm__("" : "+x"(xv[j]));
#pragma GCC unroll 8
  for (int o = 0; o < OB; ++o) {
    __m256 wv = _mm256_loadu_ps(wr + o * kwp + 8 * v);
    __asm__("" : "+x"(wv));
#pragma GCC unroll 8
    for (int j = 0; j < OWB; ++j) acc[o][j] = _mm256_fmadd_ps(xv[j], wv, acc[o][j]);
  }
}

// The output columns ow0 .. ow0 + OWB of OB output channels, where every window is readable: rows
// [kh0, kh1) only, wp at the packed rows of the first channel. NV > 0: a kernel row of exactly NV
// vectors (no tail), known at compile time; NV = 0: g.nfull, then g.tail lanes.
template <int OB, int OWB, int NV>
void block(const Geo& g, const Src& x, int64_t ow0, const float* wp, int64_t kh0, int64_t kh1,
           float (&out)[OB][8]) {
  __m256 acc[OB][OWB];
#pragma GCC unroll 8
  for (int o = 0; o < OB; ++o)
#pragma GCC unroll 8
    for (int j = 0; j < OWB; ++j) acc[o][j] = _mm256_setzero_ps();
  const int64_t wrow = g.O * g.KWP, sw = g.sw, kwp = g.KWP;
  const float* xs = x.p + sw * ow0;
  for (int64_t c = 0; c < g.C; ++c)
    for (int64_t kh = kh0; kh < kh1; ++kh) {
      const float* xr = xs + c * x.ps + kh * x.rs;
      const float* wr = wp + (c * g.KH + kh) * wrow;
      if constexpr (NV > 0) {
#pragma GCC unroll 8
        for (int v = 0; v < NV; ++v) row_products<OB, OWB>(acc, xr, sw, wr, kwp, v, false, __m256i());
      } else {
        for (int64_t v = 0; v < g.nfull; ++v)
          row_products<OB, OWB>(acc, xr, sw, wr, kwp, v, false, __m256i());
        // Lanes past kw are masked: the src there is another column of the row, or past the tensor.
        if (g.tail) row_products<OB, OWB>(acc, xr, sw, wr, kwp, g.nfull, true, lane_mask(0, g.tail));
      }
    }
#pragma GCC unroll 8
  for (int o = 0; o < OB; ++o)
#pragma GCC unroll 8
    for (int j = 0; j < OWB; ++j) out[o][j] = hsum(acc[o][j]);
}

// Output columns per block for OB output channels: OB x OWB accumulators, OWB src vectors and one
// weight vector in 13 or fewer of the 16 vector registers (OB 4 x OWB 3 needs all 16, and the
// compiler then reloads the src vectors).
constexpr int max_owb(int ob) { return ob == 4 ? 2 : ob == 3 ? 3 : ob == 2 ? 4 : 6; }

// y[o, ow .. ow + n) of one output row for the block's channels, plus bias.
template <int OB>
void store(float (&out)[OB][8], int n, float* yrow, int64_t plane, int64_t ow, const float* bias) {
  for (int o = 0; o < OB; ++o)
    for (int j = 0; j < n; ++j) yrow[o * plane + ow + j] = out[o][j] + (bias ? bias[o] : 0.f);
}

// Output columns [ow, end) in blocks of OWB, then of fewer.
template <int OB, int OWB, int NV>
void columns(const Geo& g, const Src& x, const float* wp, int64_t kh0, int64_t kh1, int64_t ow, int64_t end,
             float* yrow, const float* bias) {
  float out[OB][8];
  for (; ow + OWB <= end; ow += OWB) {
    block<OB, OWB, NV>(g, x, ow, wp, kh0, kh1, out);
    store<OB>(out, OWB, yrow, g.OH * g.OW, ow, bias);
  }
  if constexpr (OWB > 1)
    if (ow < end) columns<OB, OWB - 1, NV>(g, x, wp, kh0, kh1, ow, end, yrow, bias);
}

template <int OB>
void columns(const Geo& g, const Src& x, const float* wp, int64_t kh0, int64_t kh1, int64_t ow, int64_t end,
             float* yrow, const float* bias) {
  constexpr int owb = max_owb(OB);
  if (g.tail == 0 && g.nfull == 2)  // k16: the FCN heads
    columns<OB, owb, 2>(g, x, wp, kh0, kh1, ow, end, yrow, bias);
  else if (g.tail == 0 && g.nfull == 1)
    columns<OB, owb, 1>(g, x, wp, kh0, kh1, ow, end, yrow, bias);
  else if (g.tail == 0 && g.nfull == 4)
    columns<OB, owb, 4>(g, x, wp, kh0, kh1, ow, end, yrow, bias);
  else
    columns<OB, owb, 0>(g, x, wp, kh0, kh1, ow, end, yrow, bias);
}

// One output row of OB channels from rows [kh0, kh1) of x (none: the bias alone).
template <int OB>
void output_row(const Geo& g, const Src& x, const float* wp, int64_t kh0, int64_t kh1, float* yrow,
                const float* bias) {
  if (kh1 == kh0) {
    for (int o = 0; o < OB; ++o) std::fill_n(yrow + o * g.OH * g.OW, g.OW, bias ? bias[o] : 0.f);
    return;
  }
  columns<OB>(g, x, wp, kh0, kh1, 0, g.OW, yrow, bias);
}

// The packed weight (see Geo), in a buffer of the calling thread that only grows.
const float* pack_weights(const Geo& g, const float* w) {
  thread_local std::vector<float> buf;
  buf.resize(g.C * g.KH * g.O * g.KWP);
  for (int64_t o = 0; o < g.O; ++o)
    for (int64_t c = 0; c < g.C; ++c)
      for (int64_t kh = 0; kh < g.KH; ++kh) {
        const float* s = w + ((o * g.C + c) * g.KH + kh) * g.KW;
        float* d = buf.data() + ((c * g.KH + kh) * g.O + o) * g.KWP;
        std::copy(s, s + g.KW, d);
        std::fill(d + g.KW, d + g.KWP, 0.f);
      }
  return buf.data();
}

}  // namespace

bool direct_conv_supported(const ConvShapes& s) { return shape_ok(s); }

void direct_conv_forward(const Tensor& x, const Tensor& w, const Tensor& bias, const Tensor& y,
                         const ConvParams& p) {
  const Shape &xs = x.shape(), &ws = w.shape(), &ys = y.shape();
  // Formats its message only on failure: this runs once per call.
  CONVGRAD_CHECK(
      shape_ok({xs, ws, ys, p}) && xs[1] == ws[1] && ys[1] == ws[0] && xs[0] == ys[0],
      "onednn direct convolution: src {}, weights {}, dst {}, {}: expected one group, dilation 1, matching "
      "channels and no zero-size tensor; use the oneDNN primitive for this call",
      shape_str(xs), shape_str(ws), shape_str(ys), params_str(p));
  const Geo g(xs, ws, ys, p);
  const float* wp = pack_weights(g, w.data<float>());
  const float* bp = bias.defined() ? bias.data<float>() : nullptr;
  float* yp = y.data<float>();
  direct::for_each_output_row(g, x.data<float>(), get_num_threads(),
                              [&](int, int64_t n, int64_t oh, int64_t kh0, int64_t kh1, const Src& src) {
                                for (int64_t o0 = 0; o0 < g.O; o0 += 4) {
                                  float* yrow = yp + ((n * g.O + o0) * g.OH + oh) * g.OW;
                                  const float* wpo = wp + o0 * g.KWP;
                                  const float* bo = bp ? bp + o0 : nullptr;
                                  switch (std::min<int64_t>(4, g.O - o0)) {
                                    case 4:
                                      output_row<4>(g, src, wpo, kh0, kh1, yrow, bo);
                                      break;
                                    case 3:
                                      output_row<3>(g, src, wpo, kh0, kh1, yrow, bo);
                                      break;
                                    case 2:
                                      output_row<2>(g, src, wpo, kh0, kh1, yrow, bo);
                                      break;
                                    default:
                                      output_row<1>(g, src, wpo, kh0, kh1, yrow, bo);
                                      break;
                                  }
                                }
                              });
}

#else  // no AVX2: nothing is supported

bool direct_conv_supported(const ConvShapes&) { return false; }

void direct_conv_forward(const Tensor&, const Tensor&, const Tensor&, const Tensor&, const ConvParams&) {
  fail("onednn direct convolution: this build has no AVX2/FMA; use the oneDNN primitive");
}

#endif

bool direct_conv_preferred(const ConvShapes& s) {
  if (!direct_conv_supported(s)) return false;
  const int64_t O = s.wei[0], C = s.wei[1], KH = s.wei[2], KW = s.wei[3], H = s.src[2], W = s.src[3];
  const int64_t packed = O * C * KH * round_up8(KW), padded_image = C * H * (W + 2 * round_up8(KW));
  return O <= 8 && KW >= 8 && packed * int64_t(sizeof(float)) <= 256 * 1024 &&
         padded_image * int64_t(sizeof(float)) <= 16 * 1024 * 1024;
}

}  // namespace convgrad::onednn
