// Trains a small conv critic with a WGAN-GP gradient penalty, then times a second-order step (with the
// penalty) against a first-order step (without) on the same model.
//
//   gradient_penalty [--steps 300] [--batch 16] [--lambda 10] [--bench 20] [--seed 0]
//
// Exit status 0 when the trained critic separates real from fake (positive Wasserstein estimate) and its
// input-gradient norm ends closer to 1 than it started.
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <vector>

#include "critic.h"

using namespace convgrad;
using namespace convgrad::example;

namespace {

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// Median seconds of `n` critic steps with penalty weight `lambda`.
double time_steps(Sequential& critic, Optimizer& opt, int n, int64_t batch, double lambda, Generator& gen) {
  std::vector<double> t;
  for (int i = 0; i < n; ++i) {
    Tensor real = real_batch(batch, gen), fake = fake_batch(batch, gen);
    auto start = std::chrono::steady_clock::now();
    critic_step(critic, opt, real, fake, lambda, gen);
    t.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  return median(t);
}

}  // namespace

int main(int argc, char** argv) {
  int steps = 300, bench = 20;
  int64_t batch = 16;
  double lambda = 10.0;
  uint64_t seed = 0;
  CLI::App app{"WGAN-GP critic: a gradient penalty through conv2d's double backward"};
  app.add_option("--steps", steps, "training steps")->check(CLI::Range(1, 1000000));
  app.add_option("--batch", batch, "images per batch")->check(CLI::Range(2, 4096));
  app.add_option("--lambda", lambda, "penalty weight")->check(CLI::Range(0.0, 1e6));
  app.add_option("--bench", bench, "steps timed per kind after training (0: none)")
      ->check(CLI::Range(0, 100000));
  app.add_option("--seed", seed, "random seed");
  CLI11_PARSE(app, argc, argv);

  Generator gen(seed);
  auto critic = make_critic(gen);
  Adam opt(critic->parameters(), AdamOptions(1e-3));
  StepStats first, last;
  for (int s = 0; s < steps; ++s) {
    StepStats st = critic_step(*critic, opt, real_batch(batch, gen), fake_batch(batch, gen), lambda, gen);
    if (s == 0) first = st;
    last = st;
    if (s % std::max(1, steps / 10) == 0 || s == steps - 1)
      fmt::print("step {:4d}  W estimate {:8.4f}  penalty {:8.4f}  |grad| {:6.3f}\n", s, st.wasserstein,
                 st.penalty, st.grad_norm);
  }
  if (bench > 0) {
    double t1 = time_steps(*critic, opt, bench, batch, 0.0, gen);
    double t2 = time_steps(*critic, opt, bench, batch, lambda, gen);
    fmt::print(
        "median step over {} steps, batch {}: first order {:.3f} ms, with gradient penalty {:.3f} ms "
        "({:.2f}x)\n",
        bench, batch, t1 * 1e3, t2 * 1e3, t2 / t1);
  }
  const bool separated = last.wasserstein > 0;
  const bool closer = lambda == 0 || std::abs(last.grad_norm - 1) < std::abs(first.grad_norm - 1);
  if (!separated || !closer) {
    fmt::print(stderr, "the critic did not train: W estimate {:.4f}, |grad| {:.3f} -> {:.3f}\n",
               last.wasserstein, first.grad_norm, last.grad_norm);
    return 1;
  }
  return 0;
}
