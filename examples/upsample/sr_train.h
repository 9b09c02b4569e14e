// `upsample train`: a super-resolution model trained on random crops of a folder of photographs.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "sr_models.h"

namespace convgrad::upsample {

/// The settings of `upsample train`. The defaults are the documented FSRCNN run
/// (docs/super-resolution.md): a few minutes on 2 cores.
struct TrainConfig {
  std::string images;      ///< folder of training photographs
  std::string val_images;  ///< optional folder of held-out photographs for the validation curve
  std::string save;        ///< checkpoint to write
  std::string plot;        ///< validation curve PNG; empty = next to the checkpoint (NAME_curve.png)
  SrConfig model;          ///< architecture, scale, channels, residual
  int64_t crop = 48;       ///< high-resolution crop side (a multiple of the scale)
  int64_t batch = 16;
  int64_t steps = 8000;
  double lr = 1e-3;  ///< Adam learning rate, cosine decay to 0
  std::string loss = "l1";
  /// Extra copies of the photos downscaled by these factors (add_downscaled), FSRCNN's augmentation.
  std::vector<double> augment_scales = {0.9, 0.8, 0.7, 0.6};
  bool by_area = false;     ///< sample photos in proportion to their area (SrCrops)
  int64_t workers = 2;      ///< loader threads
  int64_t val_points = 10;  ///< validations along training (0: none)
  int64_t log_every = 250;  ///< plain progress line period when not on a terminal
  int threads = 2;
  uint64_t seed = 0;
  bool json = false;
  bool bf16 = false;  ///< forward and loss under AutocastGuard (docs/mixed-precision.md)
};

/// One validation: mean Y PSNR of the model over the held-out images after `step` steps.
struct ValPoint {
  int64_t step = 0;
  double psnr = 0;
};

/// What a training run measured.
struct TrainResult {
  int64_t steps = 0;
  double seconds = 0;  ///< training time (validation excluded)
  double images_per_s = 0;
  double first_loss = 0;              ///< mean loss of the first 10% of the steps
  double last_loss = 0;               ///< mean loss of the last 10% of the steps
  std::vector<ValPoint> val;          ///< the validation curve (empty without --val-images)
  std::vector<ValPoint> train_curve;  ///< smoothed PSNR of the training crops along training
  double val_bicubic = 0;             ///< bicubic's mean Y PSNR on the same validation images
};

/// Trains, saves the checkpoint and the curve, prints progress (or one JSON line). Returns the result.
TrainResult train(const TrainConfig& config);
/// Runs `upsample train`; returns the exit status.
int run_train(const TrainConfig& config);

}  // namespace convgrad::upsample
