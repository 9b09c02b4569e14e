// Internal to the direct convolution kernels (direct_conv.cpp, direct_conv_weights.cpp): the sizes of
// a call, where the rows of the windows are read (src in place or a zero-padded copy of its rows), and
// the parallel loop over output rows. Everything vectorised needs AVX2 + FMA (CONVGRAD_DIRECT_CONV).
#pragma once

#include <omp.h>

#include <algorithm>
#include <cstdint>
#include <vector>

#include "core/conv_geometry.h"

#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
#define CONVGRAD_DIRECT_CONV 1
#endif

namespace convgrad::onednn::direct {

/// One group, dilation 1, four-dimensional tensors, none of zero size.
inline bool shape_ok(const ConvShapes& s) {
  const ConvParams& p = s.params;
  for (const Shape* t : {&s.src, &s.wei, &s.dst}) {
    if (t->size() != 4) return false;
    for (int64_t d : *t)
      if (d <= 0) return false;
  }
  return p.groups == 1 && p.dilation[0] == 1 && p.dilation[1] == 1;
}

inline int64_t round_up8(int64_t v) { return (v + 7) / 8 * 8; }

#if CONVGRAD_DIRECT_CONV

/// The sizes of one call (conv view: src x, weight w, dst y). The packed weight of the kernels is
/// wp[((c * KH + kh) * O + o) * KWP + kw], each kernel row padded with zeros to KWP (a multiple of 8),
/// so that one (c, kh) holds every output channel's row.
struct Geo {
  int64_t N, C, H, W, O, OH, OW, KH, KW, KWP, sh, sw, ph, pw;
  int64_t nfull, tail;  ///< full vectors of a kernel row, lanes of its last partial vector
  Geo(const Shape& x, const Shape& w, const Shape& y, const ConvParams& p)
      : N(x[0]),
        C(x[1]),
        H(x[2]),
        W(x[3]),
        O(y[1]),
        OH(y[2]),
        OW(y[3]),
        KH(w[2]),
        KW(w[3]),
        KWP(round_up8(w[3])),
        sh(p.stride[0]),
        sw(p.stride[1]),
        ph(p.pad_begin[0]),
        pw(p.pad_begin[1]),
        nfull(w[3] / 8),
        tail(w[3] % 8) {}
};

/// The lanes l with lo <= l < hi set.
inline __m256i lane_mask(int64_t lo, int64_t hi) {
  const __m256i idx = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  const int l = int(std::clamp<int64_t>(lo, 0, 8)), h = int(std::clamp<int64_t>(hi, 0, 8));
  return _mm256_and_si256(_mm256_cmpgt_epi32(_mm256_set1_epi32(h), idx),
                          _mm256_cmpgt_epi32(idx, _mm256_set1_epi32(l - 1)));
}

/// Where the rows of the windows of one output row are read: element (c, kh, kw) of the window of
/// output column ow is p[c * ps + kh * rs + sw * ow + kw], for kw < KWP (lanes at KW and beyond are
/// masked or meet zero weights). Either src itself or a zero-padded copy of its rows.
struct Src {
  const float* p;
  int64_t rs, ps;
};

/// d[0, n) = s[0, n): vector moves inline (a call to memmove per row of 64 floats took a fifth of
/// the forward kernel's time).
inline void copy_row(const float* s, int64_t n, float* d) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(d + i, _mm256_loadu_ps(s + i));
  for (; i < n; ++i) d[i] = s[i];
}

/// A copy of src rows with zero columns left and right, so that every window of an output row lies
/// inside a row (a masked load or a scalar copy per window edge cost a third of the kernel's time).
/// One per thread; rows are copied when a task first needs them: a thread's tasks go down the rows of
/// an image, so each row is copied about once per thread.
class PaddedRows {
 public:
  /// Left zeros lp, row width wp: columns lp - pw + sw * ow + [0, KWP) of every output column are
  /// inside. The zero columns are written when the layout changes, the src columns on demand.
  explicit PaddedRows(const Geo& g) : lp_(std::max<int64_t>(0, g.pw)) {
    wp_ = std::max(lp_ + g.W, lp_ - g.pw + g.sw * (g.OW - 1) + g.KWP);
    State& st = state();
    if (st.lp != lp_ || st.w != g.W || st.wp != wp_ || int64_t(st.buf.size()) < g.C * g.H * wp_) {
      st.buf.assign(g.C * g.H * wp_, 0.f);
      st.lp = lp_, st.w = g.W, st.wp = wp_;
    }
    base_ = st.buf.data();
  }
  /// The windows of image n's src rows [r0, r1) (those of one output row; 0 <= r0 <= r1 <= H), `xn`
  /// image n, `ih0` the src row of kh = 0. Copies the rows not there yet, and asks for the next
  /// output row's new rows (`ahead` of them) so that they arrive from memory during this one.
  Src rows(const Geo& g, const float* xn, int64_t n, int64_t ih0, int64_t r0, int64_t r1, int64_t ahead) {
    if (n != n_ || r0 < lo_ || r0 > hi_) n_ = n, lo_ = hi_ = r0;
    for (int64_t c = 0; c < g.C; ++c) {
      const float* xc = xn + c * g.H * g.W;
      for (int64_t r = hi_; r < r1; ++r) copy_row(xc + r * g.W, g.W, base_ + (c * g.H + r) * wp_ + lp_);
      const int64_t p1 = std::min(g.H, r1 + ahead);
      for (const float* q = xc + r1 * g.W; q < xc + p1 * g.W; q += 16) __builtin_prefetch(q);
    }
    hi_ = std::max(hi_, r1);
    return {base_ + ih0 * wp_ + lp_ - g.pw, wp_, g.H * wp_};
  }

 private:
  struct State {
    std::vector<float> buf;
    int64_t lp = -1, w = -1, wp = -1;
  };
  static State& state() {
    thread_local State s;
    return s;
  }
  int64_t lp_, wp_, n_ = -1, lo_ = 0, hi_ = 0;
  float* base_;
};

/// Calls f(thread, n, oh, kh0, kh1, src) for every output row (n, oh), in parallel over `nthr`
/// threads (static schedule: a thread takes consecutive rows of an image): kernel rows [kh0, kh1)
/// meet src rows, `src` reads their windows. Every window inside src: read in place; else from
/// PaddedRows.
template <class F>
void for_each_output_row(const Geo& g, const float* x, int nthr, F&& f) {
  const bool in_place = g.pw <= 0 && g.sw * (g.OW - 1) - g.pw + g.KWP <= g.W;
#pragma omp parallel num_threads(nthr)
  {
    PaddedRows padded(g);
#pragma omp for schedule(static)
    for (int64_t t = 0; t < g.N * g.OH; ++t) {
      const int64_t n = t / g.OH, oh = t % g.OH, ih0 = g.sh * oh - g.ph;
      const int64_t kh0 = std::clamp<int64_t>(-ih0, 0, g.KH), kh1 = std::clamp<int64_t>(g.H - ih0, kh0, g.KH);
      const float* xn = x + n * g.C * g.H * g.W;
      const Src src = in_place ? Src{xn + ih0 * g.W - g.pw, g.W, g.H * g.W}
                               : padded.rows(g, xn, n, ih0, ih0 + kh0, ih0 + kh1, g.sh);
      f(omp_get_thread_num(), n, oh, kh0, kh1, src);
    }
  }
}

#endif  // CONVGRAD_DIRECT_CONV

}  // namespace convgrad::onednn::direct
