#include "critic.h"

namespace convgrad::example {

std::shared_ptr<Sequential> make_critic(Generator& gen) {
  return std::make_shared<Sequential>(
      std::make_shared<Conv2d>(Conv2dOptions(1, 8, 3).stride(2).padding(1), gen),
      std::make_shared<LeakyReLU>(LeakyReLUOptions().negative_slope(0.2)),
      std::make_shared<Conv2d>(Conv2dOptions(8, 16, 3).stride(2).padding(1), gen),
      std::make_shared<LeakyReLU>(LeakyReLUOptions().negative_slope(0.2)), std::make_shared<Flatten>(),
      std::make_shared<Linear>(LinearOptions(16 * 4 * 4, 1), gen));
}

Tensor real_batch(int64_t n, Generator& gen) {
  Tensor x = uniform({n, 1, 16, 16}, 0.f, 0.1f, gen);
  float* p = x.data<float>();
  for (int64_t i = 0; i < n; ++i) {
    const int64_t top = static_cast<int64_t>(gen.uniform(0.f, 11.f)),
                  left = static_cast<int64_t>(gen.uniform(0.f, 11.f));
    for (int64_t r = top; r < top + 5; ++r)
      for (int64_t c = left; c < left + 5; ++c) p[(i * 16 + r) * 16 + c] += 0.9f;
  }
  return x;
}

Tensor fake_batch(int64_t n, Generator& gen) { return uniform({n, 1, 16, 16}, 0.f, 1.f, gen); }

StepStats critic_step(Sequential& critic, Optimizer& opt, const Tensor& real, const Tensor& fake,
                      double lambda, Generator& gen) {
  StepStats stats;
  Tensor d_real = mean(critic.forward(real)), d_fake = mean(critic.forward(fake));
  Tensor loss = d_fake - d_real;
  stats.wasserstein = -loss.item<float>();
  if (lambda > 0) {
    // x_hat: random points on the lines between real and fake samples, a leaf the penalty differentiates at.
    Tensor eps = uniform({real.size(0), 1, 1, 1}, 0.f, 1.f, gen);
    Tensor x_hat = (eps * real + (1.f - eps) * fake).detach();
    x_hat.set_requires_grad();
    // The input gradient with its own graph (create_graph), so the penalty built from it is differentiable
    // with respect to the critic's weights.
    Tensor g = grad({sum(critic.forward(x_hat))}, {x_hat}, {}, std::nullopt, /*create_graph=*/true)[0];
    Tensor norm = sqrt(sum(g * g, {1, 2, 3}) + 1e-12f);
    Tensor penalty = mean(pow(norm - 1.f, 2.f));
    stats.penalty = penalty.item<float>();
    stats.grad_norm = mean(norm).item<float>();
    loss = loss + penalty * static_cast<float>(lambda);
  }
  opt.zero_grad();
  loss.backward();
  opt.step();
  return stats;
}

}  // namespace convgrad::example
