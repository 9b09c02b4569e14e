#include "metrics.h"

#include <cmath>
#include <limits>

#include "core/factory.h"

namespace convgrad::fcn {

Tensor predict_classes(const Tensor& logits) {
  CONVGRAD_CHECK(logits.dim() == 4 && logits.dtype() == DType::Float32,
                 "predict_classes: expected float32 logits (N, C, H, W), got shape {}",
                 shape_str(logits.shape()));
  const int64_t n = logits.size(0), c = logits.size(1), hw = logits.size(2) * logits.size(3);
  std::vector<float> v = logits.to_vector<float>();  // a row-major copy, whatever the strides
  Tensor out = empty({n, logits.size(2), logits.size(3)}, DType::Int64);
  int64_t* p = out.data<int64_t>();
  for (int64_t b = 0; b < n; ++b)
    for (int64_t i = 0; i < hw; ++i) {
      const float* x = v.data() + b * c * hw + i;
      int64_t best = 0;
      for (int64_t k = 1; k < c; ++k)
        if (x[k * hw] > x[best * hw]) best = k;
      p[b * hw + i] = best;
    }
  return out;
}

ConfusionMatrix::ConfusionMatrix(int64_t classes)
    : classes_(classes), counts_(static_cast<size_t>(classes * classes), 0) {
  CONVGRAD_CHECK(classes > 0, "ConfusionMatrix: classes must be positive, got {}", classes);
}

void ConfusionMatrix::add(const Tensor& predictions, const Tensor& labels) {
  CONVGRAD_CHECK(predictions.dtype() == DType::Int64 && labels.dtype() == DType::Int64 &&
                     predictions.shape() == labels.shape(),
                 "ConfusionMatrix::add: expected int64 predictions and labels of one shape, got {} and {}",
                 shape_str(predictions.shape()), shape_str(labels.shape()));
  std::vector<int64_t> p = predictions.to_vector<int64_t>(), t = labels.to_vector<int64_t>();
  for (size_t i = 0; i < p.size(); ++i) {
    CONVGRAD_CHECK(t[i] >= 0 && t[i] < classes_ && p[i] >= 0 && p[i] < classes_,
                   "ConfusionMatrix::add: label {} / prediction {} outside [0, {})", t[i], p[i], classes_);
    ++counts_[t[i] * classes_ + p[i]];
  }
}

int64_t ConfusionMatrix::total() const {
  int64_t s = 0;
  for (int64_t c : counts_) s += c;
  return s;
}

double ConfusionMatrix::pixel_accuracy() const {
  int64_t correct = 0;
  for (int64_t k = 0; k < classes_; ++k) correct += count(k, k);
  int64_t all = total();
  return all ? static_cast<double>(correct) / all : 0.0;
}

std::vector<double> ConfusionMatrix::iou() const {
  std::vector<double> out;
  for (int64_t k = 0; k < classes_; ++k) {
    int64_t tp = count(k, k), fp = 0, fn = 0;
    for (int64_t j = 0; j < classes_; ++j) {
      if (j == k) continue;
      fp += count(j, k);
      fn += count(k, j);
    }
    int64_t uni = tp + fp + fn;
    out.push_back(uni ? static_cast<double>(tp) / uni : std::numeric_limits<double>::quiet_NaN());
  }
  return out;
}

double ConfusionMatrix::mean_iou() const {
  double sum = 0;
  int defined = 0;
  for (double v : iou())
    if (!std::isnan(v)) sum += v, ++defined;
  return defined ? sum / defined : 0.0;
}

}  // namespace convgrad::fcn
