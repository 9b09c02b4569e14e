// Fused cross entropy. The work is split into (sample, block of kBlock pixels) items; within one item every
// loop runs over contiguous pixels of one class row, so it vectorises, and the per-pixel scratch stays in L1.
#include "core/kernels/cross_entropy.h"

#include <algorithm>
#include <limits>

#include "core/kernels/fast_math.h"
#include "core/threading.h"

namespace convgrad::kernels {

namespace {

constexpr int64_t kBlock = 512;               // pixels per work item
constexpr int64_t kParallelLogits = 1 << 16;  // fewer logits than this run on one thread

int64_t blocks_per_sample(const CrossEntropyGeometry& g) { return (g.S + kBlock - 1) / kBlock; }

}  // namespace

CrossEntropySums cross_entropy_weights(const CrossEntropyGeometry& g, const int64_t* target) {
  const int64_t n = g.N * g.S, C = g.C, ignore = g.ignore_index;
  double weight_sum = 0.0;
  int64_t bad = std::numeric_limits<int64_t>::max();
#pragma omp parallel for num_threads(get_num_threads()) schedule(static) reduction(+ : weight_sum) \
    reduction(min : bad) if (n > kParallelLogits)
  for (int64_t i = 0; i < n; ++i) {
    const int64_t cls = target[i];
    if (cls == ignore) continue;
    if (cls < 0 || cls >= C)
      bad = std::min(bad, i);
    else
      weight_sum += g.weight ? g.weight[cls] : 1.f;
  }
  return {0.0, weight_sum, bad == std::numeric_limits<int64_t>::max() ? -1 : bad};
}

CrossEntropySums cross_entropy_forward(const CrossEntropyGeometry& g, const float* x, const int64_t* target,
                                       float* stats, float* losses, float* grad, float grad_scale) {
  const int64_t N = g.N, C = g.C, S = g.S, nb = blocks_per_sample(g), items = N * nb;
  const int64_t ignore = g.ignore_index;
  double loss_sum = 0.0, weight_sum = 0.0;
  int64_t bad = std::numeric_limits<int64_t>::max();
#pragma omp parallel for num_threads(get_num_threads()) schedule(static) reduction(+ : loss_sum, weight_sum) reduction(min : bad) \
    if (N * C * S > kParallelLogits)
  for (int64_t item = 0; item < items; ++item) {
    const int64_t n = item / nb, s0 = item % nb * kBlock, L = std::min(kBlock, S - s0);
    const float* xn = x + n * C * S + s0;
    float* gn = grad ? grad + n * C * S + s0 : nullptr;
    float m[kBlock], sum[kBlock], lse[kBlock];
    std::copy(xn, xn + L, m);
    for (int64_t c = 1; c < C; ++c)
      for (int64_t s = 0; s < L; ++s) {
        const float v = xn[c * S + s];
        m[s] = v > m[s] ? v : m[s];  // = std::max(m, v), one vmaxps; a NaN reaches the sum below
      }
    std::fill(sum, sum + L, 0.f);
    if (gn) {  // keep each exp(x - max) in the gradient's place: normalised below
      for (int64_t c = 0; c < C; ++c)
        for (int64_t s = 0; s < L; ++s) sum[s] += gn[c * S + s] = exp_nonpositive(xn[c * S + s] - m[s]);
    } else {
      for (int64_t c = 0; c < C; ++c)
        for (int64_t s = 0; s < L; ++s) sum[s] += exp_nonpositive(xn[c * S + s] - m[s]);
    }
    for (int64_t s = 0; s < L; ++s) lse[s] = log_normal(sum[s]);  // sum >= 1: the max contributes e^0
    if (stats) {
      std::copy(m, m + L, stats + n * S + s0);
      std::copy(lse, lse + L, stats + N * S + n * S + s0);
    }
    const int64_t* y = target + n * S + s0;
    // Bad targets are rare: one branch-free scan, and a search only when it finds one.
    bool any_bad = false;
    for (int64_t s = 0; s < L; ++s)
      any_bad |= y[s] != ignore && static_cast<uint64_t>(y[s]) >= static_cast<uint64_t>(C);
    if (any_bad)
      for (int64_t s = 0; s < L; ++s)
        if (y[s] != ignore && static_cast<uint64_t>(y[s]) >= static_cast<uint64_t>(C))
          bad = std::min(bad, n * S + s0 + s);
    float* out = losses ? losses + n * S + s0 : nullptr;
    float coef[kBlock], l[kBlock];
    double block_loss = 0.0, block_weight = 0.0;
    // Branch-free so it vectorises: an ignored (or bad) target reads class 0 and weighs 0.
    for (int64_t s = 0; s < L; ++s) {
      const int64_t cls = y[s];
      const bool counted = cls != ignore && static_cast<uint64_t>(cls) < static_cast<uint64_t>(C);
      const int64_t c = counted ? cls : 0;
      const float w = counted ? (g.weight ? g.weight[c] : 1.f) : 0.f;
      l[s] = counted ? w * ((m[s] - xn[c * S + s]) + lse[s]) : 0.f;
      block_loss += l[s];
      block_weight += w;
      coef[s] =
          counted ? w * grad_scale : 0.f;  // not 0 * scale: the scale is inf when every target is ignored
    }
    loss_sum += block_loss;
    weight_sum += block_weight;
    if (out) std::copy(l, l + L, out);
    if (gn) {
      // d loss / d x = coef * (softmax(x) - onehot(y)), softmax = exp(x - max) / sum.
      for (int64_t s = 0; s < L; ++s) sum[s] = coef[s] / sum[s];
      for (int64_t c = 0; c < C; ++c)
        for (int64_t s = 0; s < L; ++s) gn[c * S + s] *= sum[s];
      for (int64_t s = 0; s < L; ++s)
        if (static_cast<uint64_t>(y[s]) < static_cast<uint64_t>(C)) gn[y[s] * S + s] -= coef[s];
    }
  }
  return {loss_sum, weight_sum, bad == std::numeric_limits<int64_t>::max() ? -1 : bad};
}

void cross_entropy_backward(const CrossEntropyGeometry& g, const float* x, const int64_t* target,
                            const float* stats, const float* upstream, float upstream_scalar, float scale,
                            float* grad_x) {
  const int64_t N = g.N, C = g.C, S = g.S, nb = blocks_per_sample(g), items = N * nb;
  const int64_t ignore = g.ignore_index;
#pragma omp parallel for num_threads(get_num_threads()) schedule(static) if (N * C * S > kParallelLogits)
  for (int64_t item = 0; item < items; ++item) {
    const int64_t n = item / nb, s0 = item % nb * kBlock, L = std::min(kBlock, S - s0);
    const float* m = stats + n * S + s0;
    const float* lse = stats + N * S + n * S + s0;
    const int64_t* y = target + n * S + s0;
    float coef[kBlock];
    for (int64_t s = 0; s < L; ++s) {
      const float up = upstream ? upstream[n * S + s0 + s] : upstream_scalar;
      coef[s] = y[s] == ignore ? 0.f : up * (g.weight ? g.weight[y[s]] : 1.f) * scale;
    }
    // d loss / d x = coef * (softmax(x) - onehot(y)); softmax = exp((x - max) - log(sum)).
    for (int64_t c = 0; c < C; ++c) {
      const float* xr = x + (n * C + c) * S + s0;
      float* gr = grad_x + (n * C + c) * S + s0;
      for (int64_t s = 0; s < L; ++s) gr[s] = coef[s] * exp_nonpositive((xr[s] - m[s]) - lse[s]);
    }
    for (int64_t s = 0; s < L; ++s)
      if (y[s] != ignore) grad_x[(n * C + y[s]) * S + s0 + s] -= coef[s];
  }
}

}  // namespace convgrad::kernels
