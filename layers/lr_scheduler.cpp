// LR schedules in closed form, so a resumed schedule (load_state_dict) continues exactly.
#include "layers/lr_scheduler.h"

#include <cmath>
#include <numbers>

#include "core/factory.h"

namespace convgrad {

LRScheduler::LRScheduler(Optimizer& optimizer)
    : optimizer_(optimizer), base_lr_(optimizer.lr()), last_lr_(optimizer.lr()) {}

namespace {
// Epochs stay below 2^53: exact as doubles in the closed forms, and far from int64 overflow.
constexpr int64_t kMaxEpoch = int64_t{1} << 53;
}  // namespace

void LRScheduler::apply() {
  const double lr = lr_at(last_epoch_);
  optimizer_.set_lr(lr);
  last_lr_ = lr;
}

void LRScheduler::step() {
  CONVGRAD_CHECK(last_epoch_ < kMaxEpoch, "LRScheduler::step: last_epoch {} is at the limit 2^53",
                 last_epoch_);
  // The lr is set before the epoch advances: a schedule whose next lr is invalid changes nothing.
  const double lr = lr_at(last_epoch_ + 1);
  optimizer_.set_lr(lr);
  ++last_epoch_;
  last_lr_ = lr;
}

std::vector<std::pair<std::string, Tensor>> LRScheduler::state_dict() const {
  return {{"last_epoch", from_vector(std::vector<int64_t>{last_epoch_}, {})}};
}

void LRScheduler::load_state_dict(const std::map<std::string, Tensor>& state) {
  auto it = state.find("last_epoch");
  CONVGRAD_CHECK(it != state.end(), "LRScheduler::load_state_dict: 'last_epoch' is missing ({} keys given)",
                 state.size());
  CONVGRAD_CHECK(it->second.dtype() == DType::Int64 && it->second.numel() == 1,
                 "LRScheduler::load_state_dict: 'last_epoch' must be one int64, got {} of shape {}",
                 dtype_name(it->second.dtype()), shape_str(it->second.shape()));
  int64_t epoch = it->second.item<int64_t>();
  CONVGRAD_CHECK(epoch >= 0 && epoch <= kMaxEpoch,
                 "LRScheduler::load_state_dict: last_epoch {} is out of range (expected 0..2^53)", epoch);
  CONVGRAD_CHECK(state.size() == 1,
                 "LRScheduler::load_state_dict: unexpected keys besides 'last_epoch' ({} keys given)",
                 state.size());
  // Everything is checked before anything changes: the lr for that epoch must be one the optimizer takes.
  const double lr = lr_at(epoch);
  CONVGRAD_CHECK(
      std::isfinite(lr) && lr >= 0,
      "LRScheduler::load_state_dict: last_epoch {} gives the learning rate {}, which the optimizer cannot "
      "take; nothing was loaded",
      epoch, lr);
  optimizer_.set_lr(lr);
  last_epoch_ = epoch;
  last_lr_ = lr;
}

StepLR::StepLR(Optimizer& optimizer, int64_t step_size, double gamma)
    : LRScheduler(optimizer), step_size_(step_size), gamma_(gamma) {
  CONVGRAD_CHECK(step_size > 0, "StepLR: step_size must be positive, got {}", step_size);
  CONVGRAD_CHECK(std::isfinite(gamma) && gamma >= 0, "StepLR: gamma must be finite and >= 0, got {}", gamma);
  apply();
}

double StepLR::lr_at(int64_t epoch) const {
  return base_lr() * std::pow(gamma_, static_cast<double>(epoch / step_size_));
}

CosineAnnealingLR::CosineAnnealingLR(Optimizer& optimizer, int64_t T_max, double eta_min)
    : LRScheduler(optimizer), t_max_(T_max), eta_min_(eta_min) {
  CONVGRAD_CHECK(T_max > 0, "CosineAnnealingLR: T_max must be positive, got {}", T_max);
  CONVGRAD_CHECK(std::isfinite(eta_min) && eta_min >= 0,
                 "CosineAnnealingLR: eta_min must be finite and >= 0, got {}", eta_min);
  apply();
}

double CosineAnnealingLR::lr_at(int64_t epoch) const {
  if (epoch == 0) return base_lr();  // exactly, as PyTorch leaves the lr untouched at epoch 0
  double phase = std::numbers::pi * static_cast<double>(epoch) / static_cast<double>(t_max_);
  return eta_min_ + (base_lr() - eta_min_) * (1 + std::cos(phase)) / 2;
}

}  // namespace convgrad
