// Flatten: merges a range of dimensions, e.g. (N, C, H, W) -> (N, C*H*W) before a Linear.
#pragma once

#include <string>

#include "core/arg.h"
#include "layers/module.h"

namespace convgrad {

/// Options of Flatten: FlattenOptions().start_dim(1).end_dim(-1).
class FlattenOptions {
 public:
  /// First dimension merged (default 1, keeping the batch dimension).
  CONVGRAD_ARG(int64_t, start_dim) = 1;
  /// Last dimension merged, negative counts from the end (default -1).
  CONVGRAD_ARG(int64_t, end_dim) = -1;
};

/// Merges dims start_dim..end_dim into one (a view when the input is contiguous).
class Flatten : public Module {
 public:
  explicit Flatten(const FlattenOptions& options = {}) : options_(options) {}
  Tensor forward(const Tensor& x) override;
  std::string name() const override { return "Flatten"; }
  std::string extra_repr() const override;
  /// The options this layer was built with.
  const FlattenOptions& options() const { return options_; }

 private:
  FlattenOptions options_;
};

}  // namespace convgrad
