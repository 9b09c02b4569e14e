// Segmentation metrics from a confusion matrix: pixel accuracy, per-class IoU, mean IoU.
#pragma once

#include <cstdint>
#include <vector>

#include "core/tensor.h"

namespace convgrad::fcn {

/// Per-pixel class predictions (N, H, W) int64 from logits (N, C, H, W): the first largest score.
Tensor predict_classes(const Tensor& logits);

/// Counts (true class, predicted class) pairs over any number of batches.
class ConfusionMatrix {
 public:
  /// A zeroed matrix for `classes` classes.
  explicit ConfusionMatrix(int64_t classes);
  /// Adds int64 predictions and labels of one shape; labels outside [0, classes) are an error.
  void add(const Tensor& predictions, const Tensor& labels);
  /// Pixels of true class `truth` predicted as `predicted`.
  int64_t count(int64_t truth, int64_t predicted) const { return counts_[truth * classes_ + predicted]; }
  /// Number of classes.
  int64_t classes() const { return classes_; }
  /// All pixels counted.
  int64_t total() const;
  /// Correct pixels / all pixels (0 when empty).
  double pixel_accuracy() const;
  /// Intersection over union per class: TP / (TP + FP + FN); NaN for a class absent from both.
  std::vector<double> iou() const;
  /// Mean of the defined per-class IoUs (classes absent from both predictions and labels are skipped,
  /// as in the PyTorch reference script).
  double mean_iou() const;

 private:
  int64_t classes_;
  std::vector<int64_t> counts_;
};

}  // namespace convgrad::fcn
