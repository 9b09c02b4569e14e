// Loss modules (nn.L1Loss, ...), with their options; the loss functions themselves are differentiable
// ops in autograd/ops_loss.h, which this header also exports.
#pragma once

#include <string>

#include "autograd/ops_loss.h"
#include "layers/module.h"

namespace convgrad {

/// Options of L1Loss: L1LossOptions().reduction(Reduction::Sum).
class L1LossOptions {
 public:
  L1LossOptions& reduction(Reduction r) {
    reduction_ = r;
    return *this;
  }
  Reduction reduction() const { return reduction_; }

 private:
  Reduction reduction_ = Reduction::Mean;
};

/// l1_loss as a module, like nn.L1Loss: loss(input, target).
class L1Loss : public Module {
 public:
  explicit L1Loss(const L1LossOptions& options = {}) : options_(options) {}
  Tensor forward(const Tensor& input, const Tensor& target);
  Tensor operator()(const Tensor& input, const Tensor& target) { return forward(input, target); }
  std::string name() const override { return "L1Loss"; }
  std::string extra_repr() const override;
  const L1LossOptions& options() const { return options_; }

 private:
  L1LossOptions options_;
};

/// Options of SmoothL1Loss: SmoothL1LossOptions().beta(0.5).reduction(Reduction::Sum).
class SmoothL1LossOptions {
 public:
  SmoothL1LossOptions& reduction(Reduction r) {
    reduction_ = r;
    return *this;
  }
  Reduction reduction() const { return reduction_; }
  /// Where the quadratic part ends (default 1; 0 gives the L1 loss).
  SmoothL1LossOptions& beta(double b) {
    beta_ = b;
    return *this;
  }
  double beta() const { return beta_; }

 private:
  Reduction reduction_ = Reduction::Mean;
  double beta_ = 1.0;
};

/// smooth_l1_loss as a module, like nn.SmoothL1Loss: loss(input, target).
class SmoothL1Loss : public Module {
 public:
  explicit SmoothL1Loss(const SmoothL1LossOptions& options = {}) : options_(options) {}
  Tensor forward(const Tensor& input, const Tensor& target);
  Tensor operator()(const Tensor& input, const Tensor& target) { return forward(input, target); }
  std::string name() const override { return "SmoothL1Loss"; }
  std::string extra_repr() const override;
  const SmoothL1LossOptions& options() const { return options_; }

 private:
  SmoothL1LossOptions options_;
};

}  // namespace convgrad
