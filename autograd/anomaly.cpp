#include "autograd/anomaly.h"

#include <atomic>
#include <cmath>
#include <cstdlib>
#include <cstring>

#include "autograd/node.h"

namespace convgrad {

namespace {

bool env_on() {
  const char* v = std::getenv("CONVGRAD_DETECT_ANOMALY");
  return v != nullptr && *v != '\0' && std::strcmp(v, "0") != 0;
}

// Function-local so that an op run during another file's static initialisation still sees the env.
std::atomic<bool>& flag() {
  static std::atomic<bool> on{env_on()};
  return on;
}

thread_local bool t_in_backward = false;

void count(float v, int64_t pos, NonFiniteStats& s) {
  if (std::isfinite(v)) return;
  if (std::isnan(v))
    ++s.nan;
  else if (v > 0)
    ++s.pos_inf;
  else
    ++s.neg_inf;
  if (s.first < 0) {
    s.first = pos;
    s.first_value = v;
  }
}

// "[1, 2]": the multi-index of a row-major position.
std::string index_str(const Shape& shape, int64_t pos) {
  Shape idx(shape.size());
  for (size_t d = shape.size(); d-- > 0;) {
    idx[d] = shape[d] ? pos % shape[d] : 0;
    pos = shape[d] ? pos / shape[d] : 0;
  }
  return shape_str(idx);
}

std::string describe(const NonFiniteStats& s, const Tensor& t) {
  return fmt::format("{} NaN, {} +Inf, {} -Inf among {} values; first {} at index {}", s.nan, s.pos_inf,
                     s.neg_inf, t.numel(), s.first_value, index_str(t.shape(), s.first));
}

// One line per input: shape, dtype and whether it already held NaN/Inf.
std::string inputs_str(const std::vector<Tensor>& inputs) {
  std::string out;
  for (size_t i = 0; i < inputs.size(); ++i) {
    const Tensor& t = inputs[i];
    if (!t.defined()) {
      out += fmt::format("\n  input {}: (none)", i);
      continue;
    }
    NonFiniteStats s = non_finite_stats(t);
    out += fmt::format("\n  input {}: shape {} {}, {}", i, shape_str(t.shape()), dtype_name(t.dtype()),
                       s.finite() ? "all finite" : "ALREADY NON-FINITE: " + describe(s, t));
  }
  return out;
}

bool any_non_finite(const std::vector<Tensor>& ts) {
  for (const auto& t : ts)
    if (t.defined() && !non_finite_stats(t).finite()) return true;
  return false;
}

}  // namespace

void set_detect_anomaly(bool on) { flag().store(on, std::memory_order_relaxed); }
bool detect_anomaly() { return flag().load(std::memory_order_relaxed); }

NonFiniteStats non_finite_stats(const Tensor& t) {
  NonFiniteStats s;
  if (!t.defined() || t.dtype() != DType::Float32 || t.numel() == 0) return s;
  if (t.is_contiguous()) {
    const float* p = t.data<float>();
    for (int64_t i = 0, n = t.numel(); i < n; ++i) count(p[i], i, s);
  } else {
    std::vector<float> v = t.to_vector<float>();
    for (size_t i = 0; i < v.size(); ++i) count(v[i], static_cast<int64_t>(i), s);
  }
  return s;
}

namespace detail {

void anomaly_check_forward(const char* op, const Tensor& output, const std::vector<Tensor>& inputs) {
  if (t_in_backward || !output.defined()) return;
  NonFiniteStats s = non_finite_stats(output);
  if (s.finite()) return;
  fail(
      "anomaly detected in forward: op '{}' produced non-finite values in its output of shape {} ({}).{}\n{}",
      op, shape_str(output.shape()), describe(s, output), inputs_str(inputs),
      any_non_finite(inputs)
          ? "An input was already non-finite: the problem starts before this op (check the data "
            "or the last op outside convgrad)."
          : "Every input was finite: this op created them (overflow, log/sqrt/division of a "
            "bad value?).");
}

void anomaly_check_backward(const Node& node, const Tensor& grad_output, const std::vector<Tensor>& grads) {
  for (size_t i = 0; i < grads.size(); ++i) {
    if (!grads[i].defined()) continue;
    NonFiniteStats s = non_finite_stats(grads[i]);
    if (s.finite()) continue;
    NonFiniteStats gs = non_finite_stats(grad_output);
    std::string incoming = gs.finite() ? "all finite" : "ALREADY NON-FINITE: " + describe(gs, grad_output);
    fail(
        "anomaly detected in backward: the backward of op '{}' (output shape {}) produced non-finite values in the "
        "gradient for input {} of shape {} ({}).\n  incoming gradient: shape {}, {}{}\n{}",
        node.name(), shape_str(node.output_shape()), i, shape_str(grads[i].shape()), describe(s, grads[i]),
        shape_str(grad_output.shape()), incoming, inputs_str(node.inputs()),
        gs.finite()
            ? "The incoming gradient was finite: this op's backward created them (e.g. sqrt or log at 0, "
              "division by a tiny value)."
            : "The incoming gradient was already non-finite: look at the op that consumed this one's output.");
  }
}

BackwardScope::BackwardScope() : previous_(t_in_backward) { t_in_backward = true; }
BackwardScope::~BackwardScope() { t_in_backward = previous_; }

}  // namespace detail

}  // namespace convgrad
