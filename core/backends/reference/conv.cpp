#include "core/backends/reference/conv.h"

#include <algorithm>
#include <vector>

#include "core/kernels/reduce.h"
#include "core/threading.h"

namespace convgrad::reference {

namespace {

// Sizes of one call, read once from the shapes (src = conv input, dst = conv output).
struct Dims {
  int64_t N, C, H, W, O, OH, OW, KH, KW, g, Cg, Og;
  Dims(const Shape& src, const Shape& wei, const Shape& dst, int64_t groups)
      : N(src[0]),
        C(src[1]),
        H(src[2]),
        W(src[3]),
        O(dst[1]),
        OH(dst[2]),
        OW(dst[3]),
        KH(wei[2]),
        KW(wei[3]),
        g(groups),
        Cg(wei[1]),
        Og(dst[1] / groups) {}
};

// Output positions [lo, hi) whose tap `k` lands inside the input along one dimension:
// in = out * s - pad + k * d must lie in [0, in_size).
struct Range {
  int64_t lo, hi;
};
Range valid(int64_t k, int64_t s, int64_t d, int64_t pad, int64_t in_size, int64_t out_size) {
  int64_t off = k * d - pad;  // in = out * s + off
  int64_t lo = std::max<int64_t>(0, -floor_div(off, s));
  int64_t hi = std::min<int64_t>(out_size, floor_div(in_size - 1 - off, s) + 1);
  return {lo, std::max(lo, hi)};
}

// Calls f(x_at, y_at) for every pair of one input plane's pixel x_at and one output plane's pixel
// y_at that kernel tap (kh, kw) connects: x[x_at] meets w[kh, kw] in y[y_at]. The three kernels below
// are this one walk with the roles of x, w and y exchanged, which is what makes them each other's
// adjoints.
template <class F>
void for_each_pixel_pair(const Dims& D, const ConvParams& p, int64_t kh, int64_t kw, F f) {
  const Range r = valid(kh, p.stride[0], p.dilation[0], p.pad_begin[0], D.H, D.OH);
  const Range q = valid(kw, p.stride[1], p.dilation[1], p.pad_begin[1], D.W, D.OW);
  for (int64_t oh = r.lo; oh < r.hi; ++oh) {
    const int64_t base = (oh * p.stride[0] - p.pad_begin[0] + kh * p.dilation[0]) * D.W +
                         (kw * p.dilation[1] - p.pad_begin[1]);
    for (int64_t ow = q.lo; ow < q.hi; ++ow) f(base + ow * p.stride[1], oh * D.OW + ow);
  }
}

}  // namespace

void conv_forward(const Tensor& x, const Tensor& w, const Tensor& bias, const Tensor& y,
                  const ConvParams& p) {
  Dims D(x.shape(), w.shape(), y.shape(), p.groups);
  const float* xp = x.data<float>();
  const float* wp = w.data<float>();
  const float* bp = bias.defined() ? bias.data<float>() : nullptr;
  float* yp = y.data<float>();
  // One task per (n, output channel): each writes its own plane.
#pragma omp parallel for num_threads(get_num_threads()) schedule(static)
  for (int64_t no = 0; no < D.N * D.O; ++no) {
    const int64_t n = no / D.O, o = no % D.O, grp = o / D.Og;
    std::vector<double> acc(D.OH * D.OW, bp ? double(bp[o]) : 0.0);
    for (int64_t c = 0; c < D.Cg; ++c) {
      const float* xc = xp + ((n * D.C + grp * D.Cg + c) * D.H) * D.W;
      const float* wk = wp + (o * D.Cg + c) * D.KH * D.KW;
      for (int64_t kh = 0; kh < D.KH; ++kh)
        for (int64_t kw = 0; kw < D.KW; ++kw) {
          const double wv = wk[kh * D.KW + kw];
          for_each_pixel_pair(D, p, kh, kw, [&](int64_t xi, int64_t yi) { acc[yi] += wv * xc[xi]; });
        }
    }
    float* yo = yp + no * D.OH * D.OW;
    for (int64_t i = 0; i < D.OH * D.OW; ++i) yo[i] = static_cast<float>(acc[i]);
  }
}

void conv_backward_data(const Tensor& dy, const Tensor& w, const Tensor& bias, const Tensor& dx,
                        const ConvParams& p) {
  Dims D(dx.shape(), w.shape(), dy.shape(), p.groups);
  const float* gp = dy.data<float>();
  const float* wp = w.data<float>();
  const float* bp = bias.defined() ? bias.data<float>() : nullptr;
  float* xp = dx.data<float>();
  // One task per (n, input channel): each writes its own plane, so no two threads collide.
#pragma omp parallel for num_threads(get_num_threads()) schedule(static)
  for (int64_t nc = 0; nc < D.N * D.C; ++nc) {
    const int64_t n = nc / D.C, c = nc % D.C, grp = c / D.Cg, cg = c % D.Cg;
    std::vector<double> acc(D.H * D.W, bp ? double(bp[c]) : 0.0);
    for (int64_t o = grp * D.Og; o < (grp + 1) * D.Og; ++o) {
      const float* go = gp + (n * D.O + o) * D.OH * D.OW;
      const float* wk = wp + (o * D.Cg + cg) * D.KH * D.KW;
      for (int64_t kh = 0; kh < D.KH; ++kh)
        for (int64_t kw = 0; kw < D.KW; ++kw) {
          const double wv = wk[kh * D.KW + kw];
          for_each_pixel_pair(D, p, kh, kw, [&](int64_t xi, int64_t yi) { acc[xi] += wv * go[yi]; });
        }
    }
    float* xc = xp + nc * D.H * D.W;
    for (int64_t i = 0; i < D.H * D.W; ++i) xc[i] = static_cast<float>(acc[i]);
  }
}

void conv_backward_weights(const Tensor& x, const Tensor& dy, const Tensor& dw, const Tensor& db,
                           const ConvParams& p) {
  Dims D(x.shape(), dw.shape(), dy.shape(), p.groups);
  const float* xp = x.data<float>();
  const float* gp = dy.data<float>();
  float* wp = dw.data<float>();
  // One task per (output channel, input channel of its group): each owns kh * kw weights.
#pragma omp parallel for num_threads(get_num_threads()) schedule(static)
  for (int64_t oc = 0; oc < D.O * D.Cg; ++oc) {
    const int64_t o = oc / D.Cg, cg = oc % D.Cg, c = (o / D.Og) * D.Cg + cg;
    for (int64_t kh = 0; kh < D.KH; ++kh)
      for (int64_t kw = 0; kw < D.KW; ++kw) {
        double acc = 0.0;
        for (int64_t n = 0; n < D.N; ++n) {
          const float* xc = xp + (n * D.C + c) * D.H * D.W;
          const float* go = gp + (n * D.O + o) * D.OH * D.OW;
          for_each_pixel_pair(D, p, kh, kw, [&](int64_t xi, int64_t yi) { acc += double(go[yi]) * xc[xi]; });
        }
        wp[(oc * D.KH + kh) * D.KW + kw] = static_cast<float>(acc);
      }
  }
  if (!db.defined()) return;
  kernels::channel_sum(gp, D.N, D.O, D.OH * D.OW, db.data<float>());
}

}  // namespace convgrad::reference
