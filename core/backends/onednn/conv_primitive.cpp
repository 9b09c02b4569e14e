#include "core/backends/onednn/conv_primitive.h"

#include <dnnl_debug.h>
#include <fmt/format.h>
#include <omp.h>

#include <atomic>

#include "core/backends/onednn/conv_split.h"
#include "core/error.h"
#include "core/factory.h"
#include "core/threading.h"

namespace convgrad::onednn {

namespace {

using Tag = memory::format_tag;
using Dt = memory::data_type;

memory::dims dims(const Shape& s) { return memory::dims(s.begin(), s.end()); }

// The status fail_next_plan set for the next make_plan (dnnl_success: none).
std::atomic<int>& injected_failure() {
  static std::atomic<int> status{dnnl_success};
  return status;
}

// Below this many FLOPs (2 x MACs) a call runs on the calling thread alone: its primitive is built
// for one thread and its reorders run without a parallel region, since a second thread saves less than
// the three OpenMP fork-joins (convolution and two reorders) cost when a neighbour holds the other core
// (docs/performance.md#framework-overhead).
constexpr double kSingleThreadFlops = 2e6;

void add_channel_bias(const Tensor& t, const Tensor& bias) {
  const int64_t N = t.size(0), C = t.size(1), HW = t.size(2) * t.size(3);
  float* d = t.data<float>();
  const float* b = bias.data<float>();
#pragma omp parallel for num_threads(get_num_threads()) schedule(static)
  for (int64_t nc = 0; nc < N * C; ++nc)
    for (int64_t i = 0; i < HW; ++i) d[nc * HW + i] += b[nc % C];
}

// ---- The whole batch in one primitive call.

// Reorders the inputs into the layouts the primitive computes in (a cached input into its operand
// cache, once; see Note [Operand cache] in core/backend.h), runs it and reorders the output back.
void run_whole(Runtime& rt, ConvKind kind, Plan& plan, const Tensor (&t)[3], const Tensor& vec,
               const ConvCaches& caches) {
  ThreadScope scope(plan.threads);
  const Role out = kOutput[int(kind)];
  ConvOperandCache* const cache[3] = {caches.src, caches.wei, caches.dst};
  for (int r = 0; r < 3; ++r) {
    plan.user_mem[r].set_data_handle(t[r].data<float>());
    if (!plan.reorder[r]) continue;
    if (r == out || !cache[r]) {
      plan.inner_mem[r].set_data_handle(rt.buffers[r].get(plan.chosen_bytes[r]));
      if (r != out) plan.reorders[r].execute(rt.strm, plan.user_mem[r], plan.inner_mem[r]);
      continue;
    }
    BlockedCopy* copy = find_copy(*cache[r], plan.chosen[r], t[r]);
    if (!copy) {
      auto made = std::make_unique<BlockedCopy>();
      made->md = plan.chosen[r];
      made->buffer = uninitialized({int64_t((plan.chosen_bytes[r] + 3) / 4)});
      plan.inner_mem[r].set_data_handle(made->buffer.data<float>());
      plan.reorders[r].execute(rt.strm, plan.user_mem[r], plan.inner_mem[r]);
      copy = made.get();
      cache[r]->entries().push_back(std::move(made));
      ++rt.stats.copies_made;
    } else {
      ++rt.stats.copies_reused;
    }
    plan.inner_mem[r].set_data_handle(copy->buffer.data<float>());
  }
  if (plan.bias_mem) plan.bias_mem.set_data_handle(vec.data<float>());
  if (plan.scratch_mem) plan.scratch_mem.set_data_handle(rt.scratch.get(plan.scratch_bytes));
  plan.prim.execute(rt.strm, plan.args);
  if (plan.reorder[out]) plan.reorders[out].execute(rt.strm, plan.inner_mem[out], plan.user_mem[out]);
  rt.strm.wait();
}

}  // namespace

double call_flops(const Tensor (&t)[3]) {
  const Shape &w = t[kWei].shape(), &d = t[kDst].shape();
  return 2.0 * double(d[0]) * d[1] * d[2] * d[3] * w[1] * w[2] * w[3];
}

void fail_next_plan(int status) { injected_failure().store(status); }

Plan make_plan(ConvKind kind, const ConvShapes& s, bool has_vec, const dnnl::engine& eng) {
  if (const int st = injected_failure().exchange(dnnl_success); st != dnnl_success)
    throw dnnl::error(static_cast<dnnl_status_t>(st), "failure injected by onednn::fail_next_plan");
  const ConvParams& p = s.params;
  const int64_t g = p.groups;
  // A grouped weight (O, C/g, kh, kw) is, byte for byte, goihw (g, O/g, C/g, kh, kw): no copy.
  memory::dims wei = g == 1 ? dims(s.wei) : memory::dims{g, s.wei[0] / g, s.wei[1], s.wei[2], s.wei[3]};
  memory::dims shapes[3] = {dims(s.src), wei, dims(s.dst)};
  // bfloat16 compute: the inputs in bfloat16 (reordered from the caller's float32, exactly, as they hold
  // bfloat16 values), the output, the bias and the weight gradient in float32.
  const bool bf16 = p.compute == DType::BFloat16;
  const Role out = kOutput[int(kind)];
  auto dt = [&](int role) { return bf16 && role != out ? Dt::bf16 : Dt::f32; };
  auto any = [](const memory::dims& d, Dt t) { return memory::desc(d, t, Tag::any); };
  memory::dims strides{p.stride[0], p.stride[1]}, dilates{p.dilation[0] - 1, p.dilation[1] - 1};
  memory::dims pad_l{p.pad_begin[0], p.pad_begin[1]}, pad_r{p.pad_end[0], p.pad_end[1]};
  const auto alg = dnnl::algorithm::convolution_direct;
  memory::desc bias =
      has_vec && kind != ConvKind::BackwardData ? memory::desc({s.wei[0]}, Dt::f32, Tag::x) : memory::desc();
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);

