// Training and evaluation loops of the FCN example, separate from the command line.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "shapes_data.h"
#include "tiny_fcn.h"

namespace convgrad::fcn {

/// Everything the command line sets (defaults = what `make demo` runs).
struct FcnConfig {
  int64_t steps = 10000;  ///< optimizer steps
  int64_t batch = 8;      ///< images per step (small batches: more updates per image)
  double lr = 0;          ///< 0 = the optimizer's default (Adam 6e-3, SGD 0.05)
  std::string optimizer = "adam";
  std::string schedule = "cosine";  ///< "cosine" (decay to 0 over the run) or "constant"
  int threads = 2;
  bool skips = true;  ///< FCN-8s fusion of the 1/4 and 1/2 resolution scores
  uint64_t seed = 0;
  int64_t train_images = 8192;  ///< size of the training set, cycled (the PyTorch script's 8192)
  int64_t eval_images = 512;    ///< held-out images
  int64_t log_every = 500;      ///< plain progress line period when not on a terminal
  std::string out = "fcn_out";
  std::string save, load;
  bool eval_only = false;
  bool json = false;
  bool bf16 = false;  ///< forward and loss under AutocastGuard (docs/mixed-precision.md)
};

/// The learning rate used when FcnConfig::lr is 0.
double default_lr(const std::string& optimizer);

/// What one training step reports to the progress bar.
struct StepStats {
  int64_t step = 0;     ///< 1-based step just finished
  double loss = 0;      ///< its (smoothed) loss
  double accuracy = 0;  ///< its (smoothed) training pixel accuracy
  double images_per_s = 0;
};

/// The progress bar's metrics for a step: `loss 0.2134  acc 0.934  412 img/s`.
std::string step_metrics(const StepStats& stats);

/// What training recorded.
struct TrainLog {
  std::vector<double> loss, accuracy;  ///< per step (accuracy = training-batch pixel accuracy)
  double train_s = 0;                  ///< wall time of the whole loop, data generation included
  double step_ms = 0;                  ///< median time of zero_grad + forward + backward + step
  double images_per_s = 0;             ///< batch / median step time
};

/// Trains `model` in place for config.steps steps on `data` (cycled), reporting progress.
TrainLog train(TinyFCN& model, const ShapesDataset& data, const FcnConfig& config);

/// Held-out metrics plus the first few images with predictions, for the picture.
struct EvalResult {
  double pixel_acc = 0, miou = 0;
  std::vector<double> iou;             ///< per class; NaN when a class is absent from labels and predictions
  Tensor images, predictions, labels;  ///< the first `keep` images
};

/// Evaluates `model` (switched to eval mode, no graph) on all of `data` in batches of `batch`.
EvalResult evaluate(TinyFCN& model, const ShapesDataset& data, int64_t batch = 64, int64_t keep = 8);

/// The final --json line: {"pixel_acc", "miou", "per_class_iou", "steps", "train_s", "step_ms",
/// "images_per_s"}.
std::string result_json(const EvalResult& eval, const TrainLog& log, int64_t steps);

}  // namespace convgrad::fcn
