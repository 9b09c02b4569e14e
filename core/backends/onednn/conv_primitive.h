// oneDNN's convolution primitive as the backend's ConvAlgo::Primitive (conv_algo.h): the process's
// engine, stream, plan cache and buffers; building a call's plan; and running it, whole-batch or
// batch-split (conv_split.h), with the operand caches (see Note [Operand cache] in core/backend.h).
#pragma once

#include <omp.h>

#include <dnnl.hpp>
#include <mutex>
#include <string>

#include "core/backend.h"
#include "core/backends/onednn/conv.h"
#include "core/backends/onednn/conv_algo.h"
#include "core/backends/onednn/plan_cache.h"
#include "core/conv_geometry.h"
#include "core/tensor.h"

namespace convgrad::onednn {

/// The three tensors of a call by role in the conv view (the index into `t` below).
enum Role { kSrc = 0, kWei = 1, kDst = 2 };

/// The DNNL_ARG_* each role is bound to, per kind, and the role each kind writes.
constexpr int kArg[3][3] = {{DNNL_ARG_SRC, DNNL_ARG_WEIGHTS, DNNL_ARG_DST},
                            {DNNL_ARG_DIFF_SRC, DNNL_ARG_WEIGHTS, DNNL_ARG_DIFF_DST},
                            {DNNL_ARG_SRC, DNNL_ARG_DIFF_WEIGHTS, DNNL_ARG_DIFF_DST}};
constexpr Role kOutput[3] = {kDst, kSrc, kWei};

/// Engine and stream, created once; one mutex guards the plan cache, the shared buffers and the counts.
struct Runtime {
  dnnl::engine eng{dnnl::engine::kind::cpu, 0};
  dnnl::stream strm{eng};
  std::mutex mutex;
  PlanCache cache;
  Buffer buffers[3], scratch;
  OperandCacheStats stats;
};

/// The one runtime of the process (throws dnnl::error when oneDNN cannot create its engine).
Runtime& runtime_instance();

/// "conv_forward src [..], weights [..], dst [..], <params>": a call in logs and errors.
std::string describe(ConvKind kind, const ConvShapes& s);

/// A oneDNN failure as a convgrad::Error naming the call.
[[noreturn]] void rethrow(const dnnl::error& e, ConvKind kind, const ConvShapes& s);

/// 2 x the multiply-adds of a call (tensors by role).
double call_flops(const Tensor (&t)[3]);

/// Builds the primitive plan for `s` at the current OpenMP thread count; throws dnnl::error when
/// oneDNN has no implementation.
Plan make_plan(ConvKind kind, const ConvShapes& s, bool has_vec, const dnnl::engine& eng);

/// Sets the calling thread's OpenMP thread count for a scope (oneDNN reads it when it builds a
/// primitive and when a reorder runs) and restores it, also on an exception.
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

/// The plan of one call: its primitive built for the thread count it will run with (one thread for a
/// tiny call, else `threads`). Throws dnnl::error when oneDNN has no implementation.
Plan make_call_plan(ConvKind kind, const Tensor (&t)[3], const ConvParams& p, bool has_vec, int threads,
                    const dnnl::engine& eng);

/// Runs a call (tensors by role `t`, bias `vec`) on its primitive plan `plan`, found in the cache under
/// `key` (`cached`: found rather than built by this call): batch-split where want_split holds, else on
/// the whole batch. Called with rt.mutex held by `lock`; writes the verbose line and releases the lock.
void run_primitive(Runtime& rt, std::unique_lock<std::mutex>& lock, ConvKind kind, const Key& key, Plan& plan,
                   bool cached, const Tensor (&t)[3], const Tensor& vec, const ConvParams& p,
                   const ConvCaches& caches);

}  // namespace convgrad::onednn
