// Pooling layers: MaxPool2d and AvgPool2d over (N, C, H, W), like torch.nn. Their options
// (MaxPool2dOptions, AvgPool2dOptions) live with the functional ops in autograd/ops_pool.h.
#pragma once

#include <string>

#include "autograd/ops_pool.h"
#include "layers/module.h"

namespace convgrad {

/// Maximum over each window.
class MaxPool2d : public Module {
 public:
  explicit MaxPool2d(const MaxPool2dOptions& options);
  Tensor forward(const Tensor& x) override;
  std::string name() const override { return "MaxPool2d"; }
  std::string extra_repr() const override;
  /// The options this layer was built with.
  const MaxPool2dOptions& options() const { return options_; }

 private:
  MaxPool2dOptions options_;
};

/// Mean over each window.
class AvgPool2d : public Module {
 public:
  explicit AvgPool2d(const AvgPool2dOptions& options);
  Tensor forward(const Tensor& x) override;
  std::string name() const override { return "AvgPool2d"; }
  std::string extra_repr() const override;
  /// The options this layer was built with.
  const AvgPool2dOptions& options() const { return options_; }

 private:
  AvgPool2dOptions options_;
};

}  // namespace convgrad
