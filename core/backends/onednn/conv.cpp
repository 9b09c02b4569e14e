#include "core/backends/onednn/conv.h"

#include <dnnl_debug.h>
#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <dnnl.hpp>
#include <mutex>
#include <omp.h>

#include "core/backend.h"
#include "core/backends/onednn/conv_split.h"
#include "core/backends/onednn/phase_conv.h"
#include "core/backends/onednn/plan_cache.h"
#include "core/backends/reference/conv.h"
#include "core/error.h"
#include "core/factory.h"
#include "core/threading.h"

namespace convgrad::onednn {

namespace {

using dnnl::memory;
using Tag = memory::format_tag;
using Dt = memory::data_type;

enum class Kind { Forward, BackwardData, BackwardWeights };
static_assert(int(Kind::BackwardWeights) == int(ConvKernel::BackwardWeights), "Kind mirrors ConvKernel");
constexpr const char* kKindName[] = {"conv_forward", "conv_backward_data", "conv_backward_weights"};

// The three tensors of a call by role in the conv view, and the DNNL_ARG_* each role is for each kind.
enum Role { kSrc = 0, kWei = 1, kDst = 2 };
constexpr int kArg[3][3] = {{DNNL_ARG_SRC, DNNL_ARG_WEIGHTS, DNNL_ARG_DST},
                            {DNNL_ARG_DIFF_SRC, DNNL_ARG_WEIGHTS, DNNL_ARG_DIFF_DST},
                            {DNNL_ARG_SRC, DNNL_ARG_DIFF_WEIGHTS, DNNL_ARG_DIFF_DST}};
constexpr Role kOutput[3] = {kDst, kSrc, kWei};

// Engine and stream are created once; one mutex guards the cache and the shared buffers.
struct Runtime {
  dnnl::engine eng{dnnl::engine::kind::cpu, 0};
  dnnl::stream strm{eng};
  std::mutex mutex;
  PlanCache cache;
  Buffer buffers[3], scratch;
  OperandCacheStats stats;
};

std::string describe(Kind kind, const ConvShapes& s) {
  return fmt::format("{} src {}, weights {}, dst {}, {}", kKindName[int(kind)], shape_str(s.src), shape_str(s.wei),
                     shape_str(s.dst), params_str(s.params));
}

[[noreturn]] void rethrow(const dnnl::error& e, Kind kind, const ConvShapes& s) {
  fail(
      "onednn {}: oneDNN failed with '{}' (status {}); this is a bug or an unsupported configuration, the "
      "reference backend (set_backend(\"reference\")) computes it",
      describe(kind, s), e.what(), dnnl_status2str(e.status));
}

// The one runtime of the process (a non-template function: a static inside the template below would
// be one runtime per instantiation).
Runtime& runtime_instance() {
  static Runtime rt;
  return rt;
}

// `shapes` makes the ConvShapes for the error message, only when the engine cannot be created.
template <class Shapes>
Runtime& runtime(Kind kind, Shapes&& shapes) {
  try {
    return runtime_instance();
  } catch (const dnnl::error& e) {
    rethrow(e, kind, shapes());
  }
}

memory::dims dims(const Shape& s) { return memory::dims(s.begin(), s.end()); }

// Below this many FLOPs (2 x MACs) a call runs on the calling thread alone: its primitive is built
// for one thread and its reorders run without a parallel region. Such a call takes ~10 us on one core;
// splitting it saves at most half of that and costs three OpenMP fork-joins (convolution and two
// reorders), each of which stalls for a time slice when a neighbour holds the other core.
constexpr double kSingleThreadFlops = 2e6;

double call_flops(const Tensor (&t)[3]) {
  const Shape &w = t[kWei].shape(), &d = t[kDst].shape();
  return 2.0 * double(d[0]) * d[1] * d[2] * d[3] * w[1] * w[2] * w[3];
}

// Sets the calling thread's OpenMP thread count for a scope (oneDNN reads it when it builds a
// primitive and when a reorder runs) and restores it, also on an exception.
class ThreadScope {
 public:
  explicit ThreadScope(int n) : saved_(omp_get_max_threads()) {
    if (n != saved_) omp_set_num_threads(n);
  }
  ~ThreadScope() {
    if (omp_get_max_threads() != saved_) omp_set_num_threads(saved_);
  }
  ThreadScope(const ThreadScope&) = delete;
  ThreadScope& operator=(const ThreadScope&) = delete;

