// Learning-rate schedules, with PyTorch's epoch counting: constructing one sets the optimizer's lr for
// epoch 0 (its current lr becomes the base), and each step() advances one epoch and sets the new lr.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "layers/optim.h"

namespace convgrad {

/// Base class: epoch counter, base lr, and the state needed to resume a schedule.
class LRScheduler {
 public:
  /// Schedules `optimizer`, which must outlive the scheduler.
  explicit LRScheduler(Optimizer& optimizer);
  virtual ~LRScheduler() = default;

  /// Advances one epoch and sets the optimizer's learning rate.
  void step();
  /// The learning rate set by the last step() (or the constructor).
  double last_lr() const { return last_lr_; }
  /// The current epoch: 0 after construction, +1 per step().
  int64_t last_epoch() const { return last_epoch_; }
  /// The lr the schedule starts from (the optimizer's lr at construction).
  double base_lr() const { return base_lr_; }

  /// {"last_epoch": int64 scalar}.
  std::vector<std::pair<std::string, Tensor>> state_dict() const;
  /// Restores last_epoch and sets the optimizer's lr for it.
  void load_state_dict(const std::map<std::string, Tensor>& state);

 protected:
  /// The learning rate at `epoch` (closed form: depends only on the epoch and the options).
  virtual double lr_at(int64_t epoch) const = 0;
  /// Sets the lr for the current epoch; derived constructors call it once their options are set.
  void apply();

 private:
  Optimizer& optimizer_;
  double base_lr_;
  double last_lr_;
  int64_t last_epoch_ = 0;
};

/// Multiplies the lr by `gamma` every `step_size` epochs (torch.optim.lr_scheduler.StepLR).
class StepLR : public LRScheduler {
 public:
  StepLR(Optimizer& optimizer, int64_t step_size, double gamma = 0.1);

 protected:
  double lr_at(int64_t epoch) const override;

 private:
  int64_t step_size_;
  double gamma_;
};

/// Cosine decay from the base lr to `eta_min` over `T_max` epochs, then back up, periodically
/// (torch.optim.lr_scheduler.CosineAnnealingLR; values agree with its recursive form to rounding).
class CosineAnnealingLR : public LRScheduler {
 public:
  CosineAnnealingLR(Optimizer& optimizer, int64_t T_max, double eta_min = 0.0);

 protected:
  double lr_at(int64_t epoch) const override;

 private:
  int64_t t_max_;
  double eta_min_;
};

}  // namespace convgrad
