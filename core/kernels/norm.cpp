#include "core/kernels/norm.h"

#include <cmath>
#include <vector>

#include "core/factory.h"
#include "core/threading.h"

namespace convgrad::kernels {

namespace {

// (N, C, L) sizes of x: channels at dim 1, everything after it flattened into L.
struct Ncl {
  int64_t n, c, l;
};

Ncl ncl_of(const Shape& s) {
  int64_t l = 1;
  for (size_t d = 2; d < s.size(); ++d) l *= s[d];
  return {s[0], s[1], l};
}

// The values of a 1-D per-channel tensor (any stride), or `fill` repeated when it is undefined.
std::vector<float> channel_values(const Tensor& t, int64_t c, float fill) {
  if (!t.defined()) return std::vector<float>(static_cast<size_t>(c), fill);
  return t.to_vector<float>();
}

}  // namespace

ChannelStats batch_norm_stats(const Tensor& x) {
  Tensor xc = contiguous_data(x);
  const Ncl d = ncl_of(x.shape());
  ChannelStats s{empty({d.c}), empty({d.c}), d.n * d.l};
  const float* px = xc.data<float>();
  float* mean = s.mean.data<float>();
  float* var = s.var.data<float>();
  const double count = static_cast<double>(s.count);
#pragma omp parallel for num_threads(get_num_threads()) schedule(static)
  for (int64_t c = 0; c < d.c; ++c) {
    double sum = 0.0;
    for (int64_t n = 0; n < d.n; ++n) {
      const float* p = px + (n * d.c + c) * d.l;
      for (int64_t i = 0; i < d.l; ++i) sum += p[i];
    }
    const double m = count > 0 ? sum / count : 0.0;
    double sq = 0.0;
    for (int64_t n = 0; n < d.n; ++n) {
      const float* p = px + (n * d.c + c) * d.l;
      for (int64_t i = 0; i < d.l; ++i) {
        const double dv = p[i] - m;
        sq += dv * dv;
      }
    }
    mean[c] = static_cast<float>(m);
    var[c] = static_cast<float>(count > 0 ? sq / count : 0.0);
  }
  return s;
}

Tensor batch_norm_invstd(const Tensor& var, float eps) {
  std::vector<float> v = var.to_vector<float>();
  Tensor out = empty({static_cast<int64_t>(v.size())});
  float* o = out.data<float>();
  for (size_t c = 0; c < v.size(); ++c)
    o[c] = static_cast<float>(1.0 / std::sqrt(static_cast<double>(v[c]) + static_cast<double>(eps)));
  return out;
}

Tensor batch_norm_apply(const Tensor& x, const Tensor& mean, const Tensor& invstd, const Tensor& weight,
                        const Tensor& bias) {
  Tensor xc = contiguous_data(x);
  const Ncl d = ncl_of(x.shape());
  const std::vector<float> m = channel_values(mean, d.c, 0.f), is = channel_values(invstd, d.c, 1.f);
  const std::vector<float> w = channel_values(weight, d.c, 1.f), b = channel_values(bias, d.c, 0.f);
  Tensor y = empty(x.shape());
  const float* px = xc.data<float>();
  float* py = y.data<float>();
  const int64_t planes = d.n * d.c;
#pragma omp parallel for num_threads(get_num_threads()) schedule(static)
  for (int64_t p = 0; p < planes; ++p) {
    const int64_t c = p % d.c;
    const float mc = m[c], scale = is[c] * w[c], shift = b[c];
    const float* src = px + p * d.l;
    float* dst = py + p * d.l;
    for (int64_t i = 0; i < d.l; ++i) dst[i] = (src[i] - mc) * scale + shift;
  }
  return y;
}

BatchNormGrads batch_norm_backward(const Tensor& grad_out, const Tensor& x, const Tensor& mean,
                                   const Tensor& invstd, const Tensor& weight, bool batch_stats, bool need_x,
                                   bool need_weight, bool need_bias) {
  Tensor gc = contiguous_data(grad_out), xc = contiguous_data(x);
  const Ncl d = ncl_of(x.shape());
  const std::vector<float> m = channel_values(mean, d.c, 0.f), is = channel_values(invstd, d.c, 1.f);
  const std::vector<float> w = channel_values(weight, d.c, 1.f);
  BatchNormGrads r;
  if (need_x) r.x = empty(x.shape());
  if (need_weight) r.weight = empty({d.c});
  if (need_bias) r.bias = empty({d.c});
  const float* g = gc.data<float>();
  const float* px = xc.data<float>();
  float* gx = need_x ? r.x.data<float>() : nullptr;
  float* gw = need_weight ? r.weight.data<float>() : nullptr;
  float* gb = need_bias ? r.bias.data<float>() : nullptr;
  const double count = static_cast<double>(d.n * d.l);
#pragma omp parallel for num_threads(get_num_threads()) schedule(static)
  for (int64_t c = 0; c < d.c; ++c) {
    // Pass 1: sum(g) and sum(g * xhat) of this channel.
    double sum_g = 0.0, sum_gx = 0.0;
    for (int64_t n = 0; n < d.n; ++n) {
      const int64_t base = (n * d.c + c) * d.l;
      for (int64_t i = 0; i < d.l; ++i) {
        sum_g += g[base + i];
        sum_gx += static_cast<double>(g[base + i]) * ((px[base + i] - m[c]) * is[c]);
      }
    }
    if (gw) gw[c] = static_cast<float>(sum_gx);
    if (gb) gb[c] = static_cast<float>(sum_g);
    if (!gx) continue;
    // Pass 2: dx = w * invstd * (g - mean(g) - xhat * mean(g * xhat)) with batch statistics,
    // the plain chain rule w * invstd * g with fixed running statistics.
    const float k = w[c] * is[c];
    const float mean_g = batch_stats && count > 0 ? static_cast<float>(sum_g / count) : 0.f;
    const float mean_gx = batch_stats && count > 0 ? static_cast<float>(sum_gx / count) : 0.f;
    for (int64_t n = 0; n < d.n; ++n) {
      const int64_t base = (n * d.c + c) * d.l;
      for (int64_t i = 0; i < d.l; ++i) {
        const float xhat = (px[base + i] - m[c]) * is[c];
        gx[base + i] = k * (g[base + i] - mean_g - xhat * mean_gx);
      }
    }
  }
  return r;
}

void batch_norm_update_running(const Tensor& running_mean, const Tensor& running_var,
                               const ChannelStats& stats, float momentum) {
  if (stats.count == 0) return;  // an empty batch carries no statistics
  const std::vector<float> mean = stats.mean.to_vector<float>(), var = stats.var.to_vector<float>();
  const double unbias = stats.count > 1 ? static_cast<double>(stats.count) / (stats.count - 1) : 1.0;
  const double keep = 1.0 - momentum;
  // Strided 1-D writes: the running buffers are updated where they live.
  if (running_mean.defined()) {
    running_mean.bump_version("batch_norm (running_mean)");
    float* p = running_mean.data<float>();
    const int64_t s = running_mean.strides()[0];
    for (int64_t c = 0; c < static_cast<int64_t>(mean.size()); ++c)
      p[c * s] = static_cast<float>(keep * p[c * s] + momentum * static_cast<double>(mean[c]));
  }
  if (running_var.defined()) {
    running_var.bump_version("batch_norm (running_var)");
    float* p = running_var.data<float>();
    const int64_t s = running_var.strides()[0];
    for (int64_t c = 0; c < static_cast<int64_t>(var.size()); ++c)
      p[c * s] = static_cast<float>(keep * p[c * s] + momentum * static_cast<double>(var[c]) * unbias);
  }
}

}  // namespace convgrad::kernels