 private:
  int saved_;
};

// The status fail_next_plan set for the next make_plan (dnnl_success: none).
std::atomic<int>& injected_failure() {
  static std::atomic<int> status{dnnl_success};
  return status;
}

// Builds the primitive for one call; throws dnnl::error when oneDNN has no implementation.
Plan make_plan(Kind kind, const ConvShapes& s, bool has_vec, const dnnl::engine& eng) {
  if (const int st = injected_failure().exchange(dnnl_success); st != dnnl_success)
    throw dnnl::error(static_cast<dnnl_status_t>(st), "failure injected by onednn::fail_next_plan");
  const ConvParams& p = s.params;
  const int64_t g = p.groups;
  // A grouped weight (O, C/g, kh, kw) is, byte for byte, goihw (g, O/g, C/g, kh, kw): no copy.
  memory::dims wei = g == 1 ? dims(s.wei) : memory::dims{g, s.wei[0] / g, s.wei[1], s.wei[2], s.wei[3]};
  memory::dims shapes[3] = {dims(s.src), wei, dims(s.dst)};
  auto any = [](const memory::dims& d) { return memory::desc(d, Dt::f32, Tag::any); };
  memory::dims strides{p.stride[0], p.stride[1]}, dilates{p.dilation[0] - 1, p.dilation[1] - 1};
  memory::dims pad_l{p.pad_begin[0], p.pad_begin[1]}, pad_r{p.pad_end[0], p.pad_end[1]};
  const auto alg = dnnl::algorithm::convolution_direct;
  memory::desc bias =
      has_vec && kind != Kind::BackwardData ? memory::desc({s.wei[0]}, Dt::f32, Tag::x) : memory::desc();
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);

