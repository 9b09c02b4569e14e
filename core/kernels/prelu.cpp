#include "core/kernels/prelu.h"

#include <vector>

#include "core/factory.h"
#include "core/threading.h"

namespace convgrad::kernels {

namespace {

// x viewed as (outer, channels, inner) with channels = dim 1 (or 1 below two dims).
struct ChannelView {
  int64_t outer, channels, inner;
};

ChannelView channel_view(const Tensor& x) {
  if (x.dim() < 2) return {1, 1, x.numel()};
  const int64_t c = x.size(1);
  int64_t inner = 1;
  for (int64_t d = 2; d < x.dim(); ++d) inner *= x.size(d);
  return {x.size(0), c, inner};
}

}  // namespace

Tensor prelu_forward(const Tensor& x, const Tensor& weight) {
  Tensor xc = contiguous_data(x), wc = contiguous_data(weight);
  const ChannelView v = channel_view(x);
  const bool shared = wc.numel() == 1;
  Tensor out = empty(x.shape());
  const float* in = xc.data<float>();
  const float* a = wc.data<float>();
  float* o = out.data<float>();
#pragma omp parallel for num_threads(get_num_threads()) collapse(2) schedule(static)
  for (int64_t n = 0; n < v.outer; ++n)
    for (int64_t c = 0; c < v.channels; ++c) {
      const float slope = a[shared ? 0 : c];
      const int64_t base = (n * v.channels + c) * v.inner;
      for (int64_t i = 0; i < v.inner; ++i) {
        const float t = in[base + i];
        o[base + i] = t > 0.f ? t : slope * t;
      }
    }
  return out;
}

PreluGrads prelu_backward(const Tensor& grad_out, const Tensor& x, const Tensor& weight, bool need_x,
                          bool need_weight) {
  Tensor gc = contiguous_data(grad_out), xc = contiguous_data(x), wc = contiguous_data(weight);
  const ChannelView v = channel_view(x);
  const bool shared = wc.numel() == 1;
  PreluGrads r;
  if (need_x) r.x = empty(x.shape());
  // One partial sum per channel of x, accumulated in double and in a fixed order (deterministic
  // for any thread count); a shared weight sums them afterwards.
  std::vector<double> partial(static_cast<size_t>(v.channels), 0.0);
  const float* g = gc.data<float>();
  const float* in = xc.data<float>();
  const float* a = wc.data<float>();
  float* gx = need_x ? r.x.data<float>() : nullptr;
#pragma omp parallel for num_threads(get_num_threads()) schedule(static)
  for (int64_t c = 0; c < v.channels; ++c) {
    const float slope = a[shared ? 0 : c];
    double acc = 0.0;
    for (int64_t n = 0; n < v.outer; ++n) {
      const int64_t base = (n * v.channels + c) * v.inner;
      for (int64_t i = 0; i < v.inner; ++i) {
        const float t = in[base + i], gi = g[base + i];
        const bool pos = t > 0.f;
        if (gx) gx[base + i] = pos ? gi : slope * gi;
        if (!pos) acc += static_cast<double>(gi) * static_cast<double>(t);
      }
    }
    partial[static_cast<size_t>(c)] = acc;
  }
  if (need_weight) {
    r.weight = empty(weight.shape());
    float* gw = r.weight.data<float>();
    if (shared) {
      double total = 0.0;
      for (double p : partial) total += p;
      gw[0] = static_cast<float>(total);
    } else {
      for (int64_t c = 0; c < v.channels; ++c) gw[c] = static_cast<float>(partial[static_cast<size_t>(c)]);
    }
  }
  return r;
}

}  // namespace convgrad::kernels
