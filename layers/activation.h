// Activation layers: thin modules over the elementwise ops, so they fit in a Sequential.
#pragma once

#include <string>

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
  LeakyReLUOptions& negative_slope(float s) { slope_ = s; return *this; }
  float negative_slope() const { return slope_; }

 private:
  float slope_ = 0.01f;
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
