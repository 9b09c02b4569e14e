#include "core/backends/onednn/phase_layout.h"

#include <algorithm>
#include <cstdint>

#include "core/threading.h"

#if defined(__AVX2__)
#include <immintrin.h>
#endif

namespace convgrad::onednn::phase {

namespace {

// Grid indices q in [lo, hi) of [0, n) whose src index s * (q0 + q) + r - pad lies in [0, size).
struct Range {
  int64_t lo, hi;
};
Range valid(int64_t r, int64_t s, int64_t pad, int64_t q0, int64_t n, int64_t size) {
  int64_t lo = std::max<int64_t>(0, -floor_div(r - pad, s) - q0);
  int64_t hi = std::min<int64_t>(n, floor_div(size - 1 + pad - r, s) + 1 - q0);
  return {lo, std::max(lo, hi)};
}

}  // namespace

Geom::Geom(const Shape& src, const Shape& wei, const Shape& dst, const ConvParams& p)
    : N(src[0]),
      C(src[1]),
      H(src[2]),
      W(src[3]),
      O(dst[1]),
      OH(dst[2]),
      OW(dst[3]),
      sh(p.stride[0]),
      sw(p.stride[1]),
      ph(p.pad_begin[0]),
      pw(p.pad_begin[1]),
      jh(wei[2] / p.stride[0]),
      jw(wei[3] / p.stride[1]) {
  qh0 = floor_div(ph, sh);
  qw0 = floor_div(pw, sw);
  QH = floor_div(H - 1 + ph, sh) - qh0 + 1;
  QW = floor_div(W - 1 + pw, sw) - qw0 + 1;
  span.resize(sw);
  for (int64_t rw = 0; rw < sw; ++rw) {
    Range r = valid(rw, sw, pw, qw0, QW, W);
    span[rw] = {r.lo, r.hi};
  }
  rowspan.resize(sh);
  for (int64_t rh = 0; rh < sh; ++rh) {
    Range r = valid(rh, sh, ph, qh0, QH, H);
    rowspan[rh] = {r.lo, r.hi};
  }
}

// Runs f(src offset in one (o, c) kernel, W2 column offset of (c, 0, 0), W2 row of (o, 0, 0)) over
// every tap: nested loops over (jh, rh, jw, rw), so no division per element.
template <class F>
void for_each_tap(const Geom& g, F&& f) {
  const int64_t KW = g.jw * g.sw;
  for (int64_t a = 0; a < g.jh; ++a)
    for (int64_t rh = 0; rh < g.sh; ++rh)
      for (int64_t b = 0; b < g.jw; ++b) {
        const int64_t src = (a * g.sh + rh) * KW + b * g.sw, row = a * g.jw + b, col = rh * g.sw;
        for (int64_t rw = 0; rw < g.sw; ++rw) f(src + rw, row, col + rw);
      }
}

void gather_weights(const Geom& g, const float* w, float* w2) {
  const int64_t K = g.jh * g.sh * g.jw * g.sw, rows = g.rows();
#pragma omp parallel for num_threads(get_num_threads()) schedule(static)
  for (int64_t oc = 0; oc < g.O * g.C; ++oc) {
    const int64_t o = oc / g.C, c = oc % g.C;
    const float* src = w + oc * K;
    float* dst = w2 + o * g.jh * g.jw * rows + c * g.sh * g.sw;
    for_each_tap(g, [&](int64_t k, int64_t row, int64_t col) { dst[row * rows + col] = src[k]; });
  }
}

void scatter_weights(const Geom& g, const float* dw2, int64_t parts, float* dw) {
  const int64_t K = g.jh * g.sh * g.jw * g.sw, rows = g.rows(), stride = g.taps() * rows;
#pragma omp parallel for num_threads(get_num_threads()) schedule(static)
  for (int64_t oc = 0; oc < g.O * g.C; ++oc) {
    const int64_t o = oc / g.C, c = oc % g.C;
    float* dst = dw + oc * K;
    const float* src = dw2 + o * g.jh * g.jw * rows + c * g.sh * g.sw;
    for_each_tap(g, [&](int64_t k, int64_t row, int64_t col) {
      const float* s = src + row * rows + col;
      float acc = s[0];
      for (int64_t part = 1; part < parts; ++part) acc += s[part * stride];
      dst[k] = acc;
    });
  }
}

void gather_columns(const Geom& g, const float* dy, float* col, int64_t ld) {
  const int64_t QW = g.QW;
  for (int64_t o = 0; o < g.O; ++o)
    for (int64_t a = 0; a < g.jh; ++a)
      for (int64_t b = 0; b < g.jw; ++b) {
        float* row = col + ((o * g.jh + a) * g.jw + b) * ld;
        // ow = qw0 + qw - b must lie in [0, OW).
        const int64_t lo = std::clamp<int64_t>(b - g.qw0, 0, QW),
                      hi = std::clamp<int64_t>(g.OW + b - g.qw0, lo, QW);
        for (int64_t qh = 0; qh < g.QH; ++qh) {
          float* d = row + qh * QW;
          const int64_t oh = g.qh0 + qh - a;
          if (oh < 0 || oh >= g.OH) {
            std::fill(d, d + QW, 0.f);
            continue;
          }
          const float* s = dy + (o * g.OH + oh) * g.OW;
          std::fill(d, d + lo, 0.f);
          for (int64_t qw = lo; qw < hi; ++qw) d[qw] = s[g.qw0 + qw - b];
          std::fill(d + hi, d + QW, 0.f);
        }
      }
}

namespace {

// Runs f(c, ih, column of (u - u0, rw = 0) in the block, first grid position qh * QW) for the units
// [u0, u1), in src order (channel, grid row, rh) so that src rows stream from memory; ih is -1 off src.
template <class F>
void for_each_row(const Geom& g, int64_t u0, int64_t u1, F&& f) {
  for (int64_t c = u0 / g.sh; c * g.sh < u1; ++c) {
    const int64_t rh0 = std::max<int64_t>(u0 - c * g.sh, 0), rh1 = std::min<int64_t>(u1 - c * g.sh, g.sh);
    for (int64_t qh = 0; qh < g.QH; ++qh)
      for (int64_t rh = rh0; rh < rh1; ++rh) {
        const int64_t ih = g.sh * (g.qh0 + qh) + rh - g.ph;
        f(c, ih >= 0 && ih < g.H ? ih : -1, (c * g.sh + rh - u0) * g.sw, qh * g.QW);
      }
  }
}

// Asks for src row ih + 2 (usually the next but one that for_each_row visits) so that it arrives
// while the rows before it are copied. Short rows stream well enough on their own.
void prefetch_row(const Geom& g, const float* plane, int64_t ih) {
  if (g.W < 256 || ih + 2 >= g.H) return;
  for (int64_t i = 0; i < g.W; i += 16) __builtin_prefetch(plane + (ih + 2) * g.W + i);
}

// d[i] = s[i] (+ b) for i < n; the pointers never overlap, which lets the compiler use vector moves.
inline void copy_run(float* __restrict d, const float* __restrict s, int64_t n) {
  for (int64_t i = 0; i < n; ++i) d[i] = s[i];
}
inline void add_run(float* __restrict d, const float* __restrict s, float b, int64_t n) {
  for (int64_t i = 0; i < n; ++i) d[i] = s[i] + b;
}

// copy_run of N floats, N a multiple of 8, as vector moves (no call to memmove for a short run).
template <int N>
inline void copy_run8(float* d, const float* s) {
#if defined(__AVX2__)
  for (int i = 0; i < N; i += 8) _mm256_storeu_ps(d + i, _mm256_loadu_ps(s + i));
#else
  copy_run(d, s, N);
#endif
}

// add_run for the large tensor when n is a multiple of 8 and d is 32-byte aligned: streaming stores
// write it without first reading every cache line in (it is written once and not read back soon).
template <int N>
inline void stream_run(float* d, const float* s, float b) {
#if defined(__AVX2__)
  if ((reinterpret_cast<uintptr_t>(d) & 31) == 0) {
    const __m256 bv = _mm256_set1_ps(b);
    for (int i = 0; i < N; i += 8) _mm256_stream_ps(d + i, _mm256_add_ps(_mm256_loadu_ps(s + i), bv));
    return;
  }
#endif
  add_run(d, s, b, N);
}

// The (un)shuffle loops with the stride known at compile time when it is a common one (SW > 0), so
// that a run of sw floats is a few vector moves; SW = 0 reads it from g.
// The grid columns [lo, hi) whose run of sw src columns first + sw * qw + [0, sw) lies inside the row.
struct FullRuns {
  int64_t lo, hi;
};
FullRuns full_runs(const Geom& g, int64_t first) {
  const int64_t lo = std::clamp<int64_t>((-first + g.sw - 1) / g.sw, 0, g.QW);  // first + sw * qw >= 0
  const int64_t hi =
      g.W - g.sw - first < 0 ? lo : std::clamp<int64_t>((g.W - g.sw - first) / g.sw + 1, lo, g.QW);
  return {first >= 0 ? 0 : lo, hi};
}

template <int SW>
void unshuffle_rows(const Geom& g, const float* src, int64_t u0, int64_t u1, float* xp, int64_t ld) {
  const int64_t sw = SW > 0 ? SW : g.sw, first = sw * g.qw0 - g.pw;  // src column of (qw = 0, rw = 0)
  const FullRuns full = full_runs(g, first);
  // A run that crosses an edge of the row: zeros, then what lies inside, then zeros.
  auto edge = [&](float* dq, const float* xr, int64_t i) {
    const int64_t lo = std::clamp<int64_t>(-i, 0, sw), hi = std::clamp<int64_t>(g.W - i, lo, sw);
    std::fill(dq, dq + lo, 0.f);
    copy_run(dq + lo, xr + i + lo, hi - lo);
    std::fill(dq + hi, dq + sw, 0.f);
  };
  for_each_row(g, u0, u1, [&](int64_t c, int64_t ih, int64_t col, int64_t q0) {
    float* d = xp + q0 * ld + col;
    if (ih < 0) {
      for (int64_t qw = 0; qw < g.QW; ++qw) std::fill_n(d + qw * ld, sw, 0.f);
      return;
    }
    const float* plane = src + c * g.H * g.W;
    prefetch_row(g, plane, ih);
    const float* xr = plane + ih * g.W;
    for (int64_t qw = 0; qw < full.lo; ++qw) edge(d + qw * ld, xr, first + sw * qw);
    for (int64_t qw = full.lo; qw < full.hi; ++qw) {
      if constexpr (SW > 0 && SW % 8 == 0)
        copy_run8<SW>(d + qw * ld, xr + first + sw * qw);
      else
        copy_run(d + qw * ld, xr + first + sw * qw, sw);
    }
    for (int64_t qw = full.hi; qw < g.QW; ++qw) edge(d + qw * ld, xr, first + sw * qw);
  });
}

template <int SW>
void shuffle_rows(const Geom& g, const float* G, int64_t ld, int64_t u0, int64_t u1, const float* bias,
                  float* src) {
  const int64_t sw = SW > 0 ? SW : g.sw, first = sw * g.qw0 - g.pw;
  for_each_row(g, u0, u1, [&](int64_t c, int64_t ih, int64_t col, int64_t q0) {
    if (ih < 0) return;
    const float bv = bias ? bias[c] : 0.f;
    const float* s = G + q0 * ld + col;
    float* plane = src + c * g.H * g.W;
    prefetch_row(g, plane, ih);
    float* xr = plane + ih * g.W;
    for (int64_t qw = 0; qw < g.QW; ++qw) {
      const int64_t i = first + sw * qw;
      const float* sq = s + qw * ld;
      if (i >= 0 && i + sw <= g.W) {
        if constexpr (SW > 0 && SW % 8 == 0)
          stream_run<SW>(xr + i, sq, bv);
        else
          add_run(xr + i, sq, bv, sw);
      } else {
        const int64_t lo = std::max<int64_t>(0, -i), hi = std::min(sw, g.W - i);
        add_run(xr + i + lo, sq + lo, bv, hi - lo);
      }
    }
  });
}

}  // namespace

void unshuffle(const Geom& g, const float* src, int64_t u0, int64_t u1, float* xp, int64_t ld) {
  switch (g.sw) {
    case 8:
      return unshuffle_rows<8>(g, src, u0, u1, xp, ld);
    case 16:
      return unshuffle_rows<16>(g, src, u0, u1, xp, ld);
    case 32:
      return unshuffle_rows<32>(g, src, u0, u1, xp, ld);
    default:
      return unshuffle_rows<0>(g, src, u0, u1, xp, ld);
  }
}

void shuffle(const Geom& g, const float* G, int64_t ld, int64_t u0, int64_t u1, const float* bias,
             float* src) {
  switch (g.sw) {
    case 8:
      shuffle_rows<8>(g, G, ld, u0, u1, bias, src);
      break;
    case 16:
      shuffle_rows<16>(g, G, ld, u0, u1, bias, src);
      break;
    case 32:
      shuffle_rows<32>(g, G, ld, u0, u1, bias, src);
      break;
    default:
      shuffle_rows<0>(g, G, ld, u0, u1, bias, src);
      break;
  }
#if defined(__AVX2__)
  _mm_sfence();  // streaming stores are weakly ordered: make them visible before the task ends
#endif
}

void shift_add(const Geom& g, const float* z, int64_t ld, int64_t parts, int64_t stride, int64_t o,
               float bias, float* dst) {
  std::fill(dst, dst + g.OH * g.OW, bias);
  const int64_t QW = g.QW;
  for (int64_t part = 0; part < parts; ++part)
    for (int64_t a = 0; a < g.jh; ++a)
      for (int64_t b = 0; b < g.jw; ++b) {
        const float* zr = z + part * stride + ((o * g.jh + a) * g.jw + b) * ld;
        // Grid column gw = ow + b - qw0 must lie in [0, QW).
        const int64_t lo = std::clamp<int64_t>(g.qw0 - b, 0, g.OW),
                      hi = std::clamp<int64_t>(QW + g.qw0 - b, lo, g.OW);
        for (int64_t oh = 0; oh < g.OH; ++oh) {
          const int64_t gh = oh + a - g.qh0;
          if (gh < 0 || gh >= g.QH) continue;
          const float* s = zr + gh * QW;
          float* d = dst + oh * g.OW;
          for (int64_t ow = lo; ow < hi; ++ow) d[ow] += s[ow + b - g.qw0];
        }
      }
}

}  // namespace convgrad::onednn::phase
