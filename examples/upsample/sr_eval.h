// Measuring super-resolution: PSNR and SSIM on the Y channel with a border crop of `scale` pixels, of
// a model next to bicubic and bilinear upscaling, and the `upsample eval` command.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "sr_data.h"
#include "sr_models.h"

namespace convgrad::upsample {

/// PSNR (dB) and SSIM of one result.
struct Scores {
  double psnr = 0, ssim = 0;
};

/// Scores of `out` against `ref`, both (C, H, W), C = 1 (Y or grey) or 3 (RGB, measured on its BT.601
/// Y): `out` is clamped to [0, 1] first and `border` pixels are left out on every side.
Scores score_y(const Tensor& out, const Tensor& ref, int64_t border);

/// One image of an evaluation.
struct ImageResult {
  std::string path;
  int64_t width = 0, height = 0;  ///< of the high-resolution image
  Scores model, bicubic, bilinear;
};

/// Every image and the means over them (the mean of per-image values, as SR papers report).
struct EvalResult {
  std::vector<ImageResult> images;
  Scores model, bicubic, bilinear;
};

/// Upscales each pair's low-resolution image with the model (tiled), bicubic and bilinear and scores
/// all three against the original.
EvalResult evaluate(SrModel& model, const std::vector<SrPair>& pairs, int64_t tile = 128);

/// The settings of `upsample eval`.
struct EvalConfig {
  std::string load;     ///< checkpoint from `upsample train --save`
  std::string images;   ///< folder of high-resolution photographs
  std::string compare;  ///< when set: a PNG of crops side by side (bicubic, model, original)
  bool json = false;
  int64_t tile = 128;
  int threads = 2;
};

/// Runs `upsample eval`; returns the exit status.
int run_eval(const EvalConfig& config);

}  // namespace convgrad::upsample
