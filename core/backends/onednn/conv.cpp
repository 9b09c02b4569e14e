#include "core/backends/onednn/conv.h"

#include <dnnl_debug.h>
#include <fmt/format.h>

#include <cstdlib>
#include <dnnl.hpp>
#include <functional>
#include <list>
#include <mutex>
#include <unordered_map>

#include "core/backend.h"
#include "core/backends/reference/conv.h"
#include "core/error.h"
#include "core/threading.h"

namespace convgrad::onednn {

namespace {

using dnnl::memory;
using Tag = memory::format_tag;
using Dt = memory::data_type;

enum class Kind { Forward, BackwardData, BackwardWeights };
constexpr const char* kKindName[] = {"conv_forward", "conv_backward_data", "conv_backward_weights"};

// The three tensors of a call by role in the conv view, and the DNNL_ARG_* each role is for each kind.
enum Role { kSrc = 0, kWei = 1, kDst = 2 };
constexpr int kArg[3][3] = {{DNNL_ARG_SRC, DNNL_ARG_WEIGHTS, DNNL_ARG_DST},
                            {DNNL_ARG_DIFF_SRC, DNNL_ARG_WEIGHTS, DNNL_ARG_DIFF_DST},
                            {DNNL_ARG_SRC, DNNL_ARG_DIFF_WEIGHTS, DNNL_ARG_DIFF_DST}};
constexpr Role kOutput[3] = {kDst, kSrc, kWei};

// A ready-to-run primitive: the layouts it chose, the reorders from/to the caller's plain tensors,
// and its implementation name. `unsupported` caches oneDNN's refusal so it is asked once.
struct Plan {
  dnnl::primitive prim;
  memory::desc user[3], chosen[3], bias, scratch;
  bool reorder[3] = {false, false, false};
  dnnl::reorder reorders[3];
  std::string impl;
  std::string unsupported;
};

// A growable 64-byte aligned buffer: reordered tensors and the scratchpad reuse it call after call.
class Buffer {
 public:
  ~Buffer() { std::free(ptr_); }
  void* get(size_t bytes) {
    if (bytes > size_) {
      std::free(ptr_);
      size_ = (bytes + 63) / 64 * 64;
      ptr_ = std::aligned_alloc(64, size_);
      check(ptr_ != nullptr, "onednn: could not allocate {} bytes of workspace", size_);
    }
    return ptr_;
  }

 private:
  void* ptr_ = nullptr;
  size_t size_ = 0;
};

// LRU of plans keyed by kind, shapes, parameters, bias and thread count.
class PlanCache {
 public:
  Plan* find(const std::string& key) {
    auto it = index_.find(key);
    if (it == index_.end()) return nullptr;
    items_.splice(items_.begin(), items_, it->second);
    return &it->second->second;
  }
  Plan& insert(const std::string& key, Plan plan) {
    items_.emplace_front(key, std::move(plan));
    index_[key] = items_.begin();
    if (items_.size() > kCapacity) {
      index_.erase(items_.back().first);
      items_.pop_back();
    }
    return items_.front().second;
  }
  size_t size() const { return items_.size(); }

