#include "autograd/autocast.h"

#include <memory>
#include <vector>

#include "autograd/grad_mode.h"
#include "autograd/node.h"
#include "core/bfloat16.h"
#include "core/factory.h"

namespace convgrad {

namespace {

// One cached bfloat16 rounding of a leaf: the view it was made from (storage, offset, shape, strides),
// the storage's version then, and the rounded contiguous float32 copy.
struct CacheEntry {
  std::shared_ptr<Storage> storage;  // held, so its address cannot be reused while cached
  int64_t offset = 0;
  Shape shape, strides;
  int64_t version = 0;
  Tensor rounded;
};

struct AutocastState {
  bool enabled = false;
  int depth = 0;  // live guards that turned autocast on; the cache lives while it is positive
  std::vector<CacheEntry> cache;
  std::size_t hits = 0;
};

AutocastState& state() {
  thread_local AutocastState s;
  return s;
}

// `t`'s values rounded to bfloat16 in a new contiguous float32 tensor.
Tensor round_copy(const Tensor& t) {
  Tensor c = t.is_contiguous() ? t : clone_data(t);
  Tensor out = uninitialized(t.shape());
  kernels::round_to_bfloat16(c.data<float>(), out.data<float>(), c.numel());
  return out;
}

// The rounded copy of a leaf parameter, from the cache when its storage version has not moved.
Tensor cached_round(const Tensor& t) {
  AutocastState& s = state();
  for (CacheEntry& e : s.cache) {
    if (e.storage != t.storage() || e.offset != t.offset() || e.shape != t.shape() ||
        e.strides != t.strides())
      continue;
    if (e.version == t.version()) {
      ++s.hits;
      return e.rounded;
    }
    e.version = t.version();
    e.rounded = round_copy(t);
    return e.rounded;
  }
  s.cache.push_back({t.storage(), t.offset(), t.shape(), t.strides(), t.version(), round_copy(t)});
  return s.cache.back().rounded;
}

}  // namespace

AutocastGuard::AutocastGuard(DType dtype, bool enabled) : previous_(state().enabled) {
  CONVGRAD_CHECK(dtype == DType::BFloat16,
                 "AutocastGuard: dtype {} is not supported; autocast computes in bfloat16 "
                 "(DType::BFloat16)",
                 dtype_name(dtype));
  state().enabled = enabled;
  if (enabled) ++state().depth;
}

AutocastGuard::~AutocastGuard() {
  AutocastState& s = state();
  if (s.enabled && --s.depth == 0) {
    s.cache.clear();
    s.hits = 0;
  }
  s.enabled = previous_;
}

bool is_autocast_enabled() { return state().enabled; }

namespace detail {

Tensor autocast_input(const Tensor& t) {
  CONVGRAD_CHECK(t.defined() && t.dtype() == DType::Float32, "autocast: expected a float32 operand, got {}",
                 t.defined() ? dtype_name(t.dtype()) : "an undefined tensor");
  const bool parameter = t.is_leaf() && t.requires_grad() && state().depth > 0;
  // A new handle on the cached storage: each call records its own node.
  Tensor out = parameter ? cached_round(t).detach() : round_copy(t);
  return make_result(
      out, {t}, "autocast_to_bfloat16", [](const Tensor& g) { return std::vector<Tensor>{g}; },
      DoubleBackward::Supported);
}

Tensor autocast_output(const Tensor& y) {
  return make_result(
      y.detach(), {y}, "autocast_output",
      [](const Tensor& g) {
        // Under create_graph the rounding is recorded as the identity (its derivative almost everywhere
        // is 0, which would cut every higher-order gradient).
        Tensor r = round_copy(g);
        if (!GradMode::is_enabled()) return std::vector<Tensor>{r};
        return std::vector<Tensor>{make_result(
            r, {g}, "autocast_round_grad", [](const Tensor& gg) { return std::vector<Tensor>{gg}; },
            DoubleBackward::Supported)};
      },
      DoubleBackward::Supported);
}

AutocastCacheStats autocast_cache_stats() { return {state().cache.size(), state().hits}; }

}  // namespace detail

}  // namespace convgrad
