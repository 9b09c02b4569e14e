// The direct weight gradient (direct_conv.h): dw[o, c, kh, kw] = sum over (n, oh, ow) of
// dy[n, o, oh, ow] x[n, c, sh * oh + kh - ph, sw * ow + kw - pw], vectorised along kw. Each output row
// (n, oh) adds its products into a per-thread partial gradient in the packed layout of the forward
// kernel; the partials are added up and unpacked at the end.
#include <algorithm>
#include <cstdint>
#include <vector>

#include "core/backends/onednn/direct_conv.h"
#include "core/backends/onednn/direct_rows.h"
#include "core/error.h"
#include "core/kernels/reduce.h"
#include "core/threading.h"

namespace convgrad::onednn {

#if CONVGRAD_DIRECT_CONV

namespace {

using direct::Geo;
using direct::Src;

// part[(o, v)] += sum over the output columns of dy[o, ow] * (the src vector v of ow's window row), for
// OB output channels and VB vectors of one kernel row: OB x VB accumulators, VB src vectors and one
// broadcast dy value in 11 or fewer vector registers.
template <int OB, int VB>
void row_gradient(const Geo& g, const float* xr, const float* dyrow, int64_t dy_plane, float* part) {
  __m256 acc[OB][VB];
#pragma GCC unroll 8
  for (int o = 0; o < OB; ++o)
#pragma GCC unroll 8
    for (int v = 0; v < VB; ++v) acc[o][v] = _mm256_setzero_ps();
  for (int64_t ow = 0; ow < g.OW; ++ow) {
    __m256 xv[VB];
#pragma GCC unroll 8
    for (int v = 0; v < VB; ++v) {
      xv[v] = _mm256_loadu_ps(xr + g.sw * ow + 8 * v);
    }
#pragma GCC unroll 8
    for (int o = 0; o < OB; ++o) {
      __m256 d = _mm256_broadcast_ss(dyrow + o * dy_plane + ow);
      __asm__("" : "+x"(d));
#pragma GCC unroll 8
      for (int v = 0; v < VB; ++v) acc[o][v] = _mm256_fmadd_ps(xv[v], d, acc[o][v]);
    }
  }
#pragma GCC unroll 8
  for (int o = 0; o < OB; ++o)
#pragma GCC unroll 8
    for (int v = 0; v < VB; ++v) {
      float* p = part + o * g.KWP + 8 * v;
      _mm256_storeu_ps(p, _mm256_add_ps(_mm256_loadu_ps(p), acc[o][v]));
    }
}

// The products of one output row (n, oh) for OB output channels from o0, kernel rows [kh0, kh1).
// Lanes at kw >= KW read src columns past the window: their sums land in the padding of the packed
// layout, which the unpacking drops.
template <int OB>
void output_row(const Geo& g, const Src& src, const float* dyrow, int64_t kh0, int64_t kh1, float* part) {
  const int64_t nv = g.KWP / 8, dy_plane = g.OH * g.OW;
  for (int64_t c = 0; c < g.C; ++c)
    for (int64_t kh = kh0; kh < kh1; ++kh) {
      const float* xr = src.p + c * src.ps + kh * src.rs;
      float* pr = part + (c * g.KH + kh) * g.O * g.KWP;
      int64_t v = 0;
      for (; v + 2 <= nv; v += 2) row_gradient<OB, 2>(g, xr + 8 * v, dyrow, dy_plane, pr + 8 * v);
      if (v < nv) row_gradient<OB, 1>(g, xr + 8 * v, dyrow, dy_plane, pr + 8 * v);
    }
}

// A buffer of the calling thread that only grows.
float* scratch(int64_t floats) {
  thread_local std::vector<float> buf;
  if (int64_t(buf.size()) < floats) buf.resize(floats);
  return buf.data();
}

}  // namespace

void direct_conv_backward_weights(const Tensor& x, const Tensor& dy, const Tensor& dw, const Tensor& db,
                                  const ConvParams& p) {
  const Shape &xs = x.shape(), &ws = dw.shape(), &ys = dy.shape();
  CONVGRAD_CHECK(
      direct::shape_ok({xs, ws, ys, p}) && xs[1] == ws[1] && ys[1] == ws[0] && xs[0] == ys[0],
      "onednn direct convolution (weight gradient): src {}, weights {}, dst {}, {}: expected one group, "
      "dilation 1, matching channels and no zero-size tensor; use the oneDNN primitive for this call",
      shape_str(xs), shape_str(ws), shape_str(ys), params_str(p));
  const Geo g(xs, ws, ys, p);
  const int nthr = get_num_threads();
  const int64_t size = g.C * g.KH * g.O * g.KWP;
  float* parts = scratch(nthr * size);
  std::fill_n(parts, nthr * size, 0.f);
  const float* dyp = dy.data<float>();
  direct::for_each_output_row(
      g, x.data<float>(), nthr,
      [&](int thread, int64_t n, int64_t oh, int64_t kh0, int64_t kh1, const Src& src) {
        for (int64_t o0 = 0; o0 < g.O; o0 += 4) {
          const float* dyrow = dyp + ((n * g.O + o0) * g.OH + oh) * g.OW;
          float* part = parts + thread * size + o0 * g.KWP;
          switch (std::min<int64_t>(4, g.O - o0)) {
            case 4:
              output_row<4>(g, src, dyrow, kh0, kh1, part);
              break;
            case 3:
              output_row<3>(g, src, dyrow, kh0, kh1, part);
              break;
            case 2:
              output_row<2>(g, src, dyrow, kh0, kh1, part);
              break;
            default:
              output_row<1>(g, src, dyrow, kh0, kh1, part);
              break;
          }
        }
      });
  float* dwp = dw.data<float>();
#pragma omp parallel for schedule(static) num_threads(nthr)
  for (int64_t oc = 0; oc < g.O * g.C; ++oc) {
    const int64_t o = oc / g.C, c = oc % g.C;
    for (int64_t kh = 0; kh < g.KH; ++kh) {
      const float* s = parts + ((c * g.KH + kh) * g.O + o) * g.KWP;
      float* d = dwp + (oc * g.KH + kh) * g.KW;
      for (int64_t kw = 0; kw < g.KW; ++kw) {
        float acc = s[kw];
        for (int t = 1; t < nthr; ++t) acc += s[t * size + kw];
        d[kw] = acc;
      }
    }
  }
  if (!db.defined()) return;
  kernels::channel_sum(dyp, g.N, g.O, g.OH * g.OW, db.data<float>());
}

#else  // no AVX2: nothing is supported (direct_conv_supported is false)

void direct_conv_backward_weights(const Tensor&, const Tensor&, const Tensor&, const Tensor&,
                                  const ConvParams&) {
  fail("onednn direct convolution (weight gradient): this build has no AVX2/FMA; use the oneDNN primitive");
}

#endif

}  // namespace convgrad::onednn
