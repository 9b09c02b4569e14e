// Batch-split execution of the oneDNN backend's three convolution kernels (docs/backends.md,
// "Batch split"): when a call runs split (want_split), its one-image plan (split_plan), and the one
// parallel region in which each thread converts, convolves and converts back its own images, one at a
// time, with that one-image, one-thread primitive (run_split).
#include "core/backends/onednn/conv_split.h"

#include <omp.h>

#include <algorithm>
#include <atomic>
#include <exception>

#include "core/backends/onednn/conv_algo.h"
#include "core/factory.h"

namespace convgrad::onednn {

namespace {

// -1: decide per call (want_split); 0: never; 1: whenever it applies. CONVGRAD_BATCH_SPLIT sets it.
std::atomic<int>& split_mode() {
  static std::atomic<int> mode{env_switch("CONVGRAD_BATCH_SPLIT")};
  return mode;
}

// An image must be worth a primitive call of its own (a few microseconds of set-up per image).
constexpr double kSplitImageFlops = 3e6;

}  // namespace

bool images_end_to_end(const memory::desc& full, const memory::desc& one, int64_t N) {
  const int64_t B = one.data.ndims == 4 ? one.data.padded_dims[0] : 0;  // images per one-plan call
  const dnnl_memory_desc_t &f = full.data, &o = one.data;
  if (f.format_kind != dnnl_blocked || o.format_kind != dnnl_blocked || f.ndims != 4 || o.ndims != 4)
    return false;
  if (f.offset0 != 0 || o.offset0 != 0 || f.extra.flags != 0 || o.extra.flags != 0) return false;
  const auto &fb = f.format_desc.blocking, &ob = o.format_desc.blocking;
  for (int d = 0; d < 4; ++d) {
    if (f.padded_offsets[d] != 0 || o.padded_offsets[d] != 0 || fb.strides[d] != ob.strides[d]) return false;
    if (d > 0 && (f.dims[d] != o.dims[d] || f.padded_dims[d] != o.padded_dims[d])) return false;
  }
  if (fb.inner_nblks != ob.inner_nblks) return false;
  for (int i = 0; i < fb.inner_nblks; ++i)
    if (fb.inner_blks[i] != ob.inner_blks[i] || fb.inner_idxs[i] != ob.inner_idxs[i]) return false;
  return B > 0 && N % B == 0 && f.padded_dims[0] == N && full.get_size() == size_t(N / B) * one.get_size();
}

std::unique_ptr<Lane> make_lane(const Plan& plan, const SplitKernel& k, const dnnl::engine& eng) {
  auto lane = std::make_unique<Lane>();
  lane->strm = dnnl::stream(eng);
  for (int r = 0; r < 3; ++r) {
    lane->user_mem[r] = memory(plan.user[r], eng, DNNL_MEMORY_NONE);
    lane->inner_mem[r] = plan.reorder[r] ? memory(plan.chosen[r], eng, DNNL_MEMORY_NONE) : lane->user_mem[r];
    lane->args[k.arg[r]] = lane->inner_mem[r];
  }
  if (plan.bias_mem) {
    lane->bias_mem = memory(plan.bias, eng, DNNL_MEMORY_NONE);
    lane->args[k.bias_arg] = lane->bias_mem;
  }
  if (plan.scratch_mem) {
    lane->scratch_mem = memory(plan.scratch, eng, DNNL_MEMORY_NONE);
    lane->args[DNNL_ARG_SCRATCHPAD] = lane->scratch_mem;
  }
  return lane;
}

void run_split(const SplitKernel& k, const Plan& full, Plan& sp, const Tensor (&t)[3], const Tensor& vec,
               const ConvCaches& caches, Buffer& wei_buffer, OperandCacheStats& stats) {
  const int out = k.out;
  const int lanes = int(sp.lanes.size());
  const int64_t N = t[kSrc].shape()[0];  // the plan runs one image per call
  ConvOperandCache* const cache[3] = {caches.src, nullptr, caches.dst};
  float* base[3] = {t[0].data<float>(), t[1].data<float>(), t[2].data<float>()};
  int64_t plain[3] = {0, 0, 0}, blocked[3] = {0, 0, 0};  // elements per image
  float* cached[3] = {nullptr, nullptr, nullptr};
  std::unique_ptr<BlockedCopy> made[3];
  for (int r : {kSrc, kDst}) {
    const Shape& sh = t[r].shape();
    plain[r] = sh[1] * sh[2] * sh[3];
    blocked[r] = int64_t(sp.chosen_bytes[r] / 4);
    if (r == out || !cache[r] || !sp.reorder[r]) continue;
    if (BlockedCopy* copy = find_copy(*cache[r], full.chosen[r], t[r])) {
      cached[r] = copy->buffer.data<float>();
      ++stats.copies_reused;
      continue;
    }
    made[r] = std::make_unique<BlockedCopy>();
    made[r]->md = full.chosen[r];
    made[r]->buffer = uninitialized({int64_t((full.chosen[r].get_size() + 3) / 4)});
    cached[r] = made[r]->buffer.data<float>();
  }
  // Backward-weights (out == kWei): each thread sums its images' dw / db into its partials (the
  // primitive overwrites its outputs), then the partials are summed into `wei` (or dw itself when the
  // plan computes in OIHW) and converted once.
  const bool sum = out == kWei;
  void* wei = sp.reorder[kWei] ? wei_buffer.get(sp.chosen_bytes[kWei]) : nullptr;
  const int64_t wei_n = int64_t(sp.chosen_bytes[kWei] / 4), bias_n = vec.defined() ? vec.numel() : 0;
  float* partial_w[64] = {};
  float* partial_b[64] = {};
  CONVGRAD_CHECK(lanes <= 64, "onednn batch split: {} threads, at most 64 supported", lanes);
  for (int i = 0; i < lanes; ++i) {
    Lane* lane = sp.lanes[i].get();
    lane->user_mem[kWei].set_data_handle(base[kWei]);
    if (sum) {
      partial_w[i] = static_cast<float*>(lane->partial_w.get(sp.chosen_bytes[kWei]));
      if (bias_n) partial_b[i] = static_cast<float*>(lane->partial_b.get(size_t(bias_n) * 4));
    } else if (wei) {
      lane->inner_mem[kWei].set_data_handle(wei);
    }
    if (lane->bias_mem && !sum) lane->bias_mem.set_data_handle(vec.data<float>());
    if (lane->scratch_mem) lane->scratch_mem.set_data_handle(lane->scratch.get(sp.scratch_bytes));
  }
  // The lanes that get an image (a batch below the thread count leaves some with none, and no partial).
  const float* used_w[64] = {};
  const float* used_b[64] = {};
  int used = 0;
  for (int i = 0; i < lanes; ++i)
    if (N * (i + 1) / lanes > N * i / lanes) used_w[used] = partial_w[i], used_b[used++] = partial_b[i];
  const float* bias = k.bias_after && vec.defined() ? vec.data<float>() : nullptr;
  const int64_t bias_hw = t[kSrc].shape()[2] * t[kSrc].shape()[3];
  std::exception_ptr error;
  std::atomic<bool> failed{false};
  // No exception may leave the parallel region: the first one is kept and rethrown after it.
  auto guarded = [&](auto&& f) {
    if (failed.load()) return;
    try {
      f();
    } catch (...) {
#pragma omp critical(convgrad_onednn_split_error)
      if (!error) error = std::current_exception();
      failed = true;
    }
  };
#pragma omp parallel num_threads(lanes)
  {
    const int id = omp_get_thread_num();
    Lane& lane = *sp.lanes[id];
#pragma omp single
    if (wei && !sum)
      guarded([&] { sp.reorders[kWei].execute(lane.strm, lane.user_mem[kWei], lane.inner_mem[kWei]); });
    guarded([&] {
      const int64_t first = N * id / lanes;
      for (int64_t n = first; n < N * (id + 1) / lanes; ++n) {
        for (int r : {kSrc, kDst}) {
          lane.user_mem[r].set_data_handle(base[r] + n * plain[r]);
          if (!sp.reorder[r]) continue;
          if (cached[r]) {
            lane.inner_mem[r].set_data_handle(cached[r] + n * blocked[r]);
            if (made[r]) sp.reorders[r].execute(lane.strm, lane.user_mem[r], lane.inner_mem[r]);
          } else {
            lane.inner_mem[r].set_data_handle(lane.buffers[r].get(sp.chosen_bytes[r]));
            if (r != out) sp.reorders[r].execute(lane.strm, lane.user_mem[r], lane.inner_mem[r]);
          }
        }
        float* image_w = nullptr;
        float* image_b = nullptr;
        if (sum) {  // the first image writes the partials, the next ones a buffer added to them
          image_w =
              n == first ? partial_w[id] : static_cast<float*>(lane.buffers[kWei].get(sp.chosen_bytes[kWei]));
          lane.inner_mem[kWei].set_data_handle(image_w);
          if (bias_n) {
            image_b = n == first ? partial_b[id] : static_cast<float*>(lane.image_b.get(size_t(bias_n) * 4));
            lane.bias_mem.set_data_handle(image_b);
          }
        }
        sp.prim.execute(lane.strm, lane.args);
        if (sum) {
          if (n == first) continue;
          float* __restrict pw = partial_w[id];
          const float* __restrict iw = image_w;
#pragma omp simd
          for (int64_t i = 0; i < wei_n; ++i) pw[i] += iw[i];
          for (int64_t i = 0; i < bias_n; ++i) partial_b[id][i] += image_b[i];
          continue;
        }
        if (sp.reorder[out]) sp.reorders[out].execute(lane.strm, lane.inner_mem[out], lane.user_mem[out]);
        if (bias) {  // a transposed convolution's bias, as add_channel_bias would add it
          float* d = base[kSrc] + n * plain[kSrc];
          for (int64_t c = 0; c < plain[kSrc] / bias_hw; ++c)
            for (int64_t i = 0; i < bias_hw; ++i) d[c * bias_hw + i] += bias[c];
        }
      }
      lane.strm.wait();
    });
    if (sum) {
#pragma omp barrier
      guarded([&] {
        float* to = wei ? static_cast<float*>(wei) : base[kWei];
        const int64_t begin = wei_n * id / lanes / 16 * 16;
        const int64_t end = id + 1 == lanes ? wei_n : wei_n * (id + 1) / lanes / 16 * 16;
        for (int64_t i = begin; i < end; ++i) {
          float s = used_w[0][i];
          for (int l = 1; l < used; ++l) s += used_w[l][i];
          to[i] = s;
        }
      });
#pragma omp barrier
#pragma omp single
      guarded([&] {
        for (int64_t i = 0; i < bias_n; ++i) {
          float s = used_b[0][i];
          for (int l = 1; l < used; ++l) s += used_b[l][i];
          vec.data<float>()[i] = s;
        }
        if (wei) {
          lane.inner_mem[kWei].set_data_handle(wei);
          sp.reorders[kWei].execute(lane.strm, lane.inner_mem[kWei], lane.user_mem[kWei]);
          lane.strm.wait();
        }
      });
    }
  }
  if (error) std::rethrow_exception(error);
  for (int r : {kSrc, kDst})
    if (made[r]) {
      cache[r]->entries().push_back(std::move(made[r]));
      ++stats.copies_made;
    }
}

// Whether a call whose full-batch plan is `full` runs batch-split (backward-weights too: each thread
// sums its images' gradients, run_split adds the partials). Never a call with a weight cache, nor a
// tiny call. Automatically: at least one image per thread, a batch that divides evenly among them (or
// is large enough that the remainder does not matter), big images, and a layout conversion to keep in
// cache. It applies at one thread too: the locality is the larger part of the gain.
bool want_split(const Tensor (&t)[3], const ConvCaches& caches, const Plan& full, int threads) {
  const int mode = split_mode().load(std::memory_order_relaxed);
  // A tiny call (one-thread plan while more threads are set) keeps its one-thread path.
  if (mode == 0 || caches.wei || full.threads < threads) return false;
  if (mode == 1) return true;
  const int64_t N = t[kSrc].shape()[0];
  return N >= threads && (N % threads == 0 || N >= 4 * threads) &&
         call_flops(t) / double(N) >= kSplitImageFlops && (full.reorder[kSrc] || full.reorder[kDst]);
}

// How `kind` binds the roles, for the batch-split code (conv_split.h).
SplitKernel split_kernel(ConvKind kind) {
  const int* a = kArg[int(kind)];
  return {{a[0], a[1], a[2]},
          kOutput[int(kind)],
          kind == ConvKind::Forward ? DNNL_ARG_BIAS : DNNL_ARG_DIFF_BIAS,
          kind == ConvKind::BackwardData};
}

// The batch-split plan of a call (built on a miss: one image, one thread, `key.threads` lanes); null
// when oneDNN has none or its layouts do not fit the full-batch plan `full` (checked once per plan).
Plan* split_plan(Runtime& rt, ConvKind kind, const Key& key, Plan& full, const Tensor (&t)[3], bool has_vec,
                 const ConvParams& p) {
  if (full.split_fits < 0) return nullptr;
  Key k = key;
  k.dims[kSrc * 4] = k.dims[kDst * 4] = 1;
  k.threads = -key.threads;
  Plan* sp = rt.cache.find(k);
  if (!sp) {
    Shape src = t[kSrc].shape(), dst = t[kDst].shape();
    src[0] = dst[0] = 1;
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

void set_batch_split(int mode) { split_mode().store(mode < 0 ? -1 : mode > 0 ? 1 : 0); }

int batch_split() { return split_mode().load(); }

}  // namespace convgrad::onednn
