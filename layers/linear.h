// Linear: y = x W^T + b over the last dimension, like torch.nn.Linear.
#pragma once

#include <string>

#include "core/arg.h"
#include "core/random.h"
#include "layers/module.h"

namespace convgrad {

/// Options of Linear: LinearOptions(in, out).bias(false).
class LinearOptions {
 public:
  /// in_features -> out_features.
  LinearOptions(int64_t in_features, int64_t out_features)
      : in_features_(in_features), out_features_(out_features) {}
  /// Size of each input's last dimension.
  CONVGRAD_ARG(int64_t, in_features);
  /// Size of each output's last dimension.
  CONVGRAD_ARG(int64_t, out_features);
  /// Whether a learned bias is added (default true).
  CONVGRAD_ARG(bool, bias) = true;
};

/// Fully connected layer: weight (out, in), bias (out); x (..., in) -> (..., out).
class Linear : public Module {
 public:
  /// Parameters initialised like PyTorch (kaiming_uniform a = sqrt(5); bias U(+-1/sqrt(in))).
  explicit Linear(const LinearOptions& options, Generator& gen = default_generator());
  /// Re-draws the parameters with PyTorch's default initialisation.
  void reset_parameters(Generator& gen = default_generator());
  Tensor forward(const Tensor& x) override;
  std::string name() const override { return "Linear"; }
  std::string extra_repr() const override;
  /// The options this layer was built with.
  const LinearOptions& options() const { return options_; }

  Tensor weight;  ///< (out_features, in_features)
  Tensor bias;    ///< (out_features), undefined when options.bias(false)

 private:
  LinearOptions options_;
};

}  // namespace convgrad
