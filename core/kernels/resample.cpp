#include "core/kernels/resample.h"

#include <algorithm>

#include "core/factory.h"
#include "core/kernels/elementwise.h"
#include "core/threading.h"

namespace convgrad::kernels {

namespace {

// A pass runs on several threads only when its multiply-adds (rows x taps) are above the elementwise
// threshold: below it a parallel region costs more than it saves, and far more on a busy machine.
bool worth_threads(int64_t rows, const ResampleAxis& a) {
  return rows * static_cast<int64_t>(a.index.size()) > kParallelThreshold;
}

// Along W: `rows` rows of `ax.in` values become rows of `ax.out` values.
void pass_w(const float* src, float* dst, int64_t rows, const ResampleAxis& ax) {
  const int64_t* start = ax.start.data();
  const int64_t* index = ax.index.data();
  const float* weight = ax.weight.data();
#pragma omp parallel for num_threads(get_num_threads()) schedule(static) if (worth_threads(rows, ax))
  for (int64_t r = 0; r < rows; ++r) {
    const float* in = src + r * ax.in;
    float* out = dst + r * ax.out;
    for (int64_t o = 0; o < ax.out; ++o) {
      float acc = 0.f;
      for (int64_t k = start[o]; k < start[o + 1]; ++k) acc += weight[k] * in[index[k]];
      out[o] = acc;
    }
  }
}

// Along H: each of `planes` planes of (ay.in, w) becomes (ay.out, w), a weighted sum of whole rows.
void pass_h(const float* src, float* dst, int64_t planes, int64_t w, const ResampleAxis& ay) {
#pragma omp parallel for num_threads(get_num_threads()) collapse(2) \
    schedule(static) if (worth_threads(planes * w, ay))
  for (int64_t p = 0; p < planes; ++p)
    for (int64_t o = 0; o < ay.out; ++o) {
      const float* in = src + p * ay.in * w;
      float* out = dst + (p * ay.out + o) * w;
      const int64_t k0 = ay.start[o], k1 = ay.start[o + 1];
      if (k0 == k1) {
        std::fill(out, out + w, 0.f);
        continue;
      }
      const float w0 = ay.weight[k0];
      const float* r0 = in + ay.index[k0] * w;
      for (int64_t x = 0; x < w; ++x) out[x] = w0 * r0[x];
      for (int64_t k = k0 + 1; k < k1; ++k) {
        const float wk = ay.weight[k];
        const float* rk = in + ay.index[k] * w;
        for (int64_t x = 0; x < w; ++x) out[x] += wk * rk[x];
      }
    }
}

// The adjoint of pass_h: each output row is added, weighted, into its source rows (per plane).
void pass_h_adjoint(const float* src, float* dst, int64_t planes, int64_t w, const ResampleAxis& ay) {
#pragma omp parallel for num_threads(get_num_threads()) schedule(static) if (worth_threads(planes * w, ay))
  for (int64_t p = 0; p < planes; ++p) {
    float* in = dst + p * ay.in * w;
    std::fill(in, in + ay.in * w, 0.f);
    for (int64_t o = 0; o < ay.out; ++o) {
      const float* g = src + (p * ay.out + o) * w;
      for (int64_t k = ay.start[o]; k < ay.start[o + 1]; ++k) {
        const float wk = ay.weight[k];
        float* rk = in + ay.index[k] * w;
        for (int64_t x = 0; x < w; ++x) rk[x] += wk * g[x];
      }
    }
  }
}

// The adjoint of pass_w: each output value is added, weighted, into its source values (per row).
void pass_w_adjoint(const float* src, float* dst, int64_t rows, const ResampleAxis& ax) {
#pragma omp parallel for num_threads(get_num_threads()) schedule(static) if (worth_threads(rows, ax))
  for (int64_t r = 0; r < rows; ++r) {
    const float* g = src + r * ax.out;
    float* in = dst + r * ax.in;
    std::fill(in, in + ax.in, 0.f);
    for (int64_t o = 0; o < ax.out; ++o)
      for (int64_t k = ax.start[o]; k < ax.start[o + 1]; ++k) in[ax.index[k]] += ax.weight[k] * g[o];
  }
}

}  // namespace

void resample2d_forward(const Tensor& x, const ResampleAxis& ay, const ResampleAxis& ax, Tensor& out) {
  Tensor xc = contiguous_data(x);
  const Shape& s = x.shape();
  const int64_t planes = s[0] * s[1];
  if (out.numel() == 0) return;
  if (ax.identity && ay.identity) {
    std::copy(xc.data<float>(), xc.data<float>() + xc.numel(), out.data<float>());
    return;
  }
  // Along W first into (planes, H, out_w), then along H; a pass whose table copies is skipped.
  Tensor mid = ax.identity ? xc : (ay.identity ? out : uninitialized({s[0], s[1], ay.in, ax.out}));
  if (!ax.identity) pass_w(xc.data<float>(), mid.data<float>(), planes * ay.in, ax);
  if (!ay.identity) pass_h(mid.data<float>(), out.data<float>(), planes, ax.out, ay);
}

Tensor resample2d_backward(const Tensor& grad_out, const ResampleAxis& ay, const ResampleAxis& ax,
                           const Shape& input_shape) {
  Tensor gc = contiguous_data(grad_out);
  const int64_t planes = input_shape[0] * input_shape[1];
  Tensor grad_in = uninitialized(input_shape);
  if (grad_in.numel() == 0) return grad_in;
  if (gc.numel() == 0) return zeros(input_shape);
  if (ax.identity && ay.identity) return clone_data(gc);
  // Reverse order of the forward: the adjoint of the H pass, then of the W pass.
  Tensor mid = ay.identity
                   ? gc
                   : (ax.identity ? grad_in : uninitialized({input_shape[0], input_shape[1], ay.in, ax.out}));
  if (!ay.identity) pass_h_adjoint(gc.data<float>(), mid.data<float>(), planes, ax.out, ay);
  if (!ax.identity) pass_w_adjoint(mid.data<float>(), grad_in.data<float>(), planes * ay.in, ax);
  return grad_in;
}

}  // namespace convgrad::kernels
