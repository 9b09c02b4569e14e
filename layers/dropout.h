// Dropout: zeroes activations at random while training, identity in eval mode.
#pragma once

#include <memory>
#include <string>

#include "core/arg.h"
#include "core/random.h"
#include "layers/module.h"

namespace convgrad {

/// Options of Dropout: DropoutOptions().p(0.2).
class DropoutOptions {
 public:
  DropoutOptions() = default;
  /// Probability of zeroing an element.
  DropoutOptions(float p) : p_(p) {}  // NOLINT: implicit like PyTorch
  /// Probability of zeroing an element, in [0, 1] (default 0.5).
  CONVGRAD_ARG(float, p) = 0.5f;
};

/// In training, zeroes each element with probability p and scales the others by 1 / (1 - p);
/// in eval mode, the identity. Draws from default_generator() unless set_generator() gave one.
class Dropout : public Module {
 public:
  explicit Dropout(const DropoutOptions& options = {});
  Tensor forward(const Tensor& x) override;
  /// Draws masks from `gen` (shared, so the caller can reseed it) instead of the default generator.
  void set_generator(std::shared_ptr<Generator> gen) { gen_ = std::move(gen); }
  std::string name() const override { return "Dropout"; }
  std::string extra_repr() const override;
  /// The options this layer was built with.
  const DropoutOptions& options() const { return options_; }

 private:
  DropoutOptions options_;
  std::shared_ptr<Generator> gen_;
};

}  // namespace convgrad
