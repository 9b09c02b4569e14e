// BatchNorm2d: per-channel normalisation with learned scale/shift and running statistics.
#pragma once

#include <optional>
#include <string>

#include "layers/module.h"

namespace convgrad {

/// Options of BatchNorm2d: BatchNorm2dOptions(64).eps(1e-5).momentum(0.1).
class BatchNorm2dOptions {
 public:
  /// Number of channels C of the (N, C, H, W) input.
  BatchNorm2dOptions(int64_t num_features) : features_(num_features) {}  // NOLINT: implicit like PyTorch
  int64_t num_features() const { return features_; }
  /// Added to the variance for stability (default 1e-5).
  BatchNorm2dOptions& eps(float e) { eps_ = e; return *this; }
  float eps() const { return eps_; }
  /// Weight of the new batch in the running statistics (default 0.1); std::nullopt = cumulative average.
  BatchNorm2dOptions& momentum(std::optional<float> m) { momentum_ = m; return *this; }
  std::optional<float> momentum() const { return momentum_; }
  /// Learned per-channel weight (init 1) and bias (init 0) (default true).
  BatchNorm2dOptions& affine(bool a) { affine_ = a; return *this; }
  bool affine() const { return affine_; }
  /// Keep running_mean/running_var and use them in eval mode (default true); otherwise always use batch stats.
  BatchNorm2dOptions& track_running_stats(bool t) { track_ = t; return *this; }
  bool track_running_stats() const { return track_; }

 private:
  int64_t features_;
  float eps_ = 1e-5f;
  std::optional<float> momentum_ = 0.1f;
  bool affine_ = true;
  bool track_ = true;
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
