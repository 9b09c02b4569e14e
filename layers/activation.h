// Activation layers: thin modules over the elementwise ops, so they fit in a Sequential.
#pragma once

#include <cstdint>
#include <string>

#include "core/arg.h"
#include "layers/module.h"

namespace convgrad {

/// max(x, 0).
class ReLU : public Module {
 public:
  Tensor forward(const Tensor& x) override;
  std::string name() const override { return "ReLU"; }
};

/// Options of LeakyReLU: LeakyReLUOptions().negative_slope(0.2).
class LeakyReLUOptions {
 public:
  /// Slope for x < 0 (default 0.01).
  CONVGRAD_ARG(float, negative_slope) = 0.01f;
};

/// x for x > 0, negative_slope * x otherwise.
class LeakyReLU : public Module {
 public:
  explicit LeakyReLU(const LeakyReLUOptions& options = {}) : options_(options) {}
  Tensor forward(const Tensor& x) override;
  std::string name() const override { return "LeakyReLU"; }
  std::string extra_repr() const override;
  /// The options this layer was built with.
  const LeakyReLUOptions& options() const { return options_; }

 private:
  LeakyReLUOptions options_;
};

/// Options of PReLU: PReLUOptions().num_parameters(64).init(0.25).
class PReLUOptions {
 public:
  /// Number of learned slopes: 1 (shared by every element) or the input's channel count (dim 1).
  CONVGRAD_ARG(int64_t, num_parameters) = 1;
  /// Initial value of every slope (default 0.25).
  CONVGRAD_ARG(float, init) = 0.25f;
};

/// x for x > 0, a * x otherwise with a learned slope `a` per channel or shared, like nn.PReLU.
/// Its parameter is `weight` of shape (num_parameters,).
class PReLU : public Module {
 public:
  explicit PReLU(const PReLUOptions& options = {});
  Tensor forward(const Tensor& x) override;
  std::string name() const override { return "PReLU"; }
  std::string extra_repr() const override;
  /// The options this layer was built with.
  const PReLUOptions& options() const { return options_; }

  Tensor weight;

 private:
  PReLUOptions options_;
};

/// 1 / (1 + e^-x).
class Sigmoid : public Module {
 public:
  Tensor forward(const Tensor& x) override;
  std::string name() const override { return "Sigmoid"; }
};

/// tanh(x).
class Tanh : public Module {
 public:
  Tensor forward(const Tensor& x) override;
  std::string name() const override { return "Tanh"; }
};

}  // namespace convgrad
