// Helpers shared by the test executables: literal tensors and leaves, NaN-safe comparisons, the
// verbose lines of a scope. Every comparison here fails on NaN: a kernel that leaves its output
// unwritten leaves the poison NaN of CONVGRAD_POISON=1, and that must never pass.
#pragma once

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include "core/backend.h"
#include "core/factory.h"
#include "core/tensor.h"
#include "core/threading.h"

namespace convgrad::testing {

/// A float32 tensor from literal values (from_vector is ambiguous with braced lists).
inline Tensor floats(const std::vector<float>& values, const Shape& shape) {
  return from_vector(values, shape);
}

/// `t` as a leaf that requires its gradient.
inline Tensor leaf(Tensor t) {
  t.set_requires_grad();
  return t;
}

/// The largest |a - b|: infinity when the shapes differ or when either side holds a NaN, so
/// `max_abs_diff(a, b) <= tol` is false then.
inline double max_abs_diff(const Tensor& a, const Tensor& b) {
  if (a.shape() != b.shape()) return INFINITY;
  const std::vector<float> x = a.to_vector(), y = b.to_vector();
  double worst = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    const double d = std::fabs(static_cast<double>(x[i]) - static_cast<double>(y[i]));
    if (std::isnan(d)) return INFINITY;
    if (d > worst) worst = d;
  }
  return worst;
}

/// The largest |got - want| and the largest |want| (the scale a golden comparison is relative to: a
/// per-element relative error means nothing where a sum of products cancels to near zero). A NaN in
/// `got`, or a size mismatch, makes the error infinite, so `err <= tol * scale` fails.
struct GoldenError {
  double err = 0, scale = 0;
};
inline GoldenError golden_error(const Tensor& got, const Tensor& want) {
  const std::vector<double> a = got.to_vector<double>(), b = want.to_vector<double>();
  GoldenError r;
  if (a.size() != b.size()) return {INFINITY, 0};
  for (double v : b) r.scale = std::max(r.scale, std::abs(v));
  for (size_t i = 0; i < a.size(); ++i) {
    const double d = std::abs(a[i] - b[i]);
    if (!(d <= r.err)) r.err = std::isnan(d) ? INFINITY : d;  // std::max would skip a NaN
  }
  return r;
}

/// Shapes equal and every |a - b| <= atol + rtol * |b| (NumPy's allclose rule); a NaN on either side
/// fails. Reports the worst element.
inline void check_close(const Tensor& a, const Tensor& b, double atol = 1e-5, double rtol = 1e-4) {
  REQUIRE(a.defined());
  REQUIRE(b.defined());
  REQUIRE_MESSAGE(a.shape() == b.shape(), shape_str(a.shape()) << " vs " << shape_str(b.shape()));
  const std::vector<float> va = a.to_vector(), vb = b.to_vector();
  size_t worst = 0;
  double worst_excess = -INFINITY;
  for (size_t i = 0; i < va.size(); ++i) {
    double excess = std::fabs(double(va[i]) - double(vb[i])) - (atol + rtol * std::fabs(double(vb[i])));
    if (std::isnan(excess)) excess = INFINITY;
    if (excess > worst_excess) worst_excess = excess, worst = i;
  }
  if (va.empty()) return;
  CHECK_MESSAGE(worst_excess <= 0.0, "element " << worst << " of " << va.size() << ": got " << va[worst]
                                                << ", expected " << vb[worst] << " (atol " << atol
                                                << ", rtol " << rtol << ")");
}

/// Turns verbose mode on and collects its lines while alive (the convolution backends write one line
/// per kernel call).
struct VerboseCapture {
  std::vector<std::string> lines;
  VerboseCapture() {
    set_verbose(true);
    set_verbose_sink([this](const std::string& l) { lines.push_back(l); });
  }
  ~VerboseCapture() {
    set_verbose(false);
    set_verbose_sink(nullptr);
  }
  VerboseCapture(const VerboseCapture&) = delete;
  VerboseCapture& operator=(const VerboseCapture&) = delete;
  /// How many lines contain `text`.
  int count(const std::string& text) const {
    int n = 0;
    for (const auto& l : lines) n += l.find(text) != std::string::npos;
    return n;
  }
  /// Whether a line contains `text`.
  bool any(const std::string& text) const { return count(text) > 0; }
};

/// Runs `body` once on each available convolution backend (INFO names it), restoring the selection.
template <class F>
void on_every_backend(F&& body) {
  struct Restore {
    std::string saved = current_backend();
    ~Restore() { set_backend(saved); }
  } restore;
  for (const std::string& name : available_backends()) {
    INFO("backend " << name);
    set_backend(name);
    body();
  }
}

/// Runs `body` at 1 and then 2 threads (CAPTURE names the count), restoring the setting.
template <class F>
void at_1_and_2_threads(F&& body) {
  struct Restore {
    int saved = get_num_threads();
    ~Restore() { set_num_threads(saved); }
  } restore;
  for (int t : {1, 2}) {
    CAPTURE(t);
    set_num_threads(t);
    body();
  }
}

}  // namespace convgrad::testing
