// Optimizers with PyTorch 1.13's update rules: SGD (momentum, Nesterov, weight decay), Adam and AdamW.
// They update parameters in place (through data<float>(), under NoGradGuard), so a module sharing the
// parameter handles sees the new values. Parameters whose grad() is undefined are skipped, like PyTorch.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "core/arg.h"
#include "core/tensor.h"

namespace convgrad {

/// Base class: the parameter list, the learning rate, per-parameter state and its (de)serialisation.
class Optimizer {
 public:
  /// Optimizes `params` (contiguous float32 leaves, each at most once) with learning rate `lr`.
  explicit Optimizer(std::vector<Tensor> params, double lr = 0.0);
  virtual ~Optimizer() = default;
  Optimizer(const Optimizer&) = delete;
  Optimizer& operator=(const Optimizer&) = delete;

  /// One update of every parameter that has a gradient; throws if none has (backward() not called).
  virtual void step() = 0;
  /// Clears the gradients: drops them (set_to_none, the default, as in PyTorch 2) or fills them with zeros.
  void zero_grad(bool set_to_none = true);
  /// The current learning rate.
  double lr() const { return lr_; }
  /// Sets the learning rate (what LR schedulers call).
  void set_lr(double lr);
  /// The parameters, in the order given.
  const std::vector<Tensor>& params() const { return params_; }
  /// Number of step() calls so far (restored by load_state_dict).
  int64_t step_count() const { return step_count_; }

  /// The state as (name, tensor) pairs: "step" (int64 scalar) and "param.<i>.<buffer>", e.g.
  /// "param.3.exp_avg", "param.3.momentum_buffer". Tensors are copies. Hyperparameters are not included:
  /// they come from the options (and an LR scheduler's own state).
  virtual std::vector<std::pair<std::string, Tensor>> state_dict() const;
  /// Restores a state_dict(); checks every name, dtype and shape first and reports all problems in one
  /// error, leaving the optimizer unchanged in that case.
  virtual void load_state_dict(const std::map<std::string, Tensor>& state);

 protected:
  /// A per-parameter state buffer: its name, and whether it is an int64 scalar (else float32, param-shaped).
  struct StateSpec {
    std::string name;
    bool scalar_int64;
  };
  /// The buffers this optimizer keeps per parameter.
  virtual std::vector<StateSpec> state_specs() const = 0;
  /// Indices of the parameters with a gradient; throws naming `op` when there are none.
  std::vector<size_t> params_with_grad(const char* op) const;
  /// The gradient of parameter i as contiguous float32.
  Tensor grad_of(size_t i) const;
  /// The state buffer `name` of parameter i, or an undefined tensor.
  Tensor& state(size_t i, const std::string& name) { return state_[i][name]; }

  std::vector<Tensor> params_;
  std::vector<std::map<std::string, Tensor>> state_;
  double lr_ = 0.0;
  int64_t step_count_ = 0;
};

/// Options of SGD: SGDOptions(0.1).momentum(0.9).nesterov(true).weight_decay(1e-4).
class SGDOptions {
 public:
  /// Learning rate (required).
  explicit SGDOptions(double lr) : lr_(lr) {}
  CONVGRAD_ARG(double, lr);
  /// Momentum factor (default 0: plain SGD).
  CONVGRAD_ARG(double, momentum) = 0;
  /// Dampening of the momentum (default 0).
  CONVGRAD_ARG(double, dampening) = 0;
  /// L2 penalty added to the gradient (default 0).
  CONVGRAD_ARG(double, weight_decay) = 0;
  /// Nesterov momentum (needs momentum > 0 and dampening 0).
  CONVGRAD_ARG(bool, nesterov) = false;
  /// Maximize the objective instead of minimizing it.
  CONVGRAD_ARG(bool, maximize) = false;
};

/// Stochastic gradient descent, exactly torch.optim.SGD.
class SGD : public Optimizer {
 public:
  SGD(std::vector<Tensor> params, const SGDOptions& options);
  void step() override;
  const SGDOptions& options() const { return options_; }

 protected:
  std::vector<StateSpec> state_specs() const override;

 private:
  SGDOptions options_;
};

/// Options of Adam: AdamOptions(1e-3).betas(0.9, 0.999).eps(1e-8).weight_decay(0).amsgrad(false).
class AdamOptions {
 public:
  explicit AdamOptions(double lr = 1e-3) : lr_(lr) {}
  /// Learning rate (default 1e-3).
  CONVGRAD_ARG(double, lr);

 public:
  /// Decay rates of the first and second moment averages (default 0.9, 0.999).
  AdamOptions& betas(double beta1, double beta2) { return beta1_ = beta1, beta2_ = beta2, *this; }
  double beta1() const { return beta1_; }
  double beta2() const { return beta2_; }
  /// Added to the denominator for stability (default 1e-8).
  CONVGRAD_ARG(double, eps) = 1e-8;
  /// L2 penalty added to the gradient (default 0).
  CONVGRAD_ARG(double, weight_decay) = 0.0;
  /// Use the running maximum of the second moment (AMSGrad).
  CONVGRAD_ARG(bool, amsgrad) = false;
  /// Maximize the objective instead of minimizing it.
  CONVGRAD_ARG(bool, maximize) = false;

 private:
  double beta1_ = 0.9, beta2_ = 0.999;
};

/// Options of AdamW: as AdamOptions (a distinct type, as in PyTorch); weight_decay is decoupled and
/// 1e-2 by default.
class AdamWOptions {
 public:
  explicit AdamWOptions(double lr = 1e-3) : lr_(lr) {}
  /// Learning rate (default 1e-3).
  CONVGRAD_ARG(double, lr);

 public:
  /// Decay rates of the first and second moment averages (default 0.9, 0.999).
  AdamWOptions& betas(double beta1, double beta2) { return beta1_ = beta1, beta2_ = beta2, *this; }
  double beta1() const { return beta1_; }
  double beta2() const { return beta2_; }
  /// Added to the denominator for stability (default 1e-8).
  CONVGRAD_ARG(double, eps) = 1e-8;
  /// Decoupled weight decay: p *= 1 - lr * weight_decay before the step (default 1e-2).
  CONVGRAD_ARG(double, weight_decay) = 1e-2;
  /// Use the running maximum of the second moment (AMSGrad).
  CONVGRAD_ARG(bool, amsgrad) = false;
  /// Maximize the objective instead of minimizing it.
  CONVGRAD_ARG(bool, maximize) = false;

 private:
  double beta1_ = 0.9, beta2_ = 0.999;
};

/// Adam, exactly torch.optim.Adam (L2 weight decay added to the gradient).
class Adam : public Optimizer {
 public:
  Adam(std::vector<Tensor> params, const AdamOptions& options);
  void step() override;

 protected:
  /// Shared by AdamW: `decoupled` applies the weight decay to the parameter instead of the gradient.
  Adam(std::vector<Tensor> params, const AdamOptions& options, bool decoupled, const char* name);
  std::vector<StateSpec> state_specs() const override;

 private:
  AdamOptions options_;
  bool decoupled_;
  const char* name_;
};

/// AdamW, exactly torch.optim.AdamW: decoupled weight decay p *= 1 - lr * weight_decay, then Adam.
class AdamW : public Adam {
 public:
  AdamW(std::vector<Tensor> params, const AdamWOptions& options);
};

}  // namespace convgrad
