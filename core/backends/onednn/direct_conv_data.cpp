// The direct input gradient for a stride that divides the kernel and is a multiple of 8 along the
// width (direct_conv.h): the forward of the FCN heads' transposed convolution. With
// ih + ph = sh * qh + rh and iw + pw = sw * qw + rw, a dx pixel meets dy[o, qh - a, qw - b] through tap
// (rh + sh * a, rw + sw * b); so a vector of 8 dx pixels of one row (rw = 8u .. 8u + 7) is
//   bias[c] + sum over (o, a, b) of dy[o, qh - a, qw - b] x w[o, c, rh + sh * a, 8u + sw * b + (0..7)],
// one FMA of a broadcast dy value with 8 consecutive weights per term, no wasted lane. Blocks of QB
// vectors sw apart in the row share the weight vectors; dy comes from a zero-padded copy per image.
#include <algorithm>
#include <cstdint>
#include <vector>

#include "core/backends/onednn/direct_conv.h"
#include "core/backends/onednn/direct_rows.h"
#include "core/error.h"
#include "core/threading.h"

namespace convgrad::onednn {

bool direct_conv_data_supported(const ConvShapes& s) {
#if CONVGRAD_DIRECT_CONV
  const ConvParams& p = s.params;
  return direct::shape_ok(s) && p.stride[1] % 8 == 0 && s.wei[3] % p.stride[1] == 0 &&
         s.wei[2] % p.stride[0] == 0;
#else
  (void)s;
  return false;
#endif
}

bool direct_conv_data_preferred(const ConvShapes& s) {
  return direct_conv_data_supported(s) && s.wei[0] <= 8;
}

#if CONVGRAD_DIRECT_CONV

namespace {

// Blocks of CB dx channels x NB vectors: CB x NB accumulators (8 independent FMA chains, enough to
// hide the FMA latency: docs/performance.md#the-direct-kernels), CB weight vectors and one broadcast dy
// value at a time.
constexpr int QB = 8;  // the most vectors of one block (CB = 1)
constexpr int vectors_per_block(int cb) { return 8 / cb; }

struct DataGeo {
  int64_t N, C, H, W, O, OH, OW, KH, KW, sh, sw, ph, pw, jh, jw;
  int64_t qh0 = 0, qh1 = 0, qw0 = 0, qw1 = 0;  // grid rows / columns [q0, q1] of the dx rows / columns
  int64_t PT = 0, PL = 0, PH = 0,
          PW = 0;     // the padded dy: row qh - a + PT, column qw - b + PL, PH x PW a plane
  int64_t terms = 0;  // O x jh x jw
  const int64_t *p_off = nullptr,
                *w_off = nullptr;  // per term (o, a, b): offsets in the padded dy, the weight
};

// The padded dy of image n: P[o][r][col] = dy[o, r - PT, col - PL], zero outside dy.
void pad_dy(const DataGeo& g, const float* dyn, float* P) {
  std::fill_n(P, g.O * g.PH * g.PW, 0.f);
  for (int64_t o = 0; o < g.O; ++o)
    for (int64_t oh = 0; oh < g.OH; ++oh) {
      const int64_t r = oh + g.PT;
      if (r < 0 || r >= g.PH) continue;
      for (int64_t ow = 0; ow < g.OW; ++ow) {
        const int64_t col = ow + g.PL;
        if (col >= 0 && col < g.PW) P[(o * g.PH + r) * g.PW + col] = dyn[(o * g.OH + oh) * g.OW + ow];
      }
    }
}

// dx row ih of channels c .. c + CB (wc: their weights, dxrow: their rows, plane floats apart), vectors
// u of grid columns [q, q + NB): acc over (o, a, b), then stored with the bias (lanes outside the row
// dropped).
template <int CB, int NB>
void block(const DataGeo& g, const float* P, const float* wc, int64_t qh, int64_t rh, int64_t q, int64_t u,
           const float* bias, float* dxrow, int64_t plane) {
  __m256 acc[CB][NB];
#pragma GCC unroll 8
  for (int k = 0; k < CB; ++k)
#pragma GCC unroll 8
    for (int j = 0; j < NB; ++j) acc[k][j] = _mm256_setzero_ps();
  const int64_t wstride_c = g.KH * g.KW;
  // The terms (o, a, b) as offsets from the first one (tables built once per call): a flat loop, not
  // three nested ones of 2-4 trips each (their index arithmetic took more time than the FMAs).
  const float* pbase = P + (qh + g.PT) * g.PW + q + g.PL;
  const float* wbase = wc + rh * g.KW + 8 * u;
  const int64_t* po = g.p_off;
  const int64_t* wo = g.w_off;
  for (int64_t t = 0; t < g.terms; ++t) {
    const float* pr = pbase + po[t];
    const float* wr = wbase + wo[t];
    __m256 wv[CB];
#pragma GCC unroll 8
    for (int k = 0; k < CB; ++k) {
      wv[k] = _mm256_loadu_ps(wr + k * wstride_c);
      __asm__("" : "+x"(wv[k]));  // one load, not one folded into every FMA
    }
#pragma GCC unroll 8
    for (int j = 0; j < NB; ++j) {
      __m256 d = _mm256_broadcast_ss(pr + j);
      __asm__("" : "+x"(d));
#pragma GCC unroll 8
      for (int k = 0; k < CB; ++k) acc[k][j] = _mm256_fmadd_ps(d, wv[k], acc[k][j]);
    }
  }
#pragma GCC unroll 8
  for (int k = 0; k < CB; ++k) {
    const __m256 bv = _mm256_set1_ps(bias ? bias[k] : 0.f);
    float* row = dxrow + k * plane;
#pragma GCC unroll 8
    for (int j = 0; j < NB; ++j) {
      const int64_t iw0 = g.sw * (q + j) + 8 * u - g.pw;
      const __m256 v = _mm256_add_ps(acc[k][j], bv);
      if (iw0 >= 0 && iw0 + 8 <= g.W) {
        _mm256_storeu_ps(row + iw0, v);
      } else {
        alignas(32) float t[8];
        _mm256_store_ps(t, v);
        for (int64_t l = std::max<int64_t>(0, -iw0); l < std::min<int64_t>(8, g.W - iw0); ++l)
          row[iw0 + l] = t[l];
      }
    }
  }
}

// The dx rows of channels c .. c + CB of one image.
template <int CB>
void channel_block(const DataGeo& g, const float* P, const float* wc, const float* bias, float* dxc) {
  constexpr int NB = vectors_per_block(CB);
  const int64_t plane = g.H * g.W;
  for (int64_t ih = 0; ih < g.H; ++ih) {
    const int64_t qh = floor_div(ih + g.ph, g.sh), rh = ih + g.ph - g.sh * qh;
    float* dxrow = dxc + ih * g.W;
    for (int64_t u = 0; u < g.sw / 8; ++u) {
      int64_t q = g.qw0;
      for (; q + NB <= g.qw1 + 1; q += NB) block<CB, NB>(g, P, wc, qh, rh, q, u, bias, dxrow, plane);
      for (; q <= g.qw1; ++q) block<CB, 1>(g, P, wc, qh, rh, q, u, bias, dxrow, plane);
    }
  }
}

float* scratch(int64_t floats) {
  thread_local std::vector<float> buf;
  if (int64_t(buf.size()) < floats) buf.resize(floats);
  return buf.data();
}

}  // namespace

void direct_conv_backward_data(const Tensor& dy, const Tensor& w, const Tensor& bias, const Tensor& dx,
                               const ConvParams& p) {
  const Shape &xs = dx.shape(), &ws = w.shape(), &ys = dy.shape();
  CONVGRAD_CHECK(
      direct_conv_data_supported({xs, ws, ys, p}) && xs[1] == ws[1] && ys[1] == ws[0] && xs[0] == ys[0],
      "onednn direct convolution (input gradient): dx {}, weights {}, dy {}, {}: expected one group, "
      "dilation 1, a width stride that is a multiple of 8, strides dividing the kernel and no zero-size "
      "tensor; use the phase kernels or the oneDNN primitive for this call",
      shape_str(xs), shape_str(ws), shape_str(ys), params_str(p));
  DataGeo g{xs[0],
            xs[1],
            xs[2],
            xs[3],
            ys[1],
            ys[2],
            ys[3],
            ws[2],
            ws[3],
            p.stride[0],
            p.stride[1],
            p.pad_begin[0],
            p.pad_begin[1],
            ws[2] / p.stride[0],
            ws[3] / p.stride[1]};
  g.qh0 = floor_div(g.ph, g.sh), g.qh1 = floor_div(g.H - 1 + g.ph, g.sh);
  g.qw0 = floor_div(g.pw, g.sw), g.qw1 = floor_div(g.W - 1 + g.pw, g.sw);
  // Rows qh - a for qh in [qh0, qh1], a < jh; columns q + j - b for q in [qw0, qw1], j < QB, b < jw.
  g.PT = g.jh - 1 - g.qh0, g.PH = g.qh1 - g.qh0 + g.jh;
  g.PL = g.jw - 1 - g.qw0, g.PW = g.qw1 - g.qw0 + g.jw + QB;
  std::vector<int64_t> p_off, w_off;
  for (int64_t o = 0; o < g.O; ++o)
    for (int64_t a = 0; a < g.jh; ++a)
      for (int64_t b = 0; b < g.jw; ++b) {
        p_off.push_back((o * g.PH - a) * g.PW - b);
        w_off.push_back((o * g.C * g.KH + g.sh * a) * g.KW + g.sw * b);
      }
  g.terms = int64_t(p_off.size()), g.p_off = p_off.data(), g.w_off = w_off.data();
  const int nthr = get_num_threads();
  const int64_t pad_floats = g.O * g.PH * g.PW;
  float* pads = scratch(nthr * pad_floats);
  const float *dyp = dy.data<float>(), *wp = w.data<float>(),
              *bp = bias.defined() ? bias.data<float>() : nullptr;
  float* dxp = dx.data<float>();
#pragma omp parallel num_threads(nthr)
  {
    float* P = pads + omp_get_thread_num() * pad_floats;
    int64_t padded_n = -1;
    // Tasks: an image and a block of 4 channels (fewer for the last block).
    const int64_t cblocks = (g.C + 3) / 4;
#pragma omp for schedule(static)
    for (int64_t t = 0; t < g.N * cblocks; ++t) {
      const int64_t n = t / cblocks, c = t % cblocks * 4;
      if (n != padded_n) pad_dy(g, dyp + n * g.O * g.OH * g.OW, P), padded_n = n;
      const float* wc = wp + c * g.KH * g.KW;
      const float* bc = bp ? bp + c : nullptr;
      float* dxc = dxp + (n * g.C + c) * g.H * g.W;
      switch (std::min<int64_t>(4, g.C - c)) {
        case 4:
          channel_block<4>(g, P, wc, bc, dxc);
          break;
        case 3:
          channel_block<3>(g, P, wc, bc, dxc);
          break;
        case 2:
          channel_block<2>(g, P, wc, bc, dxc);
          break;
        default:
          channel_block<1>(g, P, wc, bc, dxc);
          break;
      }
    }
  }
}

#else

void direct_conv_backward_data(const Tensor&, const Tensor&, const Tensor&, const Tensor&,
                               const ConvParams&) {
  fail("onednn direct convolution (input gradient): this build has no AVX2/FMA; use the oneDNN primitive");
}

#endif

}  // namespace convgrad::onednn
