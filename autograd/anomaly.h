// Anomaly mode: find the first op that turns finite numbers into NaN or Inf.
//
// When on, every differentiable op checks its float32 output as it is produced (forward, also under
// NoGradGuard), and the reverse pass checks every gradient a backward closure returns. The first
// non-finite value throws convgrad::Error naming the op, the output and input shapes, how many NaN /
// +Inf / -Inf values there are and where the first one sits, and whether the inputs were already
// non-finite (then the problem came from earlier: the data, or an op outside convgrad).
//
// Switch it on with the environment (CONVGRAD_DETECT_ANOMALY=1, read once at the first op) or in code
// (set_detect_anomaly(true), or a DetectAnomalyGuard for one region). Off, it costs one relaxed
// atomic load per op. On, each op scans its output once, so it is for debugging, not for training
// runs (its cost: docs/performance.md#anomaly-mode).
#pragma once

#include <string>
#include <vector>

#include "core/tensor.h"

namespace convgrad {

class Node;

/// Turns anomaly detection on or off for every thread (overrides CONVGRAD_DETECT_ANOMALY).
void set_detect_anomaly(bool on);
/// Whether anomaly detection is on: the last set_detect_anomaly(), else CONVGRAD_DETECT_ANOMALY=1.
bool detect_anomaly();

/// RAII: anomaly detection on (or `on`) while it lives, the previous setting restored afterwards.
class DetectAnomalyGuard {
 public:
  explicit DetectAnomalyGuard(bool on = true) : previous_(detect_anomaly()) { set_detect_anomaly(on); }
  ~DetectAnomalyGuard() { set_detect_anomaly(previous_); }
  DetectAnomalyGuard(const DetectAnomalyGuard&) = delete;
  DetectAnomalyGuard& operator=(const DetectAnomalyGuard&) = delete;

 private:
  bool previous_;
};

/// Counts of the non-finite values of a tensor (int64 tensors have none).
struct NonFiniteStats {
  int64_t nan = 0;          ///< NaN values
  int64_t pos_inf = 0;      ///< +Inf values
  int64_t neg_inf = 0;      ///< -Inf values
  int64_t first = -1;       ///< row-major position of the first non-finite value, -1 when all are finite
  float first_value = 0.f;  ///< that value
  /// True when every value is finite.
  bool finite() const { return first < 0; }
};

/// Scans a defined tensor (any strides) for NaN and Inf.
NonFiniteStats non_finite_stats(const Tensor& t);

namespace detail {
/// Forward check, called by make_result for every op while anomaly mode is on: throws when `output`
/// holds NaN/Inf. Skipped inside a backward closure (the engine checks the closure's results instead).
void anomaly_check_forward(const char* op, const Tensor& output, const std::vector<Tensor>& inputs);
/// Backward check, called by the engine after each node: throws when a gradient holds NaN/Inf.
void anomaly_check_backward(const Node& node, const Tensor& grad_output, const std::vector<Tensor>& grads);

/// Marks the current thread as running a backward closure while it lives.
class BackwardScope {
 public:
  BackwardScope();
  ~BackwardScope();
  BackwardScope(const BackwardScope&) = delete;
  BackwardScope& operator=(const BackwardScope&) = delete;

 private:
  bool previous_;
};
}  // namespace detail

}  // namespace convgrad
