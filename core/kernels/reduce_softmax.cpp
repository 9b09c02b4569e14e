// The softmax family along one dim: logsumexp, softmax, log_softmax and their gradients.
// Every kernel sees its input as (outer, n, inner) and keeps one buffer of `inner` running values
// per outer block, so the reduced dim is walked row by row in memory order whatever its position.
#include <cmath>
#include <limits>
#include <vector>

#include "core/factory.h"
#include "core/kernels/layout.h"
#include "core/kernels/reduce.h"
#include "core/kernels/reduce_detail.h"
#include "core/threading.h"

namespace convgrad::kernels {

using detail::DimLayout;

namespace {

constexpr float kNegInf = -std::numeric_limits<float>::infinity();

// Runs body(o, buf_a, buf_b) for every outer block, in parallel when the tensor is large.
// buf_a/buf_b are per-thread scratch rows of `inner` doubles.
template <class Body>
void for_each_block(const DimLayout& l, Body body) {
  const bool parallel = l.outer > 1 && l.outer * l.n * l.inner >= (int64_t{1} << 15);
#pragma omp parallel num_threads(get_num_threads()) if (parallel)
  {
    std::vector<double> a(static_cast<size_t>(l.inner)), b(static_cast<size_t>(l.inner));
#pragma omp for schedule(static)
    for (int64_t o = 0; o < l.outer; ++o) body(o, a.data(), b.data());
  }
}

// Per inner position: shift = max over the dim (0 when every value is -inf, so exp stays finite),
// and sum = sum of exp(x - shift), accumulated in float64. With `exps`, also stores each exp(x - shift).
// A NaN input is skipped by the max but turns the sum (and so every result) into NaN, like PyTorch.
void max_and_expsum(const float* base, const DimLayout& l, double* shift, double* sum,
                    float* exps = nullptr) {
  if (l.inner == 1) {  // the common last-dim case: plain scalar loops over one contiguous row
    float m = kNegInf;
    for (int64_t j = 0; j < l.n; ++j) m = base[j] > m ? base[j] : m;
    if (m == kNegInf) m = 0.f;
    double s = 0.0;
    for (int64_t j = 0; j < l.n; ++j) {
      const float e = std::exp(base[j] - m);
      if (exps) exps[j] = e;
      s += e;
    }
    shift[0] = m;
    sum[0] = s;
    return;
  }
  for (int64_t i = 0; i < l.inner; ++i) shift[i] = kNegInf;
  for (int64_t j = 0; j < l.n; ++j)
    for (int64_t i = 0; i < l.inner; ++i) shift[i] = std::max<double>(shift[i], base[j * l.inner + i]);
  for (int64_t i = 0; i < l.inner; ++i) {
    if (shift[i] == kNegInf) shift[i] = 0.0;
    sum[i] = 0.0;
  }
  for (int64_t j = 0; j < l.n; ++j)
    for (int64_t i = 0; i < l.inner; ++i) {
      const int64_t k = j * l.inner + i;
      const float e = std::exp(static_cast<float>(base[k] - shift[i]));
      if (exps) exps[k] = e;
      sum[i] += e;
    }
}

struct Prepared {
  Tensor x;  // contiguous float32 (0-d seen as [1])
  DimLayout l;
  int64_t dim;
};

Prepared prepare(const Tensor& x, int64_t dim, const char* op) {
  Prepared p;
  p.dim = normalize_dim(dim, x.dim(), op);
  p.x = detail::float_input(x, op);
  p.l = detail::dim_layout(p.x.shape(), p.dim);
  return p;
}

}  // namespace

Tensor logsumexp(const Tensor& x, int64_t dim, bool keepdim) {
  Prepared p = prepare(x, dim, "logsumexp");
  Shape out_shape = x.dim() == 0 ? Shape{} : reduced_shape(x.shape(), {p.dim}, keepdim);
  Tensor out = empty(out_shape);
  const float* in = p.x.data<float>();
  float* o = out.data<float>();
  for_each_block(p.l, [&](int64_t b, double* shift, double* sum) {
    max_and_expsum(in + b * p.l.n * p.l.inner, p.l, shift, sum);
    for (int64_t i = 0; i < p.l.inner; ++i)
      o[b * p.l.inner + i] = std::isinf(shift[i]) ? static_cast<float>(shift[i])
                                                  : static_cast<float>(shift[i] + std::log(sum[i]));
  });
  return out;
}

Tensor softmax(const Tensor& x, int64_t dim) {
  Prepared p = prepare(x, dim, "softmax");
  Tensor out = empty(x.shape());
  const float* in = p.x.data<float>();
  float* po = out.data<float>();
  for_each_block(p.l, [&](int64_t b, double* shift, double* sum) {
    const float* base = in + b * p.l.n * p.l.inner;
    float* ob = po + b * p.l.n * p.l.inner;
    max_and_expsum(base, p.l, shift, sum, ob);
    for (int64_t i = 0; i < p.l.inner; ++i) sum[i] = 1.0 / sum[i];
    for (int64_t j = 0; j < p.l.n; ++j)
      for (int64_t i = 0; i < p.l.inner; ++i) ob[j * p.l.inner + i] *= static_cast<float>(sum[i]);
  });
  return out;
}

Tensor log_softmax(const Tensor& x, int64_t dim) {
  Prepared p = prepare(x, dim, "log_softmax");
  Tensor out = empty(x.shape());
  const float* in = p.x.data<float>();
  float* po = out.data<float>();
  for_each_block(p.l, [&](int64_t b, double* shift, double* sum) {
    const float* base = in + b * p.l.n * p.l.inner;
    float* ob = po + b * p.l.n * p.l.inner;
    max_and_expsum(base, p.l, shift, sum);
    for (int64_t i = 0; i < p.l.inner; ++i) sum[i] = std::log(sum[i]);
    // (x - max) - log(sum), not x - (max + log(sum)): at |x| ~ 1e30 the latter rounds log(sum) away.
    for (int64_t j = 0; j < p.l.n; ++j)
      for (int64_t i = 0; i < p.l.inner; ++i) {
        int64_t k = j * p.l.inner + i;
        ob[k] = static_cast<float>((base[k] - shift[i]) - sum[i]);
      }
  });
  return out;
}

namespace {

// The shape both softmax backwards share: along `dim`, acc = sum_j term(g, y) (in double), then each
// element becomes result(g, y, acc).
template <class Term, class Result>
Tensor sum_along_then_map(const Tensor& grad, const Tensor& y, int64_t dim, const char* op, Term term,
                          Result result) {
  Prepared p = prepare(y, dim, op);
  Tensor g = detail::float_input(grad, op);
  Tensor out = empty(y.shape());
  const float* py = p.x.data<float>();
  const float* pg = g.data<float>();
  float* po = out.data<float>();
  for_each_block(p.l, [&](int64_t b, double* acc, double*) {
    const int64_t start = b * p.l.n * p.l.inner;
    for (int64_t i = 0; i < p.l.inner; ++i) acc[i] = 0.0;
    for (int64_t j = 0; j < p.l.n; ++j)
      for (int64_t i = 0; i < p.l.inner; ++i) {
        const int64_t k = start + j * p.l.inner + i;
        acc[i] += term(pg[k], py[k]);
      }
    for (int64_t j = 0; j < p.l.n; ++j)
      for (int64_t i = 0; i < p.l.inner; ++i) {
        const int64_t k = start + j * p.l.inner + i;
        po[k] = static_cast<float>(result(pg[k], py[k], acc[i]));
      }
  });
  return out;
}

}  // namespace

// dx = y (g - sum(g y)).
Tensor softmax_backward(const Tensor& grad, const Tensor& y, int64_t dim) {
  return sum_along_then_map(
      grad, y, dim, "softmax_backward", [](float g, float y) { return static_cast<double>(g) * y; },
      [](float g, float y, double dot) { return y * (g - dot); });
}

// dx = g - exp(y) sum(g).
Tensor log_softmax_backward(const Tensor& grad, const Tensor& y, int64_t dim) {
  return sum_along_then_map(
      grad, y, dim, "log_softmax_backward", [](float g, float) { return static_cast<double>(g); },
      [](float g, float y, double total) { return g - std::exp(y) * total; });
}

Tensor logsumexp_backward(const Tensor& grad, const Tensor& x, const Tensor& lse, int64_t dim) {
  Prepared p = prepare(x, dim, "logsumexp_backward");
  Tensor g = detail::float_input(grad, "logsumexp_backward");
  Tensor s = detail::float_input(lse, "logsumexp_backward");
  Tensor out = empty(x.shape());
  const float* px = p.x.data<float>();
  const float* pg = g.data<float>();
  const float* ps = s.data<float>();
  float* po = out.data<float>();
  for_each_block(p.l, [&](int64_t b, double*, double*) {
    const int64_t start = b * p.l.n * p.l.inner;
    for (int64_t j = 0; j < p.l.n; ++j)
      for (int64_t i = 0; i < p.l.inner; ++i) {
        int64_t k = start + j * p.l.inner + i, r = b * p.l.inner + i;
        po[k] = pg[r] * std::exp(px[k] - ps[r]);
      }
  });
  return out;
}

}  // namespace convgrad::kernels
