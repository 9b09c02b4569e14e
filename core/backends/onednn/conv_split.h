// Batch-split execution (docs/backends.md, "Batch split"): a call's batch is cut among the threads of
// ONE OpenMP region; each thread runs reorder-in, convolution and reorder-out image by image with a
// plan built for one image and one thread (oneDNN runs single-threaded inside a parallel region), so
// the converted image is still in that core's L2 when the next step reads it, and a call forks once
// instead of three times. run_primitive (conv_primitive.h) asks want_split and split_plan.
#pragma once

#include <cstdint>
#include <dnnl.hpp>
#include <memory>

#include "core/backend.h"
#include "core/backends/onednn/conv.h"
#include "core/backends/onednn/conv_algo.h"
#include "core/backends/onednn/conv_primitive.h"
#include "core/backends/onednn/plan_cache.h"
#include "core/tensor.h"

namespace convgrad::onednn {

/// How one kernel binds the roles of the conv view (0 src, 1 weights, 2 dst): its DNNL_ARG_* per role,
/// the role it writes, its bias argument (DNNL_ARG_BIAS / DNNL_ARG_DIFF_BIAS), and whether its bias is
/// added to the output after the primitive instead (backward-data).
struct SplitKernel {
  int arg[3];
  int out;
  int bias_arg;
  bool bias_after;
};

/// Whether the batch-N layout `full` is the batch-B layout `one` repeated N / B times, image after
/// image (so images [n B, n B + B) of a full-size blocked copy start at n * one.get_size()).
bool images_end_to_end(const memory::desc& full, const memory::desc& one, int64_t N);

/// One thread's own memory objects, argument map and stream for the one-image plan `plan`.
std::unique_ptr<Lane> make_lane(const Plan& plan, const SplitKernel& k, const dnnl::engine& eng);

/// Runs a call (tensors by role `t`, bias `vec`) batch-split on the lanes of the one-image plan `sp`:
/// thread i of sp.lanes.size() takes images [N i / lanes, N (i + 1) / lanes). An input with an operand
/// cache (Note [Operand cache], core/backend.h) is converted into a copy in the layout of the full-batch
/// plan `full`, image n at its offset (the caller checked that the layouts fit, images_end_to_end), so
/// that later unsplit calls find it; the copy joins the cache only when the call succeeds. The weights
/// are converted once, into `wei_buffer`.
void run_split(const SplitKernel& k, const Plan& full, Plan& sp, const Tensor (&t)[3], const Tensor& vec,
               const ConvCaches& caches, Buffer& wei_buffer, OperandCacheStats& stats);

/// How `kind` binds the roles.
SplitKernel split_kernel(ConvKind kind);

/// Whether a call (tensors by role `t`) whose full-batch plan is `full` runs batch-split at `threads`
/// threads: never with a weight cache or a one-thread plan; always under set_batch_split(1); else by
/// size and layout (conv_split.cpp).
bool want_split(const Tensor (&t)[3], const ConvCaches& caches, const Plan& full, int threads);

/// The batch-split plan of a call whose full-batch plan `full` is cached under `key` (built on a miss:
/// one image, one thread, `key.threads` lanes); null when oneDNN has none or its layouts do not fit
/// `full` (checked once per plan). Throws dnnl::error on other oneDNN failures.
Plan* split_plan(Runtime& rt, ConvKind kind, const Key& key, Plan& full, const Tensor (&t)[3], bool has_vec,
                 const ConvParams& p);

}  // namespace convgrad::onednn
