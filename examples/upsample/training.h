// Training the upsampler and the default run: baselines, training, PSNR table, comparison strip.
#pragma once

#include <cstdint>
#include <string>

#include "upsampler.h"

namespace convgrad::upsample {

/// The command-line settings (defaults = the run that finishes in well under a minute on 2 cores).
struct RunConfig {
  int64_t steps = 600;
  int64_t batch = 16;
  double lr = 2e-3;
  int threads = 2;
  uint64_t seed = 0;
  int64_t eval_images = 48;
  std::string out = "upsample_out";
};

/// Trains `model` with Adam (cosine decay) on fresh 64x64 images (stream 1 of the seed) to restore
/// their 2x2-averaged versions under the MSE loss; prints a line every 100 steps. Returns seconds.
double train_upsampler(Upsampler& model, const RunConfig& config, const std::string& tag);

/// Held-out images (stream 2 of the seed): (N, 3, 64, 64).
Tensor heldout_images(const RunConfig& config);

/// The default run: PSNR of nearest, bilinear (the untrained transposed conv), bilinear interpolation
/// with clamped edges, and the trained model; writes upsample_comparison.png. Returns the exit status:
/// 0 when the trained model beats the bilinear transposed conv, 1 otherwise.
int run_super_resolution(const RunConfig& config);

}  // namespace convgrad::upsample
