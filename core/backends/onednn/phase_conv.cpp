#include "core/backends/onednn/phase_conv.h"

#include <dnnl.h>
#include <omp.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <utility>

#include "core/backends/onednn/phase_layout.h"
#include "core/error.h"
#include "core/kernels/reduce.h"
#include "core/threading.h"

namespace convgrad::onednn {

namespace {

using phase::Geom;

// Floats of one task's block of the large tensor: about 192 KiB, so that the block, the GEMM's other
// operand and its packed panels stay in the 1 MiB L2 of one core.
constexpr int64_t kBlockFloats = 48 * 1024;

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

// Row-major C = op(A) x op(B) (+ C when beta is 1). Inside a parallel region dnnl_sgemm runs on the
// calling thread alone. An exception must not leave an OpenMP region, so a failure is recorded in
// `failed` (the first one wins) and thrown by throw_if_failed once the region is over.
struct GemmFailure {
  std::atomic<int> status{dnnl_success};
  char ta = 0, tb = 0;
  int64_t M = 0, N = 0, K = 0;
};

void gemm(GemmFailure& failed, char ta, char tb, int64_t M, int64_t N, int64_t K, const float* A, int64_t lda,
          const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  const dnnl_status_t st = dnnl_sgemm(ta, tb, M, N, K, 1.f, A, lda, B, ldb, beta, C, ldc);
  int ok = dnnl_success;
  if (st != dnnl_success && failed.status.compare_exchange_strong(ok, int(st)))
    failed.ta = ta, failed.tb = tb, failed.M = M, failed.N = N, failed.K = K;
}

void throw_if_failed(const GemmFailure& f, const char* kernel) {
  CONVGRAD_CHECK(
      f.status == dnnl_success,
      "onednn phase convolution ({}): dnnl_sgemm({}, {}, M {}, N {}, K {}) failed with status {}; the reference "
      "backend (set_backend(\"reference\")) or CONVGRAD_PHASE_CONV=0 avoids this path",
      kernel, f.ta, f.tb, f.M, f.N, f.K, int(f.status));
}

// The work split: the units u = c * sh + rh (sw rows of the unshuffled src each) in blocks of `per`,
// the images in groups of `ng`. One task's block holds per * sw rows of ng * Q columns.
struct Split {
  int64_t per, blocks, ng, groups;
  int64_t block_floats(const Geom& g) const { return per * g.sw * ng * g.Q(); }
  int64_t u0(int64_t b) const { return b * per; }
  int64_t u1(const Geom& g, int64_t b) const { return std::min((b + 1) * per, g.C * g.sh); }
  int64_t n0(int64_t grp) const { return grp * ng; }
  int64_t n1(const Geom& g, int64_t grp) const { return std::min((grp + 1) * ng, g.N); }
  // Grid rows [first, last) where some unit of block b has a src row: elsewhere the block's rows of the
  // unshuffled src are zero and its rows of G are never read, so the GEMMs skip them (at the FCN
  // heads' padding of half a stride, one grid row in QH for most blocks).
  std::pair<int64_t, int64_t> grid_rows(const Geom& g, int64_t b) const {
    int64_t first = g.QH, last = 0;
    for (int64_t u = u0(b); u < u1(g, b); ++u) {
      first = std::min(first, g.rowspan[u % g.sh].lo);
      last = std::max(last, g.rowspan[u % g.sh].hi);
    }
    return {first, std::max(first, last)};
  }
};

// As many units as fit in kBlockFloats, then as many images; then smaller pieces (fewer images first)
// until there are `min_tasks` blocks x groups, so every thread has work.
Split make_split(const Geom& g, int64_t min_tasks) {
  const int64_t units = g.C * g.sh, unit = g.sw * g.Q();
  int64_t per = std::clamp<int64_t>(kBlockFloats / unit, 1, units);
  int64_t ng = std::clamp<int64_t>(kBlockFloats / (per * unit), 1, g.N);
  while (ceil_div(g.N, ng) * ceil_div(units, per) < min_tasks && (ng > 1 || per > 1)) {
    if (ng > 1)
      ng = ceil_div(ng, 2);
    else
      per = ceil_div(per, 2);
  }
  return {per, ceil_div(units, per), ng, ceil_div(g.N, ng)};
}

// A growable 64-byte-aligned buffer per calling thread, carved into W2, the columns, partial results
// and one block per worker thread.
class Workspace {
 public:
  int64_t take(int64_t floats) {
    int64_t at = used_;
    used_ += ceil_div(floats, 16) * 16;
    return at;
  }
  float* base() {
    struct Buffer {
      float* ptr = nullptr;
      int64_t size = 0;
      ~Buffer() { std::free(ptr); }
    };
    thread_local Buffer buf;
    if (used_ > buf.size) {
      std::free(buf.ptr);
      buf.ptr = static_cast<float*>(std::aligned_alloc(64, used_ * sizeof(float)));
      buf.size = buf.ptr ? used_ : 0;
      CONVGRAD_CHECK(buf.ptr != nullptr, "onednn phase convolution: could not allocate {} bytes of workspace",
                     used_ * sizeof(float));
    }
    return buf.ptr;
  }