  using Fwd = dnnl::convolution_forward;
  using BwdData = dnnl::convolution_backward_data;
  using BwdWeights = dnnl::convolution_backward_weights;
  // The forward descriptor runs the forward and is the hint the backward ones require.
  Fwd::primitive_desc fwd(Fwd::desc(dnnl::prop_kind::forward_training, alg, any(shapes[kSrc]), any(shapes[kWei]), bias,
                                    any(shapes[kDst]), strides, dilates, pad_l, pad_r),
                          attr, eng);
  Plan plan;
  dnnl::primitive_desc_base* pd = nullptr;
  BwdData::primitive_desc data_pd;
  BwdWeights::primitive_desc weights_pd;
  if (kind == Kind::Forward) {
    plan.prim = Fwd(fwd);
    plan.chosen[kSrc] = fwd.src_desc(), plan.chosen[kWei] = fwd.weights_desc(), plan.chosen[kDst] = fwd.dst_desc();
    pd = &fwd;
  } else if (kind == Kind::BackwardData) {
    data_pd = BwdData::primitive_desc(
        BwdData::desc(alg, any(shapes[kSrc]), any(shapes[kWei]), any(shapes[kDst]), strides, dilates, pad_l, pad_r),
        attr, eng, fwd);
    plan.prim = BwdData(data_pd);
    plan.chosen[kSrc] = data_pd.diff_src_desc(), plan.chosen[kWei] = data_pd.weights_desc();
    plan.chosen[kDst] = data_pd.diff_dst_desc();
    pd = &data_pd;
  } else {
    auto d = has_vec ? BwdWeights::desc(alg, any(shapes[kSrc]), any(shapes[kWei]), bias, any(shapes[kDst]), strides,
                                        dilates, pad_l, pad_r)
                     : BwdWeights::desc(alg, any(shapes[kSrc]), any(shapes[kWei]), any(shapes[kDst]), strides, dilates,
                                        pad_l, pad_r);
    weights_pd = BwdWeights::primitive_desc(d, attr, eng, fwd);
    plan.prim = BwdWeights(weights_pd);
    plan.chosen[kSrc] = weights_pd.src_desc(), plan.chosen[kWei] = weights_pd.diff_weights_desc();
    plan.chosen[kDst] = weights_pd.diff_dst_desc();
    pd = &weights_pd;
  }
  plan.impl = pd->impl_info_str();
  plan.scratch = pd->scratchpad_desc();
  plan.scratch_bytes = plan.scratch.get_size();
  plan.bias = bias;
  const Role out = kOutput[int(kind)];
  for (int r = 0; r < 3; ++r) {
    plan.user[r] = memory::desc(shapes[r], Dt::f32, r == kWei ? (g == 1 ? Tag::oihw : Tag::goihw) : Tag::nchw);
    // Reorder only when oneDNN chose a layout other than the caller's plain one.
    plan.reorder[r] = plan.chosen[r] != plan.user[r];
    plan.chosen_bytes[r] = plan.chosen[r].get_size();
    // Memory objects are made once with no data; each call sets the pointers.
    plan.user_mem[r] = memory(plan.user[r], eng, DNNL_MEMORY_NONE);
    plan.inner_mem[r] = plan.reorder[r] ? memory(plan.chosen[r], eng, DNNL_MEMORY_NONE) : plan.user_mem[r];
    plan.args[kArg[int(kind)][r]] = plan.inner_mem[r];
    if (!plan.reorder[r]) continue;
    plan.reorders[r] = r == out ? dnnl::reorder(dnnl::reorder::primitive_desc(eng, plan.chosen[r], eng, plan.user[r]))
                                : dnnl::reorder(dnnl::reorder::primitive_desc(eng, plan.user[r], eng, plan.chosen[r]));
  }
  if (has_vec && kind != Kind::BackwardData) {
    plan.bias_mem = memory(bias, eng, DNNL_MEMORY_NONE);
    plan.args[kind == Kind::Forward ? DNNL_ARG_BIAS : DNNL_ARG_DIFF_BIAS] = plan.bias_mem;
  }
  if (plan.scratch.get_size() > 0) {
    plan.scratch_mem = memory(plan.scratch, eng, DNNL_MEMORY_NONE);
    plan.args[DNNL_ARG_SCRATCHPAD] = plan.scratch_mem;
  }
  return plan;
}

// CONVGRAD_PHASE_CONV: "0" never uses the phase kernels, "1" uses them whenever they apply, unset or
// anything else decides per shape (use_phase).
int phase_mode() {
  static const int mode = [] {
    const char* v = std::getenv("CONVGRAD_PHASE_CONV");
    return v && std::strcmp(v, "0") == 0 ? 0 : v && std::strcmp(v, "1") == 0 ? 1 : -1;
  }();
  return mode;
}

// Whether the phase kernels run this call instead of oneDNN's primitive `impl` (phase_conv_preferred
// decides per shape unless CONVGRAD_PHASE_CONV forces it).
bool use_phase(Kind kind, const ConvShapes& s, const std::string& impl) {
  if (phase_mode() == 0 || !phase_conv_supported(s)) return false;
  if (phase_mode() == 1) return true;
  return phase_conv_preferred(static_cast<ConvKernel>(kind), s, impl);
}

void add_channel_bias(const Tensor& t, const Tensor& bias) {
  const int64_t N = t.size(0), C = t.size(1), HW = t.size(2) * t.size(3);
  float* d = t.data<float>();
  const float* b = bias.data<float>();
#pragma omp parallel for num_threads(get_num_threads()) schedule(static)
  for (int64_t nc = 0; nc < N * C; ++nc)
    for (int64_t i = 0; i < HW; ++i) d[nc * HW + i] += b[nc % C];
}

// Whether any of the three tensors has no element (read from the sizes: numel() validates the
// shape and costs more than this whole test).
bool has_zero_size(const Tensor (&t)[3]) {
  for (const Tensor& x : t)
    for (int64_t d : x.shape())
      if (d == 0) return true;
  return false;
}

// ---- Batch split (conv_split.h): when a call runs image by image inside one parallel region.

// -1: decide per call (want_split); 0: never; 1: whenever it applies. CONVGRAD_BATCH_SPLIT sets it.
std::atomic<int>& split_mode() {
  static std::atomic<int> mode = [] {
    const char* v = std::getenv("CONVGRAD_BATCH_SPLIT");
    return v && std::strcmp(v, "0") == 0 ? 0 : v && std::strcmp(v, "1") == 0 ? 1 : -1;
  }();
  return mode;
}

// An image must be worth a primitive call of its own (a few microseconds of set-up per image).
constexpr double kSplitImageFlops = 3e6;

// Whether a call whose full-batch plan is `full` runs batch-split (backward-weights too: each thread
// sums its images' gradients, run_split adds the partials). Never a call with a weight cache, nor a
// tiny call. Automatically: at
// least one image per thread, a batch that divides evenly among them (or is large enough that the
// remainder does not matter), big images, and a layout conversion to keep in cache. (It pays at one
// thread too: the locality is the larger part of the gain.)
bool want_split(const Tensor (&t)[3], const ConvCaches& caches, const Plan& full, int threads) {
  const int mode = split_mode().load(std::memory_order_relaxed);
  // A tiny call (one-thread plan while more threads are set) keeps its one-thread path.
  if (mode == 0 || caches.wei || full.threads < threads) return false;
  if (mode == 1) return true;
  const int64_t N = t[kSrc].shape()[0];
  return N >= threads && (N % threads == 0 || N >= 4 * threads) &&
         call_flops(t) / double(N) >= kSplitImageFlops && (full.reorder[kSrc] || full.reorder[kDst]);
}

// Images per primitive call of a batch-split backward-weights (at most; a divisor of the batch). One
// measured best: 4 (fewer partial sums to add) lost the locality and ran slower than unsplit.
constexpr int64_t kWeightsSplitImages = 1;

// How `kind` binds the roles, for the batch-split code (conv_split.h).
SplitKernel split_kernel(Kind kind) {
  const int* a = kArg[int(kind)];
  return {{a[0], a[1], a[2]}, kOutput[int(kind)], kind == Kind::Forward ? DNNL_ARG_BIAS : DNNL_ARG_DIFF_BIAS,
          kind == Kind::BackwardData};
}

// The batch-split plan of a call (built on a miss: one image, one thread, `key.threads` lanes); null
// when oneDNN has none or its layouts do not fit the full-batch plan `full` (checked once per plan).
Plan* split_plan(Runtime& rt, Kind kind, const Key& key, Plan& full, const Tensor (&t)[3], bool has_vec,
                 const ConvParams& p) {
  if (full.split_fits < 0) return nullptr;
  // Backward-weights gives the primitive several images at a time (fewer partial sums to add).
  const int64_t N = t[kSrc].shape()[0];
  int64_t B = 1;
  if (kind == Kind::BackwardWeights)
    for (int64_t b = kWeightsSplitImages; b > 1 && B == 1; --b)
      if (N % b == 0 && N / b >= key.threads) B = b;
  Key k = key;
  k.dims[kSrc * 4] = k.dims[kDst * 4] = B;
  k.threads = -key.threads;
  Plan* sp = rt.cache.find(k);
  if (!sp) {
    Shape src = t[kSrc].shape(), dst = t[kDst].shape();
    src[0] = dst[0] = B;
    Plan made;
    try {
      ThreadScope scope(1);
      made = make_plan(kind, ConvShapes{src, t[kWei].shape(), dst, p}, has_vec, rt.eng);
    } catch (const dnnl::error& e) {
      if (e.status != dnnl_unimplemented && e.status != dnnl_invalid_arguments) throw;
      full.split_fits = -1;  // no one-image primitive: the call runs unsplit
      return nullptr;
    }
    made.threads = 1;
    for (int i = 0; i < key.threads; ++i) made.lanes.push_back(make_lane(made, split_kernel(kind), rt.eng));
    sp = &rt.cache.insert(k, std::move(made));
  }
  if (full.split_fits == 0) {
    full.split_fits = 1;
    for (Role r : {kSrc, kDst})
      if (sp->reorder[r] != full.reorder[r] ||
          (full.reorder[r] && !images_end_to_end(full.chosen[r], sp->chosen[r], t[r].shape()[0])))
        full.split_fits = -1;
  }
  return full.split_fits > 0 ? sp : nullptr;
}

// One call: the cached plan (built on a miss), the phase kernels, or the reference kernel when oneDNN
// declines. The hit path formats nothing and allocates nothing: the ConvShapes (three vectors) are
// only built for a miss, an error or a verbose line.
template <class Fallback, class Phase>
void run(Kind kind, const Tensor (&t)[3], const Tensor& vec, const ConvParams& p, const ConvCaches& caches,
         Fallback&& fallback, Phase&& phase) {
  auto shapes = [&] { return ConvShapes{t[kSrc].shape(), t[kWei].shape(), t[kDst].shape(), p}; };
  if (has_zero_size(t)) {
    if (verbose())
      verbose_log(fmt::format("convgrad: onednn {} -> reference (zero-size tensor)", describe(kind, shapes())));
    fallback();
    return;
  }
  Runtime& rt = runtime(kind, shapes);
  std::unique_lock<std::mutex> lock(rt.mutex);
  // The thread count is part of the key: oneDNN fixes its parallel split when it builds a primitive.
  Key key{int(kind), {}, p, vec.defined(), get_num_threads()};
  for (int r = 0; r < 3; ++r) {
    const Shape& sh = t[r].shape();
    for (int d = 0; d < 4; ++d) key.dims[r * 4 + d] = sh[d];
  }
  Plan* plan = rt.cache.find(key);
  const bool cached = plan != nullptr;
  if (!plan) {
    const ConvShapes s = shapes();
    try {
      const int threads = call_flops(t) < kSingleThreadFlops ? 1 : key.threads;
      ThreadScope scope(threads);
      Plan made = make_plan(kind, s, vec.defined(), rt.eng);
      made.threads = threads;
      if (use_phase(kind, s, made.impl)) {
        made = Plan();
        made.impl = phase_conv_impl(static_cast<ConvKernel>(kind), s);
        made.phase = true;
      }
      plan = &rt.cache.insert(key, std::move(made));
    } catch (const dnnl::error& e) {
      if (e.status != dnnl_unimplemented && e.status != dnnl_invalid_arguments) rethrow(e, kind, s);
      Plan refused;
      refused.unsupported = fmt::format("oneDNN: {}, {}", dnnl_status2str(e.status), e.what());
      if (phase_conv_supported(s) && phase_mode() != 0) {
        refused.impl = phase_conv_impl(static_cast<ConvKernel>(kind), s);
        refused.phase = true;
      }
      plan = &rt.cache.insert(key, std::move(refused));
    }
  }
  if (plan->phase || !plan->unsupported.empty()) {
    const bool use = plan->phase;
    if (verbose()) {
      const std::string line =
          use ? fmt::format("convgrad: onednn {}: {}{}", describe(kind, shapes()), plan->impl,
                            cached ? " (cached)" : "")
              : fmt::format("convgrad: onednn {} -> reference ({})", describe(kind, shapes()), plan->unsupported);
      lock.unlock();
      verbose_log(line);
    } else {
      lock.unlock();
    }
    // The phase kernels use per-thread workspaces, not the shared buffers: they run unlocked.
    if (use)
      phase();
    else
      fallback();
    return;
  }
  if (want_split(t, caches, *plan, key.threads)) {
    try {
      if (Plan* sp = split_plan(rt, kind, key, *plan, t, vec.defined(), p)) {
        run_split(split_kernel(kind), *plan, *sp, t, vec, caches, rt.buffers[kWei], rt.stats);
        if (verbose())
          verbose_log(fmt::format("convgrad: onednn {}: {} [batch split, {} thread{}]{}", describe(kind, shapes()),
                                  sp->impl, sp->lanes.size(), sp->lanes.size() == 1 ? "" : "s",
                                  cached ? " (cached)" : ""));
        return;
      }
    } catch (const dnnl::error& e) {
      rethrow(e, kind, shapes());
    }
  }
  try {
    ThreadScope scope(plan->threads);
    const Role out = kOutput[int(kind)];
    ConvOperandCache* const cache[3] = {caches.src, caches.wei, caches.dst};
    for (int r = 0; r < 3; ++r) {
      plan->user_mem[r].set_data_handle(t[r].data<float>());
      if (!plan->reorder[r]) continue;
      if (r == out || !cache[r]) {
        plan->inner_mem[r].set_data_handle(rt.buffers[r].get(plan->chosen_bytes[r]));
        if (r != out) plan->reorders[r].execute(rt.strm, plan->user_mem[r], plan->inner_mem[r]);
        continue;
      }
      // A cached input: reorder it once into the operand's cache, reuse it from then on.
      BlockedCopy* copy = find_copy(*cache[r], plan->chosen[r]);
      if (!copy) {
        auto made = std::make_unique<BlockedCopy>();
        made->md = plan->chosen[r];
        made->buffer = uninitialized({int64_t((plan->chosen_bytes[r] + 3) / 4)});
        plan->inner_mem[r].set_data_handle(made->buffer.data<float>());
        plan->reorders[r].execute(rt.strm, plan->user_mem[r], plan->inner_mem[r]);
        copy = made.get();
        cache[r]->entries().push_back(std::move(made));
        ++rt.stats.copies_made;
      } else {
        ++rt.stats.copies_reused;
      }
      plan->inner_mem[r].set_data_handle(copy->buffer.data<float>());
    }
    if (plan->bias_mem) plan->bias_mem.set_data_handle(vec.data<float>());
    if (plan->scratch_mem) plan->scratch_mem.set_data_handle(rt.scratch.get(plan->scratch_bytes));
    plan->prim.execute(rt.strm, plan->args);
    if (plan->reorder[out]) plan->reorders[out].execute(rt.strm, plan->inner_mem[out], plan->user_mem[out]);
    rt.strm.wait();
  } catch (const dnnl::error& e) {
    rethrow(e, kind, shapes());
  }
  if (verbose())
    verbose_log(fmt::format("convgrad: onednn {}: {}{}{}", describe(kind, shapes()), plan->impl,
                            plan->threads == 1 && key.threads > 1 ? " [1 thread]" : "", cached ? " (cached)" : ""));
  lock.unlock();
  if (vec.defined() && kind == Kind::BackwardData) add_channel_bias(t[kSrc], vec);
}

}  // namespace

