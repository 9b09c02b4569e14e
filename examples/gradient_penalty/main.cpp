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

#include "core/memory.h"
#include "critic.h"

using namespace convgrad;
using namespace convgrad::example;

namespace {

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

struct Timing {
  double seconds;     // median step time
  double peak_bytes;  // median peak of tensor memory during a step, above what was in use before it
};

// `n` critic steps with penalty weight `lambda`, timed.
Timing time_steps(Sequential& critic, Optimizer& opt, int n, int64_t batch, double lambda, Generator& gen) {
  std::vector<double> t, peak;
  for (int i = 0; i < n; ++i) {
    Tensor real = real_batch(batch, gen), fake = fake_batch(batch, gen);
    reset_peak_memory_stats();
    const int64_t before = memory_stats().in_use_bytes;
    auto start = std::chrono::steady_clock::now();
    critic_step(critic, opt, real, fake, lambda, gen);
    t.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    peak.push_back(static_cast<double>(memory_stats().peak_in_use_bytes - before));
  }
  return {median(t), median(peak)};
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
    Timing t1 = time_steps(*critic, opt, bench, batch, 0.0, gen);
    Timing t2 = time_steps(*critic, opt, bench, batch, lambda, gen);
    fmt::print(
        "median over {} steps, batch {}: first order {:.3f} ms, peak {:.0f} KiB; with gradient penalty "
        "{:.3f} ms ({:.2f}x), peak {:.0f} KiB ({:.2f}x)\n",
        bench, batch, t1.seconds * 1e3, t1.peak_bytes / 1024, t2.seconds * 1e3, t2.seconds / t1.seconds,
        t2.peak_bytes / 1024, t2.peak_bytes / t1.peak_bytes);
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