 private:
  int64_t used_ = 0;
};

// col[(o, jh, jw), (n, q)] for every image: the GEMM operand built from dy (small), in parallel.
void gather_all_columns(const Geom& g, const float* dy, float* col) {
  const int64_t ld = g.N * g.Q();
#pragma omp parallel for num_threads(get_num_threads()) schedule(static)
  for (int64_t n = 0; n < g.N; ++n) phase::gather_columns(g, dy + n * g.O * g.OH * g.OW, col + n * g.Q(), ld);
}

}  // namespace

bool phase_conv_supported(const ConvShapes& s) {
  const ConvParams& p = s.params;
  for (const Shape* t : {&s.src, &s.wei, &s.dst})
    for (int64_t d : *t)
      if (d <= 0) return false;
  if (p.groups != 1 || p.dilation[0] != 1 || p.dilation[1] != 1) return false;
  if (p.stride[0] == 1 && p.stride[1] == 1) return false;
  return s.wei[2] % p.stride[0] == 0 && s.wei[3] % p.stride[1] == 0;
}

void phase_conv_backward_data(const Tensor& dy, const Tensor& w, const Tensor& bias, const Tensor& dx,
                              const ConvParams& p) {
  const Geom g(dx.shape(), w.shape(), dy.shape(), p);
  const int nthr = get_num_threads();
  const Split sp = make_split(g, 4 * nthr);
  const int64_t rows = g.rows(), taps = g.taps(), Q = g.Q(), NQ = g.N * Q, blk = sp.block_floats(g);
  Workspace ws;
  GemmFailure failed;
  const int64_t o_w2 = ws.take(taps * rows), o_col = ws.take(taps * NQ), o_thr = ws.take(nthr * blk);
  float* base = ws.base();
  float *w2 = base + o_w2, *col = base + o_col;
  phase::gather_weights(g, w.data<float>(), w2);
  gather_all_columns(g, dy.data<float>(), col);
  const float* bp = bias.defined() ? bias.data<float>() : nullptr;
  float* dxp = dx.data<float>();
#pragma omp parallel for schedule(dynamic) num_threads(nthr)
  for (int64_t t = 0; t < sp.groups * sp.blocks; ++t) {
    const int64_t grp = t / sp.blocks, b = t % sp.blocks, n0 = sp.n0(grp), n1 = sp.n1(g, grp);
    const int64_t u0 = sp.u0(b), u1 = sp.u1(g, b);
    float* buf = base + o_thr + omp_get_thread_num() * blk;
    // G[(n, q), (u, rw)] = sum over (o, jh, jw) of col[(o, jh, jw), (n, q)] * W2[(o, jh, jw), (u, rw)],
    // for the whole group at once, or image by image over the grid rows the block needs.
    const int64_t width = (u1 - u0) * g.sw;
    const auto [qa, qb] = sp.grid_rows(g, b);
    if (qa == 0 && qb == g.QH) {
      gemm(failed, 'T', 'N', (n1 - n0) * Q, width, taps, col + n0 * Q, NQ, w2 + u0 * g.sw, rows, 0.f, buf,
           width);
    } else if (qb > qa) {
      for (int64_t n = n0; n < n1; ++n)
        gemm(failed, 'T', 'N', (qb - qa) * g.QW, width, taps, col + n * Q + qa * g.QW, NQ, w2 + u0 * g.sw,
             rows, 0.f, buf + ((n - n0) * Q + qa * g.QW) * width, width);
    }
    for (int64_t n = n0; n < n1; ++n)
      phase::shuffle(g, buf + (n - n0) * Q * width, width, u0, u1, bp, dxp + n * g.C * g.H * g.W);
  }
  throw_if_failed(failed, "conv_backward_data");
}

void phase_conv_forward(const Tensor& x, const Tensor& w, const Tensor& bias, const Tensor& y,
                        const ConvParams& p) {
  const Geom g(x.shape(), w.shape(), y.shape(), p);
  const int nthr = get_num_threads();
  const Split sp = make_split(g, 1);
  // Each group's sum over the blocks is split in `parts` (each with its own partial Z, added up by
  // shift_add) until there are 4 tasks per thread, so that a slow thread delays little.
  const int64_t parts = std::min<int64_t>(sp.blocks, ceil_div(4 * nthr, sp.groups));
  const int64_t rows = g.rows(), taps = g.taps(), Q = g.Q(), NQ = g.N * Q, blk = sp.block_floats(g);
  Workspace ws;
  GemmFailure failed;
  const int64_t o_w2 = ws.take(taps * rows), o_z = ws.take(parts * taps * NQ), o_thr = ws.take(nthr * blk);
  float* base = ws.base();
  float *w2 = base + o_w2, *z = base + o_z;
  phase::gather_weights(g, w.data<float>(), w2);
  const float* xp = x.data<float>();
#pragma omp parallel for schedule(dynamic) num_threads(nthr)
  for (int64_t t = 0; t < sp.groups * parts; ++t) {
    const int64_t grp = t / parts, part = t % parts, n0 = sp.n0(grp), n1 = sp.n1(g, grp);
    float* buf = base + o_thr + omp_get_thread_num() * blk;
    float* zt = z + part * taps * NQ + n0 * Q;
    for (int64_t r = 0; r < taps; ++r) std::fill_n(zt + r * NQ, (n1 - n0) * Q, 0.f);
    const int64_t first = part * sp.blocks / parts, last = (part + 1) * sp.blocks / parts;
    for (int64_t b = first; b < last; ++b) {
      const int64_t u0 = sp.u0(b), u1 = sp.u1(g, b), width = (u1 - u0) * g.sw;
      for (int64_t n = n0; n < n1; ++n)
        phase::unshuffle(g, xp + n * g.C * g.H * g.W, u0, u1, buf + (n - n0) * Q * width, width);
      // Z[(o, jh, jw), (n, q)] += sum over the block's (u, rw) of W2[(o, jh, jw), (u, rw)] * xp[(n, q), (u,
      // rw)], for the whole group, or image by image over the grid rows where the block is not zero. Z has
      // the taps as rows, the short side (docs/performance.md#the-phase-decomposition-kernel--2-x-stride).
      const auto [qa, qb] = sp.grid_rows(g, b);
      if (qa == 0 && qb == g.QH) {
        gemm(failed, 'N', 'T', taps, (n1 - n0) * Q, width, w2 + u0 * g.sw, rows, buf, width, 1.f, zt, NQ);
      } else if (qb > qa) {
        for (int64_t n = n0; n < n1; ++n) {
          const int64_t at = (n - n0) * Q + qa * g.QW;
          gemm(failed, 'N', 'T', taps, (qb - qa) * g.QW, width, w2 + u0 * g.sw, rows, buf + at * width, width,
               1.f, zt + at, NQ);
        }
      }
    }
  }
  throw_if_failed(failed, "conv_forward");
  const float* bp = bias.defined() ? bias.data<float>() : nullptr;
  float* yp = y.data<float>();
#pragma omp parallel for num_threads(get_num_threads()) schedule(static)
  for (int64_t no = 0; no < g.N * g.O; ++no) {
    const int64_t n = no / g.O, o = no % g.O;
    phase::shift_add(g, z + n * Q, NQ, parts, taps * NQ, o, bp ? bp[o] : 0.f, yp + no * g.OH * g.OW);
  }
}

void phase_conv_backward_weights(const Tensor& x, const Tensor& dy, const Tensor& dw, const Tensor& db,
                                 const ConvParams& p) {
  const Geom g(x.shape(), dw.shape(), dy.shape(), p);
  const int nthr = get_num_threads();
  const Split sp = make_split(g, 1);
  // With fewer than 4 blocks per thread, the image groups are split in `parts`, each summing into its
  // own partial dW2, added up by scatter_weights.
  const int64_t parts =
      sp.blocks >= 4 * nthr ? 1 : std::min<int64_t>(sp.groups, ceil_div(4 * nthr, sp.blocks));
  const int64_t rows = g.rows(), taps = g.taps(), Q = g.Q(), NQ = g.N * Q, blk = sp.block_floats(g);
  Workspace ws;
  GemmFailure failed;
  const int64_t o_col = ws.take(taps * NQ), o_dw2 = ws.take(parts * taps * rows), o_thr = ws.take(nthr * blk);
  float* base = ws.base();
  float *col = base + o_col, *dw2 = base + o_dw2;
  const float *xp = x.data<float>(), *dyp = dy.data<float>();
  gather_all_columns(g, dyp, col);
#pragma omp parallel for schedule(dynamic) num_threads(nthr)
  for (int64_t t = 0; t < parts * sp.blocks; ++t) {
    const int64_t part = t / sp.blocks, b = t % sp.blocks, u0 = sp.u0(b), u1 = sp.u1(g, b);
    const int64_t width = (u1 - u0) * g.sw;
    float* buf = base + o_thr + omp_get_thread_num() * blk;
    const int64_t first = part * sp.groups / parts, last = (part + 1) * sp.groups / parts;
    const auto [qa, qb] = sp.grid_rows(g, b);
    float* dst = dw2 + part * taps * rows + u0 * g.sw;
    float beta = 0.f;  // the first product overwrites the block of dW2, the next ones add to it
    for (int64_t grp = first; grp < last; ++grp) {
      const int64_t n0 = sp.n0(grp), n1 = sp.n1(g, grp);
      for (int64_t n = n0; n < n1; ++n)
        phase::unshuffle(g, xp + n * g.C * g.H * g.W, u0, u1, buf + (n - n0) * Q * width, width);
      // dW2[(o, jh, jw), (u, rw)] += sum over (n, q) of col[(o, jh, jw), (n, q)] * xp[(n, q), (u, rw)], for
      // the whole group, or image by image over the grid rows where the block is not zero.
      if (qa == 0 && qb == g.QH) {
        gemm(failed, 'N', 'N', taps, width, (n1 - n0) * Q, col + n0 * Q, NQ, buf, width, beta, dst, rows);
        beta = 1.f;
      } else if (qb > qa) {
        for (int64_t n = n0; n < n1; ++n, beta = 1.f)
          gemm(failed, 'N', 'N', taps, width, (qb - qa) * g.QW, col + n * Q + qa * g.QW, NQ,
               buf + ((n - n0) * Q + qa * g.QW) * width, width, beta, dst, rows);
      }
    }
    // A block with no src row at all (a stride above the src size) has a zero gradient.
    if (beta == 0.f)
      for (int64_t r = 0; r < taps; ++r) std::fill_n(dst + r * rows, width, 0.f);
  }
  throw_if_failed(failed, "conv_backward_weights");
  phase::scatter_weights(g, dw2, parts, dw.data<float>());
  if (!db.defined()) return;
  kernels::channel_sum(dyp, g.N, g.O, g.OH * g.OW, db.data<float>());
}

}  // namespace convgrad::onednn
