// Loss functions, each one fused differentiable op with PyTorch's semantics (torch.nn.functional); their
// modules (L1Loss, ...) are in layers/loss.h.
#pragma once

#include <cstdint>

#include "core/tensor.h"

namespace convgrad {

// Note [Empty mean]
// ~~~~~~~~~~~~~~~~~
// Every loss with Reduction::Mean gives 0, with a zero gradient, over no elements (an empty batch),
// where PyTorch divides 0 by 0 and gives NaN: a finite result on purpose, so one empty batch cannot turn
// the parameters into NaN (docs/reliability.md). Sum gives 0 and None an empty tensor, as in PyTorch.

/// How a loss combines its per-element values.
enum class Reduction {
  None,  ///< one loss per element (per sample / pixel for cross_entropy)
  Mean,  ///< the average (for weighted cross_entropy: sum(w_y * l) / sum(w_y))
  Sum,   ///< the sum
};

/// Options of cross_entropy, with fluent setters: CrossEntropyOptions().ignore_index(255).weight(w).
class CrossEntropyOptions {
 public:
  /// How per-sample losses are combined (default Mean).
  CrossEntropyOptions& reduction(Reduction r) {
    reduction_ = r;
    return *this;
  }
  Reduction reduction() const { return reduction_; }
  /// Targets equal to this contribute no loss and no gradient (default -100, like PyTorch).
  CrossEntropyOptions& ignore_index(int64_t i) {
    ignore_index_ = i;
    return *this;
  }
  int64_t ignore_index() const { return ignore_index_; }
  /// Per-class weights: a float32 tensor of shape (C); undefined = all ones. Not differentiated.
  CrossEntropyOptions& weight(Tensor w) {
    weight_ = std::move(w);
    return *this;
  }
  const Tensor& weight() const { return weight_; }

 private:
  Reduction reduction_ = Reduction::Mean;
  int64_t ignore_index_ = -100;
  Tensor weight_;
};

/// Cross entropy of float32 logits (N, C) or (N, C, d1, ...) against int64 class indices (N) or
/// (N, d1, ...), like F.cross_entropy: log-softmax over dim 1 and the negative log-likelihood in one fused,
/// numerically stable op (finite loss and gradient for logits of +-1e4). Reduction None gives shape (N, d1,
/// ...). A target outside [0, C) other than ignore_index throws naming the value and its position.
Tensor cross_entropy(const Tensor& logits, const Tensor& target, const CrossEntropyOptions& options = {});

/// Squared error (input - target)^2 of two float32 tensors of one shape, like F.mse_loss.
/// Differentiable in both arguments.
Tensor mse_loss(const Tensor& input, const Tensor& target, Reduction reduction = Reduction::Mean);

/// Binary cross entropy on logits, stable for any magnitude, like F.binary_cross_entropy_with_logits:
/// l = -[p * t * log(sigmoid(x)) + (1 - t) * log(1 - sigmoid(x))] with p = pos_weight (undefined = 1),
/// which broadcasts against input (e.g. shape (C) for the last dim). Differentiable in input and target.
Tensor binary_cross_entropy_with_logits(const Tensor& input, const Tensor& target,
                                        Reduction reduction = Reduction::Mean,
                                        const Tensor& pos_weight = Tensor());

/// Absolute error |input - target| of two float32 tensors of one shape, like F.l1_loss. The
/// gradient is sign(input - target) (0 where they are equal); differentiable in both arguments.
Tensor l1_loss(const Tensor& input, const Tensor& target, Reduction reduction = Reduction::Mean);

/// Huber-style loss like F.smooth_l1_loss: with d = |input - target|, 0.5 d^2 / beta where d < beta,
/// else d - 0.5 beta; beta < 0 is an error. beta = 0 gives l1_loss's values, and PyTorch 1.13's
/// gradient: where input == target both derivatives are -1 (l1_loss's are 0).
Tensor smooth_l1_loss(const Tensor& input, const Tensor& target, Reduction reduction = Reduction::Mean,
                      double beta = 1.0);

/// "none" / "mean" / "sum".
const char* reduction_name(Reduction r);

}  // namespace convgrad
