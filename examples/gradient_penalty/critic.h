// A small conv critic and one WGAN-GP training step (Gulrajani et al. 2017): the critic separates real images
// from fake ones while a penalty keeps the norm of its gradient with respect to its input near 1.
#pragma once

#include <memory>

#include "layers/convgrad.h"

namespace convgrad::example {

/// 1x16x16 images -> one score: two stride-2 convolutions with leaky ReLU, then a linear layer.
std::shared_ptr<Sequential> make_critic(Generator& gen);

/// "Real" images: a bright 5x5 square at a random place on a dark background, plus a little noise.
Tensor real_batch(int64_t n, Generator& gen);
/// "Fake" images: uniform noise.
Tensor fake_batch(int64_t n, Generator& gen);

/// What one step measured.
struct StepStats {
  double wasserstein = 0;  ///< mean critic(real) - mean critic(fake)
  double penalty = 0;      ///< mean (|grad_x critic(x_hat)| - 1)^2, 0 without the penalty
  double grad_norm = 0;    ///< mean |grad_x critic(x_hat)| over the batch, 0 without the penalty
};

/// One optimizer step on loss = critic(fake) - critic(real) (+ lambda * penalty when lambda > 0). The penalty
/// differentiates the critic's input gradient, taken with grad(..., create_graph=true), once more.
StepStats critic_step(Sequential& critic, Optimizer& opt, const Tensor& real, const Tensor& fake,
                      double lambda, Generator& gen);

}  // namespace convgrad::example
