// The oneDNN backend's convolution kernels. Each call runs one algorithm (conv_algo.h, choose_algo):
// oneDNN's primitive, convgrad's phase or direct kernels, or the reference kernels where oneDNN has no
// implementation; verbose mode reports which. Shapes are validated by the caller (check_conv_call).
#pragma once

#include <cstddef>

#include "core/backend.h"
#include "core/conv_geometry.h"
#include "core/tensor.h"

namespace convgrad::onednn {

/// y = conv(x, w) + bias (bias may be undefined). `caches`: an input with a cache is reordered into it
/// on the first call and read from it by the next ones (see Note [Operand cache] in core/backend.h).
void conv_forward(const Tensor& x, const Tensor& w, const Tensor& bias, const Tensor& y, const ConvParams& p,
                  const ConvCaches& caches = {});
/// dx = conv^T(dy, w) + bias per dx channel (bias may be undefined; added after the primitive).
void conv_backward_data(const Tensor& dy, const Tensor& w, const Tensor& bias, const Tensor& dx,
                        const ConvParams& p, const ConvCaches& caches = {});
/// dw = gradient wrt the weight; db = sum of dy over N, H, W (db may be undefined).
void conv_backward_weights(const Tensor& x, const Tensor& dy, const Tensor& dw, const Tensor& db,
                           const ConvParams& p, const ConvCaches& caches = {});

/// Counts of operand-cache use since start-up (for tests and diagnostics): converted copies made into
/// a ConvOperandCache, and calls that read a copy made by an earlier call instead of reordering again.
struct OperandCacheStats {
  std::size_t copies_made = 0, copies_reused = 0;
};
/// The counts so far.
OperandCacheStats operand_cache_stats();

/// Batch-split execution of the three kernels (docs/backends.md): -1 decides per call
/// (the default), 0 never splits, 1 splits every call it can (for tests and A/B measurements). The
/// environment variable CONVGRAD_BATCH_SPLIT=0/1 sets the initial mode.
void set_batch_split(int mode);
/// The current batch-split mode (-1, 0 or 1).
int batch_split();

/// Whether this CPU runs oneDNN's bfloat16 convolutions natively (oneDNN's effective ISA has
/// AVX512_BF16: avx512_core_bf16 or later).
bool bf16_kernels_available();
/// How a call with ConvParams::compute == BFloat16 runs: -1 (the default) on oneDNN's bfloat16
/// primitives where bf16_kernels_available(), 0 always on the float32 kernels (the inputs are
/// bfloat16 values already, so only the speed differs). CONVGRAD_BF16_KERNELS=0 sets 0 at start-up.
void set_bf16_kernels(int mode);
/// The current mode (-1 or 0).
int bf16_kernels();
/// Whether calls with ConvParams::compute == BFloat16 run on the bfloat16 primitives now.
bool bf16_kernels_active();

/// Number of primitive plans in the LRU cache (for tests and diagnostics).
std::size_t plan_cache_size();

/// Test seam: the next primitive build fails as if oneDNN had returned `status` (a dnnl_status_t
/// value; 0, dnnl_success, cancels). Lets a test reach the failures oneDNN gives only under memory
/// pressure or a library bug, without either.
void fail_next_plan(int status);

}  // namespace convgrad::onednn
