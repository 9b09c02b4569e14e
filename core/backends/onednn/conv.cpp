// The oneDNN backend's three kernels: each call looks up its plan (the cached algorithm choice, and
// oneDNN's primitive when that runs), asks choose_algo (conv_algo.h) on a miss, and runs the executor
// of the chosen algorithm.
#include "core/backends/onednn/conv.h"

#include <dnnl_debug.h>
#include <fmt/format.h>

#include <atomic>
#include <dnnl.hpp>
#include <mutex>

#include "core/backend.h"
#include "core/backends/onednn/conv_algo.h"
#include "core/backends/onednn/conv_primitive.h"
#include "core/backends/onednn/direct_conv.h"
#include "core/backends/onednn/phase_conv.h"
#include "core/backends/reference/conv.h"
#include "core/error.h"
#include "core/threading.h"

namespace convgrad::onednn {

namespace {

// The executors of the algorithms other than Primitive: three kernels each, in ConvKind order, with
// one signature (the tensors' meaning per kernel is in call_kernel).
using KernelFn = void (*)(const Tensor&, const Tensor&, const Tensor&, const Tensor&, const ConvParams&);
constexpr KernelFn kPhaseKernels[3] = {phase_conv_forward, phase_conv_backward_data,
                                       phase_conv_backward_weights};
constexpr KernelFn kDirectKernels[3] = {direct_conv_forward, direct_conv_backward_data,
                                        direct_conv_backward_weights};
constexpr KernelFn kReferenceKernels[3] = {reference::conv_forward, reference::conv_backward_data,
                                           reference::conv_backward_weights};

// Runs kernel `kind` of an executor on the call's tensors by role (`vec`: the bias, or db).
void call_kernel(const KernelFn (&kernels)[3], ConvKind kind, const Tensor (&t)[3], const Tensor& vec,
                 const ConvParams& p) {
  const KernelFn f = kernels[int(kind)];
  if (kind == ConvKind::Forward)
    f(t[kSrc], t[kWei], vec, t[kDst], p);  // (x, w, bias, y)
  else if (kind == ConvKind::BackwardData)
    f(t[kDst], t[kWei], vec, t[kSrc], p);  // (dy, w, bias, dx)
  else
    f(t[kSrc], t[kDst], t[kWei], vec, p);  // (x, dy, dw, db)
}

// Whether any of the three tensors has no element (read from the sizes: numel() validates the
// shape and costs more than this whole test).
bool has_zero_size(const Tensor (&t)[3]) {
  for (const Tensor& x : t)
    for (int64_t d : x.shape())
      if (d == 0) return true;
  return false;
}

// `shapes` makes the ConvShapes for the error message, only when the engine cannot be created.
template <class Shapes>
Runtime& runtime(ConvKind kind, Shapes&& shapes) {
  try {
    return runtime_instance();
  } catch (const dnnl::error& e) {
    rethrow(e, kind, shapes());
  }
}

// The plan of a call the cache does not hold: choose_algo's decision, with oneDNN's primitive when it
// is the one that runs (a choice of another algorithm keeps no primitive).
Plan new_plan(Runtime& rt, ConvKind kind, const Key& key, const ConvShapes& s, const Tensor (&t)[3],
              bool has_vec) {
  Plan made;
  const AlgoChoice choice = choose_algo(kind, s, [&] {
    try {
      made = make_call_plan(kind, t, s.params, has_vec, key.threads, rt.eng);
      return PrimitiveOffer{made.impl, {}};
    } catch (const dnnl::error& e) {
      if (e.status != dnnl_unimplemented && e.status != dnnl_invalid_arguments) rethrow(e, kind, s);
      return PrimitiveOffer{{}, fmt::format("oneDNN: {}, {}", dnnl_status2str(e.status), e.what())};
    }
  });
  if (choice.algo != ConvAlgo::Primitive) made = Plan();
  made.algo = choice.algo;
  made.reason = choice.reason;
  return made;
}

// Runs a call on convgrad's kernels or the reference ones (any algorithm but Primitive), after its
// verbose line. They use their own workspaces, not the runtime's shared buffers, so they run without
// the lock.
void run_unlocked(ConvAlgo algo, const std::string& reason, bool cached, ConvKind kind, const Tensor (&t)[3],
                  const Tensor& vec, const ConvParams& p) {
  if (verbose()) {
    const ConvShapes s{t[kSrc].shape(), t[kWei].shape(), t[kDst].shape(), p};
    verbose_log(algo == ConvAlgo::Reference
                    ? fmt::format("convgrad: onednn {} -> reference ({})", describe(kind, s), reason)
                    : fmt::format("convgrad: onednn {}: {}{}", describe(kind, s), own_kernel_name(algo),
                                  cached ? " (cached)" : ""));
  }
  const KernelFn(&kernels)[3] = algo == ConvAlgo::Phase    ? kPhaseKernels
                                : algo == ConvAlgo::Direct ? kDirectKernels
                                                           : kReferenceKernels;
  call_kernel(kernels, kind, t, vec, p);
}

std::atomic<int>& bf16_mode() {
  static std::atomic<int> mode{env_switch("CONVGRAD_BF16_KERNELS") == 0 ? 0 : -1};
  return mode;
}

// One call. The hit path formats nothing and allocates nothing: the ConvShapes (three vectors) are
// only built for a miss, an error or a verbose line.
// The key of a call; the thread count is part of it: oneDNN fixes its parallel split when it builds a
// primitive.
Key make_key(ConvKind kind, const Tensor (&t)[3], const Tensor& vec, const ConvParams& p) {
  Key key{int(kind), {}, p, vec.defined(), get_num_threads()};
  for (int r = 0; r < 3; ++r) {
    const Shape& sh = t[r].shape();
    for (int d = 0; d < 4; ++d) key.dims[r * 4 + d] = sh[d];
  }
  return key;
}

// The cached plan of a call, built on a miss (`cached`: whether it was found). Called with rt.mutex held.
Plan& find_plan(Runtime& rt, ConvKind kind, const Key& key, const Tensor (&t)[3], const Tensor& vec,
                const ConvParams& p, bool* cached = nullptr) {
  Plan* plan = rt.cache.find(key);
  if (cached) *cached = plan != nullptr;
  if (plan) return *plan;
  return rt.cache.insert(
      key, new_plan(rt, kind, key, ConvShapes{t[kSrc].shape(), t[kWei].shape(), t[kDst].shape(), p}, t,
                    vec.defined()));
}

// Whether a bfloat16 call runs on oneDNN's bfloat16 primitive: only where a float32 call would run
// oneDNN's primitive too (elsewhere convgrad's float32 kernels are the faster path, and they compute the
// same products of the bfloat16 values) and where oneDNN has a bfloat16 jit kernel for it (not its
// im2col GEMM). Called with rt.mutex held.
bool bf16_primitive_runs(Runtime& rt, ConvKind kind, const Tensor (&t)[3], const Tensor& vec,
                         const ConvParams& p) {
  ConvParams f32 = p;
  f32.compute = DType::Float32;
  if (find_plan(rt, kind, make_key(kind, t, vec, f32), t, vec, f32).algo != ConvAlgo::Primitive) return false;
  const Plan& bf16 = find_plan(rt, kind, make_key(kind, t, vec, p), t, vec, p);
  return bf16.algo == ConvAlgo::Primitive && !is_onednn_fallback(bf16.impl);
}

void run(ConvKind kind, const Tensor (&t)[3], const Tensor& vec, const ConvParams& params,
         const ConvCaches& caches) {
  // A bfloat16 call without the bfloat16 primitives is a float32 call: its inputs hold bfloat16 values.
  ConvParams p = params;
  if (p.compute == DType::BFloat16 && !bf16_kernels_active()) p.compute = DType::Float32;
  auto shapes = [&] { return ConvShapes{t[kSrc].shape(), t[kWei].shape(), t[kDst].shape(), p}; };
  // A zero-size call never reaches oneDNN nor the plan cache (choose_algo's first rule).
  if (has_zero_size(t)) {
    const AlgoChoice choice = choose_algo(kind, shapes(), {});
    run_unlocked(choice.algo, choice.reason, false, kind, t, vec, p);
    return;
  }
  Runtime& rt = runtime(kind, shapes);
  std::unique_lock<std::mutex> lock(rt.mutex);
  if (p.compute == DType::BFloat16 && !bf16_primitive_runs(rt, kind, t, vec, p)) p.compute = DType::Float32;
  const Key key = make_key(kind, t, vec, p);
  bool cached = false;
  Plan* plan = &find_plan(rt, kind, key, t, vec, p, &cached);
  if (plan->algo == ConvAlgo::Primitive) {
    run_primitive(rt, lock, kind, key, *plan, cached, t, vec, p, caches);
    return;
  }
  const ConvAlgo algo = plan->algo;
  const std::string reason = algo == ConvAlgo::Reference ? plan->reason : std::string();
  lock.unlock();
  run_unlocked(algo, reason, cached, kind, t, vec, p);
}

}  // namespace

void conv_forward(const Tensor& x, const Tensor& w, const Tensor& bias, const Tensor& y, const ConvParams& p,
                  const ConvCaches& caches) {
  run(ConvKind::Forward, {x, w, y}, bias, p, caches);
}

void conv_backward_data(const Tensor& dy, const Tensor& w, const Tensor& bias, const Tensor& dx,
                        const ConvParams& p, const ConvCaches& caches) {
  run(ConvKind::BackwardData, {dx, w, dy}, bias, p, caches);
}

void conv_backward_weights(const Tensor& x, const Tensor& dy, const Tensor& dw, const Tensor& db,
                           const ConvParams& p, const ConvCaches& caches) {
  run(ConvKind::BackwardWeights, {x, dw, dy}, db, p, caches);
}

bool bf16_kernels_available() {
  static const bool available = [] {
    const dnnl::cpu_isa isa = dnnl::get_effective_cpu_isa();
    return isa == dnnl::cpu_isa::avx512_core_bf16 || isa == dnnl::cpu_isa::avx512_core_amx;
  }();
  return available;
}

void set_bf16_kernels(int mode) { bf16_mode().store(mode == 0 ? 0 : -1); }
int bf16_kernels() { return bf16_mode().load(); }
bool bf16_kernels_active() {
  return bf16_mode().load(std::memory_order_relaxed) != 0 && bf16_kernels_available();
}

OperandCacheStats operand_cache_stats() {
  Runtime& rt = runtime(ConvKind::Forward, [] { return ConvShapes(); });
  std::lock_guard<std::mutex> lock(rt.mutex);
  return rt.stats;
}

std::size_t plan_cache_size() {
  Runtime& rt = runtime(ConvKind::Forward, [] { return ConvShapes(); });
  std::lock_guard<std::mutex> lock(rt.mutex);
  return rt.cache.size();
}

}  // namespace convgrad::onednn