void conv_forward(const Tensor& x, const Tensor& w, const Tensor& bias, const Tensor& y, const ConvParams& p,
                  const ConvCaches& caches) {
  run(
      Kind::Forward, {x, w, y}, bias, p, caches, [&] { reference::conv_forward(x, w, bias, y, p); },
      [&] { phase_conv_forward(x, w, bias, y, p); });
}

void conv_backward_data(const Tensor& dy, const Tensor& w, const Tensor& bias, const Tensor& dx, const ConvParams& p,
                        const ConvCaches& caches) {
  run(
      Kind::BackwardData, {dx, w, dy}, bias, p, caches, [&] { reference::conv_backward_data(dy, w, bias, dx, p); },
      [&] { phase_conv_backward_data(dy, w, bias, dx, p); });
}

void conv_backward_weights(const Tensor& x, const Tensor& dy, const Tensor& dw, const Tensor& db, const ConvParams& p,
                           const ConvCaches& caches) {
  run(
      Kind::BackwardWeights, {x, dw, dy}, db, p, caches, [&] { reference::conv_backward_weights(x, dy, dw, db, p); },
      [&] { phase_conv_backward_weights(x, dy, dw, db, p); });
}

void set_batch_split(int mode) { split_mode().store(mode < 0 ? -1 : mode > 0 ? 1 : 0); }

int batch_split() { return split_mode().load(); }

OperandCacheStats operand_cache_stats() {
  Runtime& rt = runtime(Kind::Forward, [] { return ConvShapes(); });
  std::lock_guard<std::mutex> lock(rt.mutex);
  return rt.stats;
}

void fail_next_plan(int status) { injected_failure().store(status); }

std::size_t plan_cache_size() {
  Runtime& rt = runtime(Kind::Forward, [] { return ConvShapes(); });
  std::lock_guard<std::mutex> lock(rt.mutex);
  return rt.cache.size();
}

}  // namespace convgrad::onednn
