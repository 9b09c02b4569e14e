#include "layers/batchnorm.h"

#include "autograd/ops_nn.h"
#include "core/factory.h"
#include "layers/init.h"

namespace convgrad {

BatchNorm2d::BatchNorm2d(const BatchNorm2dOptions& options) : options_(options) {
  const int64_t c = options.num_features();
  CONVGRAD_CHECK(c > 0, "BatchNorm2d: num_features must be positive, got {}", c);
  CONVGRAD_CHECK(options.eps() > 0.f, "BatchNorm2d: eps must be positive, got {}", options.eps());
  CONVGRAD_CHECK(!options.momentum() || (*options.momentum() >= 0.f && *options.momentum() <= 1.f),
                 "BatchNorm2d: momentum must be in [0, 1], got {}", options.momentum().value_or(0.f));
  if (options.affine()) {
    weight = register_parameter("weight", ones({c}));
    bias = register_parameter("bias", zeros({c}));
  }
  if (options.track_running_stats()) {
    running_mean = register_buffer("running_mean", zeros({c}));
    running_var = register_buffer("running_var", ones({c}));
    num_batches_tracked = register_buffer("num_batches_tracked", zeros({}, DType::Int64));
  }
}

void BatchNorm2d::reset_running_stats() {
  if (!options_.track_running_stats()) return;
  init::zeros_(running_mean);
  init::ones_(running_var);
  num_batches_tracked.data<int64_t>()[0] = 0;
}

void BatchNorm2d::reset_parameters() {
  reset_running_stats();
  if (!options_.affine()) return;
  init::ones_(weight);
  init::zeros_(bias);
}

Tensor BatchNorm2d::forward(const Tensor& x) {
  CONVGRAD_CHECK(x.dim() == 4 && x.size(1) == options_.num_features(),
                 "BatchNorm2d: expected input of shape (N, {}, H, W), got {}", options_.num_features(),
                 shape_str(x.shape()));
  if (!options_.track_running_stats())
    return batch_norm(x, Tensor(), Tensor(), weight, bias, /*training=*/true, 0.f, options_.eps());
  float momentum = options_.momentum().value_or(0.f);
  if (!is_training())
    return batch_norm(x, running_mean, running_var, weight, bias, false, momentum, options_.eps());
  // An empty batch gives an empty output and leaves the running statistics and the counter alone.
  if (x.numel() == 0)
    return batch_norm(x, running_mean, running_var, weight, bias, true, momentum, options_.eps());
  CONVGRAD_CHECK(
      x.numel() / x.size(1) > 1,
      "BatchNorm2d: training needs more than one value per channel, got input {}; use a larger batch or "
      "call eval()",
      shape_str(x.shape()));
  int64_t& tracked = num_batches_tracked.data<int64_t>()[0];
  // momentum = None in PyTorch: a cumulative moving average, i.e. weight 1/n for the n-th batch.
  if (!options_.momentum()) momentum = 1.f / static_cast<float>(tracked + 1);
  Tensor y = batch_norm(x, running_mean, running_var, weight, bias, true, momentum, options_.eps());
  ++tracked;  // only once the batch was accepted
  return y;
}

std::string BatchNorm2d::extra_repr() const {
  return fmt::format("{}, eps={}, momentum={}, affine={}, track_running_stats={}", options_.num_features(),
                     options_.eps(), options_.momentum() ? fmt::format("{}", *options_.momentum()) : "None",
                     options_.affine() ? "True" : "False", options_.track_running_stats() ? "True" : "False");
}

}  // namespace convgrad
