#include "core/kernels/upsample.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/factory.h"
#include "core/kernels/elementwise.h"
#include "core/threading.h"

namespace convgrad::kernels {

namespace {

// For every output position along one axis: the two source indices and their weights.
struct AxisTaps {
  std::vector<int64_t> i0, i1;
  std::vector<float> w0, w1;
};

// PyTorch's align_corners=false mapping: src = (dst + 0.5) * in / out - 0.5, clamped at 0; the
// upper neighbour is clamped to the last pixel. Computed in float, as PyTorch does for float32.
AxisTaps axis_taps(int64_t in, int64_t out) {
  AxisTaps t;
  t.i0.resize(out);
  t.i1.resize(out);
  t.w0.resize(out);
  t.w1.resize(out);
  const float scale = static_cast<float>(in) / static_cast<float>(out);
  for (int64_t o = 0; o < out; ++o) {
    float src = std::max(scale * (static_cast<float>(o) + 0.5f) - 0.5f, 0.f);
    int64_t i0 = std::min(static_cast<int64_t>(std::floor(src)), in - 1);
    float lambda = std::clamp(src - static_cast<float>(i0), 0.f, 1.f);
    t.i0[o] = i0;
    t.i1[o] = i0 + (i0 < in - 1 ? 1 : 0);
    t.w0[o] = 1.f - lambda;
    t.w1[o] = lambda;
  }
  return t;
}

// The transpose of the taps, as compressed rows: for input index i, the outputs start[i]..start[i+1]
// of `out` with their weights. Backward gathers through it instead of scattering, so no two updates
// of one accumulator wait on each other through memory.
struct AxisGather {
  std::vector<int64_t> start, out;
  std::vector<float> weight;
};

AxisGather axis_gather(const AxisTaps& t, int64_t in) {
  AxisGather g;
  g.start.assign(static_cast<size_t>(in + 1), 0);
  const int64_t n = static_cast<int64_t>(t.i0.size());
  for (int64_t o = 0; o < n; ++o) {
    ++g.start[t.i0[o] + 1];
    ++g.start[t.i1[o] + 1];
  }
  for (int64_t i = 0; i < in; ++i) g.start[i + 1] += g.start[i];
  g.out.resize(static_cast<size_t>(2 * n));
  g.weight.resize(static_cast<size_t>(2 * n));
  std::vector<int64_t> fill(g.start.begin(), g.start.end() - 1);
  for (int64_t o = 0; o < n; ++o) {
    g.out[fill[t.i0[o]]] = o;
    g.weight[fill[t.i0[o]]++] = t.w0[o];
    g.out[fill[t.i1[o]]] = o;
    g.weight[fill[t.i1[o]]++] = t.w1[o];
  }
  return g;
}

}  // namespace

Tensor upsample_bilinear2d_forward(const Tensor& x, int64_t out_h, int64_t out_w) {
  Tensor xc = x.is_contiguous() ? x : clone_data(x);
  const Shape& s = x.shape();
  const int64_t planes = s[0] * s[1], h = s[2], w = s[3];
  // Allocate (and so size-check) the output before the per-row tables, which are as long as the output is
  // tall.
  Tensor out = empty({s[0], s[1], out_h, out_w});
  if (out.numel() == 0) return out;
  const AxisTaps ty = axis_taps(h, out_h), tx = axis_taps(w, out_w);
  const float* src = xc.data<float>();
  float* dst = out.data<float>();
  // Threads only above the elementwise threshold (4 multiply-adds per output value).
#pragma omp parallel for num_threads(get_num_threads()) schedule(static) if (out.numel() > kParallelThreshold)
  for (int64_t p = 0; p < planes; ++p) {
    const float* in = src + p * h * w;
    float* o = dst + p * out_h * out_w;
    for (int64_t oy = 0; oy < out_h; ++oy) {
      const float* r0 = in + ty.i0[oy] * w;
      const float* r1 = in + ty.i1[oy] * w;
      const float a = ty.w0[oy], b = ty.w1[oy];
      for (int64_t ox = 0; ox < out_w; ++ox) {
        const int64_t x0 = tx.i0[ox], x1 = tx.i1[ox];
        o[oy * out_w + ox] =
            a * (tx.w0[ox] * r0[x0] + tx.w1[ox] * r0[x1]) + b * (tx.w0[ox] * r1[x0] + tx.w1[ox] * r1[x1]);
      }
    }
  }
  return out;
}

Tensor upsample_bilinear2d_backward(const Tensor& grad_out, const Shape& input_shape) {
  Tensor gc = grad_out.is_contiguous() ? grad_out : clone_data(grad_out);
  const Shape& s = grad_out.shape();
  const int64_t planes = s[0] * s[1], out_h = s[2], out_w = s[3];
  const int64_t h = input_shape[2], w = input_shape[3];
  const AxisTaps ty = axis_taps(h, out_h), tx = axis_taps(w, out_w);
  const AxisGather gx = axis_gather(tx, w);
  Tensor grad_in = zeros(input_shape);
  const float* go = gc.data<float>();
  float* gi = grad_in.data<float>();
  // Each plane scatters only into its own input plane, so planes run in parallel without races.
  // Separable: a gradient row is first gathered along W into `row`, then added to its two input rows.
#pragma omp parallel num_threads(get_num_threads()) if (grad_out.numel() > kParallelThreshold)
  {
    std::vector<float> row(static_cast<size_t>(w));
#pragma omp for schedule(static)
    for (int64_t p = 0; p < planes; ++p) {
      const float* o = go + p * out_h * out_w;
      float* in = gi + p * h * w;
      for (int64_t oy = 0; oy < out_h; ++oy) {
        const float* grow = o + oy * out_w;
        for (int64_t i = 0; i < w; ++i) {
          float acc = 0.f;
          for (int64_t k = gx.start[i]; k < gx.start[i + 1]; ++k) acc += gx.weight[k] * grow[gx.out[k]];
          row[i] = acc;
        }
        float* r0 = in + ty.i0[oy] * w;
        float* r1 = in + ty.i1[oy] * w;
        const float a = ty.w0[oy], b = ty.w1[oy];
        for (int64_t i = 0; i < w; ++i) r0[i] += a * row[i];
        for (int64_t i = 0; i < w; ++i) r1[i] += b * row[i];
      }
    }
  }
  return grad_in;
}

}  // namespace convgrad::kernels
