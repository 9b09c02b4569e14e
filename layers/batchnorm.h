// BatchNorm2d: per-channel normalisation with learned scale/shift and running statistics.
#pragma once

#include <optional>
#include <string>

#include "core/arg.h"
#include "layers/module.h"

namespace convgrad {

/// Options of BatchNorm2d: BatchNorm2dOptions(64).eps(1e-5).momentum(0.1).
class BatchNorm2dOptions {
 public:
  /// Number of channels C of the (N, C, H, W) input.
  BatchNorm2dOptions(int64_t num_features) : num_features_(num_features) {}  // NOLINT: implicit like PyTorch
  /// Number of channels C.
  CONVGRAD_ARG(int64_t, num_features);
  /// Added to the variance for stability (default 1e-5).
  CONVGRAD_ARG(float, eps) = 1e-5f;
  /// Weight of the new batch in the running statistics (default 0.1); std::nullopt = cumulative average.
  CONVGRAD_ARG(std::optional<float>, momentum) = 0.1f;
  /// Learned per-channel weight (init 1) and bias (init 0) (default true).
  CONVGRAD_ARG(bool, affine) = true;
  /// Keep running_mean/running_var and use them in eval mode (default true); otherwise always use batch
  /// stats.
  CONVGRAD_ARG(bool, track_running_stats) = true;
};

/// Batch normalisation over (N, C, H, W). Training: normalises with the batch mean and biased variance
/// and updates running_mean/running_var (unbiased) and num_batches_tracked. Eval: uses the running stats.
/// State-dict names match PyTorch: weight, bias, running_mean, running_var, num_batches_tracked (int64).
class BatchNorm2d : public Module {
 public:
  explicit BatchNorm2d(const BatchNorm2dOptions& options);
  /// Running stats to mean 0 / var 1 and num_batches_tracked to 0.
  void reset_running_stats();
  /// reset_running_stats(), weight to 1, bias to 0.
  void reset_parameters();
  Tensor forward(const Tensor& x) override;
  std::string name() const override { return "BatchNorm2d"; }
  std::string extra_repr() const override;
  /// The options this layer was built with.
  const BatchNorm2dOptions& options() const { return options_; }

  Tensor weight;               ///< (C), undefined unless affine
  Tensor bias;                 ///< (C), undefined unless affine
  Tensor running_mean;         ///< (C), undefined unless track_running_stats
  Tensor running_var;          ///< (C), undefined unless track_running_stats
  Tensor num_batches_tracked;  ///< int64 scalar, undefined unless track_running_stats

 private:
  BatchNorm2dOptions options_;
};

}  // namespace convgrad
