#include "core/backend.h"

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <mutex>

#include "core/backends/reference/backend.h"
#include "core/factory.h"
#include "core/operand_check.h"
#ifdef CONVGRAD_WITH_ONEDNN
#include "core/backends/onednn/backend.h"
#endif

namespace convgrad {

namespace {

struct Entry {
  std::string name;
  BackendFactory make;
  std::unique_ptr<Backend> instance;  // created on first use
};

// THE registry: one line per backend. The first line is the default.
std::vector<Entry> builtin_backends() {
  std::vector<Entry> r;
#ifdef CONVGRAD_WITH_ONEDNN
  r.push_back({"onednn", make_onednn_backend, nullptr});
#endif
  r.push_back({"reference", make_reference_backend, nullptr});
  return r;
}

struct State {
  std::mutex mutex;
  std::vector<Entry> entries = builtin_backends();
  std::string selected;  // empty until first use: then CONVGRAD_BACKEND or the first entry
  std::function<void(const std::string&)> sink;
};

State& state() {
  static State s;
  return s;
}

bool env_flag(const char* name) {
  const char* v = std::getenv(name);
  return v && *v && std::string(v) != "0";
}

std::atomic<bool> g_check{env_flag("CONVGRAD_CHECK")};
std::atomic<bool> g_verbose{env_flag("CONVGRAD_VERBOSE")};

std::string names_locked(const State& s) {
  std::string out;
  for (const auto& e : s.entries) out += (out.empty() ? "" : ", ") + e.name;
  return out;
}

Entry* find_locked(State& s, const std::string& name) {
  for (auto& e : s.entries)
    if (e.name == name) return &e;
  return nullptr;
}

const std::string& selected_locked(State& s) {
  if (s.selected.empty()) {
    const char* env = std::getenv("CONVGRAD_BACKEND");
    std::string want = env && *env ? env : s.entries.front().name;
    CONVGRAD_CHECK(find_locked(s, want) != nullptr,
                   "CONVGRAD_BACKEND={} is not an available convolution backend; available: {}", want,
                   names_locked(s));
    s.selected = want;
  }
  return s.selected;
}

Backend& instance_locked(State& s, const std::string& name) {
  Entry* e = find_locked(s, name);
  CONVGRAD_CHECK(e != nullptr, "convolution backend '{}' is not available; available: {}", name,
                 names_locked(s));
  if (!e->instance) e->instance = e->make();
  return *e->instance;
}

// The second backend of the dual-run check: the reference, or the first other one (oneDNN when built)
// when the reference runs.
Backend* check_partner(Backend& active) {
  State& s = state();
  std::lock_guard<std::mutex> lock(s.mutex);
  std::string other = "reference";
  if (other == active.name()) {
    other.clear();
    for (const auto& e : s.entries)
      if (e.name != active.name()) {
        other = e.name;
        break;
      }
    if (other.empty()) return nullptr;
  }
  return &instance_locked(s, other);
}

Backend& active() {
  State& s = state();
  std::lock_guard<std::mutex> lock(s.mutex);
  return instance_locked(s, selected_locked(s));
}

void check_vector(const Tensor& t, int64_t n, const char* op, const char* what) {
  if (!t.defined()) return;
  check_operand(t, op, what, Layout::Contiguous);
  CONVGRAD_CHECK(t.dim() == 1 && t.size(0) == n, "{}: {} has shape {}, expected [{}]", op, what,
                 shape_str(t.shape()), n);
}

// Throws when `got` (the selected backend) and `want` (the partner) differ beyond float32 noise.
void compare(const Tensor& got, const Tensor& want, const char* op, const char* what, const Backend& a,
             const Backend& b, const ConvShapes& s) {
  const float* g = got.data<float>();
  const float* w = want.data<float>();
  double max_ref = 0, max_diff = 0;
  int64_t worst = -1;
  for (int64_t i = 0; i < got.numel(); ++i) {
    max_ref = std::max(max_ref, std::abs(double(w[i])));
    double d = std::abs(double(g[i]) - double(w[i]));
    if (std::isnan(d)) d = INFINITY;
    if (d > max_diff || worst < 0) max_diff = d, worst = i;
  }
  double tol = 1e-4 * max_ref + 1e-6;
  CONVGRAD_CHECK(
      max_diff <= tol,
      "CONVGRAD_CHECK: {} {} differs between backends {} and {}: max |diff| {:.3g} at element {} ({} vs "
      "{}), "
      "tolerance {:.3g}; src {}, weights {}, dst {}, {}",
      op, what, a.name(), b.name(), max_diff, worst, g[worst], w[worst], tol, shape_str(s.src),
      shape_str(s.wei), shape_str(s.dst), params_str(s.params));
}

// The partner's output: every element is overwritten by its kernel.
Tensor fresh_like(const Tensor& t) { return t.defined() ? uninitialized(t.shape()) : Tensor(); }

}  // namespace

std::vector<std::string> available_backends() {
  State& s = state();
  std::lock_guard<std::mutex> lock(s.mutex);
  std::vector<std::string> out;
  for (const auto& e : s.entries) out.push_back(e.name);
  return out;
}

void set_backend(const std::string& name) {
  State& s = state();
  std::lock_guard<std::mutex> lock(s.mutex);
  CONVGRAD_CHECK(find_locked(s, name) != nullptr,
                 "set_backend: '{}' is not an available convolution backend; available: {}", name,
                 names_locked(s));
  s.selected = name;
}

std::string current_backend() {
  State& s = state();
  std::lock_guard<std::mutex> lock(s.mutex);
  return selected_locked(s);
}

Backend& get_backend(const std::string& name) {
  State& s = state();
  std::lock_guard<std::mutex> lock(s.mutex);
  return instance_locked(s, name);
}

void register_backend(const std::string& name, BackendFactory factory) {
  CONVGRAD_CHECK(!name.empty() && factory != nullptr, "register_backend: expected a name and a factory");
  State& s = state();
  std::lock_guard<std::mutex> lock(s.mutex);
  if (Entry* e = find_locked(s, name)) {
    e->make = std::move(factory);
    e->instance.reset();
  } else {
    s.entries.push_back({name, std::move(factory), nullptr});
  }
}

void set_check_backends(bool on) { g_check = on; }
bool check_backends() { return g_check; }
void set_verbose(bool on) { g_verbose = on; }
bool verbose() { return g_verbose; }

void set_verbose_sink(std::function<void(const std::string&)> sink) {
  State& s = state();
  std::lock_guard<std::mutex> lock(s.mutex);
  s.sink = std::move(sink);
}

void verbose_log(const std::string& line) {
  if (!g_verbose) return;
  State& s = state();
  std::function<void(const std::string&)> sink;
  {
    std::lock_guard<std::mutex> lock(s.mutex);
    sink = s.sink;
  }
  if (sink)
    sink(line);
  else
    std::fprintf(stderr, "%s\n", line.c_str());
}

void check_conv_call(const char* op, const Tensor& src, const Tensor& wei, const Tensor& dst,
                     const Tensor& vec, bool vec_on_src, const ConvParams& p) {
  check_operand(src, op, "src", Layout::Contiguous);
  check_operand(wei, op, "weights", Layout::Contiguous);
  check_operand(dst, op, "dst", Layout::Contiguous);
  check_conv_shapes(src.shape(), wei.shape(), dst.shape(), p, op);
  check_vector(vec, vec_on_src ? src.size(1) : wei.size(0), op,
               vec_on_src ? "bias (per input channel)" : "bias");
}

void Backend::conv_forward(const Tensor& x, const Tensor& w, const Tensor& bias, const Tensor& y,
                           const ConvParams& p, const ConvCaches& caches) {
  check_conv_call("conv_forward", x, w, y, bias, false, p);
  run_forward(x, w, bias, y, p, caches);
}

void Backend::conv_backward_data(const Tensor& dy, const Tensor& w, const Tensor& bias, const Tensor& dx,
                                 const ConvParams& p, const ConvCaches& caches) {
  check_conv_call("conv_backward_data", dx, w, dy, bias, true, p);
  run_backward_data(dy, w, bias, dx, p, caches);
}

void Backend::conv_backward_weights(const Tensor& x, const Tensor& dy, const Tensor& dw, const Tensor& db,
                                    const ConvParams& p, const ConvCaches& caches) {
  check_conv_call("conv_backward_weights", x, dw, dy, db, false, p);
  run_backward_weights(x, dy, dw, db, p, caches);
}

void conv_forward(const Tensor& x, const Tensor& w, const Tensor& bias, const Tensor& y, const ConvParams& p,
                  const ConvCaches& caches) {
  const char* op = "conv_forward";
  Backend& b = active();
  b.conv_forward(x, w, bias, y, p, caches);
  if (!g_check) return;
  if (Backend* other = check_partner(b)) {
    Tensor y2 = fresh_like(y);
    other->conv_forward(x, w, bias, y2, p, {});
    compare(y, y2, op, "y", b, *other, {x.shape(), w.shape(), y.shape(), p});
  }
}

void conv_backward_data(const Tensor& dy, const Tensor& w, const Tensor& bias, const Tensor& dx,
                        const ConvParams& p, const ConvCaches& caches) {
  const char* op = "conv_backward_data";
  Backend& b = active();
  b.conv_backward_data(dy, w, bias, dx, p, caches);
  if (!g_check) return;
  if (Backend* other = check_partner(b)) {
    Tensor dx2 = fresh_like(dx);
    other->conv_backward_data(dy, w, bias, dx2, p, {});
    compare(dx, dx2, op, "dx", b, *other, {dx.shape(), w.shape(), dy.shape(), p});
  }
}

void conv_backward_weights(const Tensor& x, const Tensor& dy, const Tensor& dw, const Tensor& db,
                           const ConvParams& p, const ConvCaches& caches) {
  const char* op = "conv_backward_weights";
  Backend& b = active();
  b.conv_backward_weights(x, dy, dw, db, p, caches);
  if (!g_check) return;
  if (Backend* other = check_partner(b)) {
    Tensor dw2 = fresh_like(dw), db2 = fresh_like(db);
    other->conv_backward_weights(x, dy, dw2, db2, p, {});
    const ConvShapes s{x.shape(), dw.shape(), dy.shape(), p};
    compare(dw, dw2, op, "dw", b, *other, s);
    if (db.defined()) compare(db, db2, op, "db", b, *other, s);
  }
}

}  // namespace convgrad