 private:
  static constexpr size_t kCapacity = 128;
  std::list<std::pair<std::string, Plan>> items_;
  std::unordered_map<std::string, std::list<std::pair<std::string, Plan>>::iterator> index_;
};

// Engine and stream are created once; one mutex guards the cache and the shared buffers.
struct Runtime {
  dnnl::engine eng{dnnl::engine::kind::cpu, 0};
  dnnl::stream strm{eng};
  std::mutex mutex;
  PlanCache cache;
  Buffer buffers[3], scratch;
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

Runtime& runtime(Kind kind, const ConvShapes& s) {
  try {
    static Runtime rt;
    return rt;
  } catch (const dnnl::error& e) {
    rethrow(e, kind, s);
  }
}

memory::dims dims(const Shape& s) { return memory::dims(s.begin(), s.end()); }

// Builds the primitive for one call; throws dnnl::error when oneDNN has no implementation.
Plan make_plan(Kind kind, const ConvShapes& s, bool has_vec, const dnnl::engine& eng) {
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
  plan.bias = bias;
  for (int r = 0; r < 3; ++r) {
    plan.user[r] = memory::desc(shapes[r], Dt::f32, r == kWei ? (g == 1 ? Tag::oihw : Tag::goihw) : Tag::nchw);
    // Reorder only when oneDNN chose a layout other than the caller's plain one.
    plan.reorder[r] = plan.chosen[r] != plan.user[r];
    if (!plan.reorder[r]) continue;
    bool out = r == kOutput[int(kind)];
    plan.reorders[r] = out ? dnnl::reorder(dnnl::reorder::primitive_desc(eng, plan.chosen[r], eng, plan.user[r]))
                           : dnnl::reorder(dnnl::reorder::primitive_desc(eng, plan.user[r], eng, plan.chosen[r]));
  }
  return plan;
}

void add_channel_bias(const Tensor& t, const Tensor& bias) {
  const int64_t N = t.size(0), C = t.size(1), HW = t.size(2) * t.size(3);
  float* d = t.data<float>();
  const float* b = bias.data<float>();
#pragma omp parallel for schedule(static)
  for (int64_t nc = 0; nc < N * C; ++nc)
    for (int64_t i = 0; i < HW; ++i) d[nc * HW + i] += b[nc % C];
}

// One call: the cached plan (built on a miss), or the reference kernel when oneDNN declines.
void run(Kind kind, const Tensor (&t)[3], const Tensor& vec, const ConvParams& p,
         const std::function<void()>& fallback) {
  ConvShapes s{t[kSrc].shape(), t[kWei].shape(), t[kDst].shape(), p};
  if (t[kSrc].numel() == 0 || t[kWei].numel() == 0 || t[kDst].numel() == 0) {
    if (verbose()) verbose_log(fmt::format("convgrad: onednn {} -> reference (zero-size tensor)", describe(kind, s)));
    fallback();
    return;
  }
  Runtime& rt = runtime(kind, s);
  std::unique_lock<std::mutex> lock(rt.mutex);
  // The thread count is part of the key: oneDNN fixes its parallel split when it builds a primitive.
  std::string key = fmt::format("{}|{}|{}", describe(kind, s), vec.defined(), get_num_threads());
  Plan* plan = rt.cache.find(key);
  const bool cached = plan != nullptr;
  if (!plan) {
    try {
      plan = &rt.cache.insert(key, make_plan(kind, s, vec.defined(), rt.eng));
    } catch (const dnnl::error& e) {
      if (e.status != dnnl_unimplemented && e.status != dnnl_invalid_arguments) rethrow(e, kind, s);
      Plan refused;
      refused.unsupported = fmt::format("oneDNN: {}, {}", dnnl_status2str(e.status), e.what());
      plan = &rt.cache.insert(key, std::move(refused));
    }
  }
  if (!plan->unsupported.empty()) {
    std::string why = plan->unsupported;
    lock.unlock();
    if (verbose()) verbose_log(fmt::format("convgrad: onednn {} -> reference ({})", describe(kind, s), why));
    fallback();
    return;
  }
  try {
    std::unordered_map<int, memory> args;
    memory user[3], inner[3];
    const Role out = kOutput[int(kind)];
    for (int r = 0; r < 3; ++r) {
      user[r] = memory(plan->user[r], rt.eng, t[r].data<float>());
      inner[r] =
          plan->reorder[r] ? memory(plan->chosen[r], rt.eng, rt.buffers[r].get(plan->chosen[r].get_size())) : user[r];
      if (plan->reorder[r] && r != out) plan->reorders[r].execute(rt.strm, user[r], inner[r]);
      args[kArg[int(kind)][r]] = inner[r];
    }
    if (vec.defined() && kind != Kind::BackwardData)
      args[kind == Kind::Forward ? DNNL_ARG_BIAS : DNNL_ARG_DIFF_BIAS] = memory(plan->bias, rt.eng, vec.data<float>());
    if (plan->scratch.get_size() > 0)
      args[DNNL_ARG_SCRATCHPAD] = memory(plan->scratch, rt.eng, rt.scratch.get(plan->scratch.get_size()));
    plan->prim.execute(rt.strm, args);
    if (plan->reorder[out]) plan->reorders[out].execute(rt.strm, inner[out], user[out]);
    rt.strm.wait();
  } catch (const dnnl::error& e) {
    rethrow(e, kind, s);
  }
  if (verbose())
    verbose_log(fmt::format("convgrad: onednn {}: {}{}", describe(kind, s), plan->impl, cached ? " (cached)" : ""));
  lock.unlock();
  if (vec.defined() && kind == Kind::BackwardData) add_channel_bias(t[kSrc], vec);
}

}  // namespace

void conv_forward(const Tensor& x, const Tensor& w, const Tensor& bias, const Tensor& y, const ConvParams& p) {
  run(Kind::Forward, {x, w, y}, bias, p, [&] { reference::conv_forward(x, w, bias, y, p); });
}

void conv_backward_data(const Tensor& dy, const Tensor& w, const Tensor& bias, const Tensor& dx, const ConvParams& p) {
  run(Kind::BackwardData, {dx, w, dy}, bias, p, [&] { reference::conv_backward_data(dy, w, bias, dx, p); });
}

void conv_backward_weights(const Tensor& x, const Tensor& dy, const Tensor& dw, const Tensor& db, const ConvParams& p) {
  run(Kind::BackwardWeights, {x, dw, dy}, db, p, [&] { reference::conv_backward_weights(x, dy, dw, db, p); });
}

std::size_t plan_cache_size() {
  ConvShapes none;
  Runtime& rt = runtime(Kind::Forward, none);
  std::lock_guard<std::mutex> lock(rt.mutex);
  return rt.cache.size();
}

}  // namespace convgrad::onednn
