// Differentiable pooling, batch norm, dropout and bilinear upsampling over the raw kernels in
// core/kernels/: each op validates its arguments, runs the kernel and records its backward.
#include "autograd/ops_nn.h"

#include <algorithm>
#include <array>
#include <cmath>

#include "autograd/grad_mode.h"
#include "autograd/linear_op.h"
#include "autograd/node.h"
#include "autograd/ops_math.h"
#include "autograd/ops_reduce.h"
#include "autograd/ops_shape.h"
#include "core/factory.h"
#include "core/kernels/elementwise.h"
#include "core/kernels/norm.h"
#include "core/kernels/pool.h"
#include "core/kernels/upsample.h"
#include "core/operand_check.h"
#include "core/threading.h"

namespace convgrad {

namespace {

// A per-channel parameter or statistic: undefined, or a float32 vector of `channels` elements.
void check_channel_vector(const char* name, const Tensor& t, int64_t channels, const Shape& x_shape) {
  if (!t.defined()) return;
  check_operand(t, "batch_norm", name);
  CONVGRAD_CHECK(t.dim() == 1 && t.size(0) == channels,
                 "batch_norm: {} has shape {} but the input {} has {} channels (dim 1); expected shape [{}]",
                 name, shape_str(t.shape()), shape_str(x_shape), channels, channels);
}

// batch_norm's gradients as differentiable ops on x and weight, for create_graph. In training the statistics
// are recomputed from x (they depend on it); in eval mode `mean` and `invstd` are constants.
//   xhat = (x - mean) invstd;  dx = w invstd (g - mean(g) - xhat mean(g xhat)) in training, g w invstd in
//   eval; dw = sum(g xhat);  db = sum(g)   (means and sums over every dim but the channel dim 1)
std::vector<Tensor> batch_norm_grads_with_graph(const Tensor& g, const Tensor& x, const Tensor& weight,
                                                const Tensor& mean, const Tensor& invstd, bool training,
                                                float eps, Needs<3> need) {
  std::vector<int64_t> dims{0};
  for (int64_t d = 2; d < x.dim(); ++d) dims.push_back(d);
  Shape channel_shape(static_cast<size_t>(x.dim()), 1);
  channel_shape[1] = x.size(1);
  Tensor m, inv;
  if (training) {
    m = convgrad::mean(x, dims, true);
    Tensor centered = x - m;
    inv = pow(convgrad::mean(centered * centered, dims, true) + eps, -0.5f);
  } else {
    m = reshape(mean, channel_shape);
    inv = reshape(invstd, channel_shape);
  }
  Tensor xhat = (x - m) * inv;
  Tensor scale = weight.defined() ? reshape(weight, channel_shape) * inv : inv;
  std::vector<Tensor> grads(3);
  if (need[0])
    grads[0] = training
                   ? scale * (g - convgrad::mean(g, dims, true) - xhat * convgrad::mean(g * xhat, dims, true))
                   : g * scale;
  if (need[1]) grads[1] = sum(g * xhat, dims);
  if (need[2]) grads[2] = sum(g, dims);
  return grads;
}

}  // namespace

Tensor avg_pool2d(const Tensor& x, Pair kernel, Pair stride, Pair padding) {
  check_operand(x, "avg_pool2d", "input");
  const auto geom = kernels::pool2d_geometry("avg_pool2d", x.shape(), kernel, stride, padding);
  auto pair = std::make_shared<const detail::LinearPair>(detail::LinearPair{
      [geom](const Tensor& t) { return kernels::avg_pool2d_forward(t, geom); },
      [geom, shape = x.shape()](const Tensor& g) { return kernels::avg_pool2d_backward(g, shape, geom); }});
  return detail::linear_result(pair->map(x), x, "avg_pool2d", pair);
}

Tensor batch_norm(const Tensor& x, const Tensor& running_mean, const Tensor& running_var,
                  const Tensor& weight, const Tensor& bias, bool training, float momentum, float eps) {
  check_operand(x, "batch_norm", "input");
  CONVGRAD_CHECK(x.dim() >= 2, "batch_norm: expected an input of shape (N, C) or (N, C, H, W), got shape {}",
                 shape_str(x.shape()));
  CONVGRAD_CHECK(std::isfinite(eps) && eps >= 0.f, "batch_norm: eps must be a finite number >= 0, got {}",
                 eps);
  // NaN fails this test too: a NaN momentum would poison the running statistics for good.
  CONVGRAD_CHECK(momentum >= 0.f && momentum <= 1.f,
                 "batch_norm: momentum must be a number in [0, 1], got {}", momentum);
  const int64_t channels = x.size(1);
  check_channel_vector("running_mean", running_mean, channels, x.shape());
  check_channel_vector("running_var", running_var, channels, x.shape());
  check_channel_vector("weight", weight, channels, x.shape());
  check_channel_vector("bias", bias, channels, x.shape());
  CONVGRAD_CHECK(running_mean.defined() == running_var.defined(),
                 "batch_norm: pass both running_mean and running_var or neither (got only {})",
                 running_mean.defined() ? "running_mean" : "running_var");

  Tensor mean, invstd;
  if (training) {
    const int64_t per_channel = x.numel() / std::max<int64_t>(channels, 1);
    CONVGRAD_CHECK(per_channel > 1 || x.numel() == 0,
                   "batch_norm: training needs more than one value per channel to estimate a variance, got "
                   "input shape {}; use a larger batch or eval mode",
                   shape_str(x.shape()));
    const kernels::ChannelStats stats = kernels::batch_norm_stats(x);
    mean = stats.mean;
    invstd = kernels::batch_norm_invstd(stats.var, eps);
    // The running statistics are buffers, not graph inputs: updated in place, outside autograd.
    kernels::batch_norm_update_running(running_mean, running_var, stats, momentum);
  } else {
    CONVGRAD_CHECK(running_mean.defined(),
                   "batch_norm: eval mode (training=false) normalises with running_mean and running_var, but "
                   "they are undefined; pass them or use training=true for batch statistics");
    mean = clone_data(running_mean);  // a snapshot: later training steps must not change this backward
    invstd = kernels::batch_norm_invstd(running_var, eps);
  }
  Tensor y = kernels::batch_norm_apply(x, mean, invstd, weight, bias);

  const auto n = needs(x, weight, bias);
  SavedTensor saved_x = save(x), saved_w = save(weight);
  return make_result(
      y, {x, weight, bias}, "batch_norm",
      [saved_x, saved_w, mean, invstd, training, n, eps](const Tensor& g) {
        if (GradMode::is_enabled())  // create_graph
          return batch_norm_grads_with_graph(g, saved_x.unpack(), saved_w.unpack(), mean, invstd, training,
                                             eps, n);
        kernels::BatchNormGrads r = kernels::batch_norm_backward(
            g, saved_x.unpack(), mean, invstd, saved_w.unpack(), training, n[0], n[1], n[2]);
        return std::vector<Tensor>{r.x, r.weight, r.bias};
      },
      DoubleBackward::Supported);
}

Tensor dropout(const Tensor& x, float p, bool training, Generator& gen) {
  check_operand(x, "dropout", "input");
  CONVGRAD_CHECK(p >= 0.f && p < 1.f,
                 "dropout: probability p must be in [0, 1), got {} (p = 1 would zero everything)", p);
  if (!training || p == 0.f) return x;
  // The mask holds 0 for dropped elements and 1 / (1 - p) for kept ones; backward reuses it.
  Tensor mask = empty(x.shape());
  float* m = mask.data<float>();
  const float scale = 1.f / (1.f - p);
  // One uniform float in [0, 1) per element (24 random bits each), drawn under one lock of the generator.
  gen.fill_uniform(m, mask.numel());
  for (int64_t i = 0, n = mask.numel(); i < n; ++i) m[i] = m[i] < p ? 0.f : scale;
  Tensor y = kernels::mul(x, mask);
  // The same mask at every order: under create_graph the gradient is the differentiable g * mask.
  return make_result(
      y, {x}, "dropout",
      [mask](const Tensor& g) {
        return std::vector<Tensor>{GradMode::is_enabled() ? mul(g, mask) : kernels::mul(g, mask)};
      },
      DoubleBackward::Supported);
}

Tensor upsample_bilinear2d(const Tensor& x, Pair size) {
  check_operand(x, "upsample_bilinear2d", "input");
  CONVGRAD_CHECK(x.dim() == 4, "upsample_bilinear2d: expected a (N, C, H, W) input, got shape {}",
                 shape_str(x.shape()));
  CONVGRAD_CHECK(size[0] > 0 && size[1] > 0,
                 "upsample_bilinear2d: output size must be positive, got [{}, {}]", size[0], size[1]);
  CONVGRAD_CHECK(x.size(2) > 0 && x.size(3) > 0,
                 "upsample_bilinear2d: input planes must be non-empty, got shape {}", shape_str(x.shape()));
  auto pair = std::make_shared<const detail::LinearPair>(detail::LinearPair{
      [size](const Tensor& t) { return kernels::upsample_bilinear2d_forward(t, size[0], size[1]); },
      [shape = x.shape()](const Tensor& g) { return kernels::upsample_bilinear2d_backward(g, shape); }});
  return detail::linear_result(pair->map(x), x, "upsample_bilinear2d", pair);
}

}  // namespace convgrad