  using Fwd = dnnl::convolution_forward;
  using BwdData = dnnl::convolution_backward_data;
  using BwdWeights = dnnl::convolution_backward_weights;
  // The forward descriptor runs the forward and is the hint the backward ones require.
  Fwd::primitive_desc fwd(
      Fwd::desc(dnnl::prop_kind::forward_training, alg, any(shapes[kSrc], bf16 ? Dt::bf16 : Dt::f32),
                any(shapes[kWei], bf16 ? Dt::bf16 : Dt::f32), bias, any(shapes[kDst], dt(kDst)), strides,
                dilates, pad_l, pad_r),
      attr, eng);
  Plan plan;
  dnnl::primitive_desc_base* pd = nullptr;
  BwdData::primitive_desc data_pd;
  BwdWeights::primitive_desc weights_pd;
  if (kind == ConvKind::Forward) {
    plan.prim = Fwd(fwd);
    plan.chosen[kSrc] = fwd.src_desc(), plan.chosen[kWei] = fwd.weights_desc();
    plan.chosen[kDst] = fwd.dst_desc();
    pd = &fwd;
  } else if (kind == ConvKind::BackwardData) {
    data_pd =
        BwdData::primitive_desc(BwdData::desc(alg, any(shapes[kSrc], dt(kSrc)), any(shapes[kWei], dt(kWei)),
                                              any(shapes[kDst], dt(kDst)), strides, dilates, pad_l, pad_r),
                                attr, eng, fwd);
    plan.prim = BwdData(data_pd);
    plan.chosen[kSrc] = data_pd.diff_src_desc(), plan.chosen[kWei] = data_pd.weights_desc();
    plan.chosen[kDst] = data_pd.diff_dst_desc();
    pd = &data_pd;
  } else {
    const memory::desc src = any(shapes[kSrc], dt(kSrc)), wei = any(shapes[kWei], dt(kWei)),
                       dst = any(shapes[kDst], dt(kDst));
    auto d = has_vec ? BwdWeights::desc(alg, src, wei, bias, dst, strides, dilates, pad_l, pad_r)
                     : BwdWeights::desc(alg, src, wei, dst, strides, dilates, pad_l, pad_r);
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
  for (int r = 0; r < 3; ++r) {
    plan.user[r] =
        memory::desc(shapes[r], Dt::f32, r == kWei ? (g == 1 ? Tag::oihw : Tag::goihw) : Tag::nchw);
    // Reorder only when oneDNN chose a layout other than the caller's plain one.
    plan.reorder[r] = plan.chosen[r] != plan.user[r];
    plan.chosen_bytes[r] = plan.chosen[r].get_size();
    // Memory objects are made once with no data; each call sets the pointers.
    plan.user_mem[r] = memory(plan.user[r], eng, DNNL_MEMORY_NONE);
    plan.inner_mem[r] = plan.reorder[r] ? memory(plan.chosen[r], eng, DNNL_MEMORY_NONE) : plan.user_mem[r];
    plan.args[kArg[int(kind)][r]] = plan.inner_mem[r];
    if (!plan.reorder[r]) continue;
    plan.reorders[r] =
        r == out ? dnnl::reorder(dnnl::reorder::primitive_desc(eng, plan.chosen[r], eng, plan.user[r]))
                 : dnnl::reorder(dnnl::reorder::primitive_desc(eng, plan.user[r], eng, plan.chosen[r]));
  }
  if (has_vec && kind != ConvKind::BackwardData) {
    plan.bias_mem = memory(bias, eng, DNNL_MEMORY_NONE);
    plan.args[kind == ConvKind::Forward ? DNNL_ARG_BIAS : DNNL_ARG_DIFF_BIAS] = plan.bias_mem;
  }
  if (plan.scratch.get_size() > 0) {
    plan.scratch_mem = memory(plan.scratch, eng, DNNL_MEMORY_NONE);
    plan.args[DNNL_ARG_SCRATCHPAD] = plan.scratch_mem;
  }
  return plan;
}
Runtime& runtime_instance() {
  static Runtime rt;
  return rt;
}

std::string describe(ConvKind kind, const ConvShapes& s) {
  return fmt::format("{} src {}, weights {}, dst {}, {}", kind_name(kind), shape_str(s.src), shape_str(s.wei),
                     shape_str(s.dst), params_str(s.params));
}

void rethrow(const dnnl::error& e, ConvKind kind, const ConvShapes& s) {
  fail(
      "onednn {}: oneDNN failed with '{}' (status {}); this is a bug or an unsupported configuration, the "
      "reference backend (set_backend(\"reference\")) computes it",
      describe(kind, s), e.what(), dnnl_status2str(e.status));
}

Plan make_call_plan(ConvKind kind, const Tensor (&t)[3], const ConvParams& p, bool has_vec, int threads,
                    const dnnl::engine& eng) {
  if (call_flops(t) < kSingleThreadFlops) threads = 1;
  ThreadScope scope(threads);
  Plan plan = make_plan(kind, ConvShapes{t[kSrc].shape(), t[kWei].shape(), t[kDst].shape(), p}, has_vec, eng);
  plan.threads = threads;
  return plan;
}

void run_primitive(Runtime& rt, std::unique_lock<std::mutex>& lock, ConvKind kind, const Key& key, Plan& plan,
                   bool cached, const Tensor (&t)[3], const Tensor& vec, const ConvParams& p,
                   const ConvCaches& caches) {
  auto shapes = [&] { return ConvShapes{t[kSrc].shape(), t[kWei].shape(), t[kDst].shape(), p}; };
  // The batch split is built and measured for float32 only.
  if (p.compute == DType::Float32 && want_split(t, caches, plan, key.threads)) {
    try {
      if (Plan* sp = split_plan(rt, kind, key, plan, t, vec.defined(), p)) {
        run_split(split_kernel(kind), plan, *sp, t, vec, caches, rt.buffers[kWei], rt.stats);
        if (verbose())
          verbose_log(fmt::format("convgrad: onednn {}: {} [batch split, {} thread{}]{}",
                                  describe(kind, shapes()), sp->impl, sp->lanes.size(),
                                  sp->lanes.size() == 1 ? "" : "s", cached ? " (cached)" : ""));
        lock.unlock();
        return;
      }
    } catch (const dnnl::error& e) {
      rethrow(e, kind, shapes());
    }
  }
  try {
    run_whole(rt, kind, plan, t, vec, caches);
  } catch (const dnnl::error& e) {
    rethrow(e, kind, shapes());
  }
  if (verbose())
    verbose_log(fmt::format("convgrad: onednn {}: {}{}{}", describe(kind, shapes()), plan.impl,
                            plan.threads == 1 && key.threads > 1 ? " [1 thread]" : "",
                            cached ? " (cached)" : ""));
  lock.unlock();
  // oneDNN's backward-data has no bias: it is added after the primitive.
  if (vec.defined() && kind == ConvKind::BackwardData) add_channel_bias(t[kSrc], vec);
}

}  // namespace convgrad::onednn
