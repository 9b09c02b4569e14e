// Which algorithm runs one convolution call of the oneDNN backend, and why: choose_algo is the only
// place that decides. conv.cpp asks it once per plan (the choice is cached with the plan) and runs the
// executor of the algorithm it returns.
#pragma once

#include <functional>
#include <string>

#include "core/conv_geometry.h"

namespace convgrad::onednn {

/// The three kernels of the backend contract (core/backend.h), in the conv view.
enum class ConvKind { Forward, BackwardData, BackwardWeights };

/// The kernel's name in logs and errors: "conv_forward", "conv_backward_data", "conv_backward_weights".
const char* kind_name(ConvKind kind);

/// What computes a call:
///   Primitive  oneDNN's convolution primitive (conv_primitive.h), whole-batch or batch-split;
///   Phase      the phase decomposition into GEMMs (phase_conv.h), for a stride that divides the kernel;
///   Direct     convgrad's AVX2 kernels for few channels and wide kernel rows (direct_conv.h);
///   Reference  the reference backend's loops (core/backends/reference/conv.h).
enum class ConvAlgo { Primitive, Phase, Direct, Reference };

/// What oneDNN offers for a call: the implementation its primitive descriptor chose (ONEDNN_VERBOSE
/// terms: "jit:avx512_core", "x64:gemm:jit", "ref:any", ...), or, when it has none, why not
/// ("oneDNN: unimplemented, ..."; impl is then empty).
struct PrimitiveOffer {
  std::string impl;
  std::string refusal;
};

/// A decision: the algorithm, and for Reference the reason printed in the verbose line.
struct AlgoChoice {
  ConvAlgo algo;
  std::string reason;
};

/// Which algorithm runs `kind` on the conv view `s`. `ask_onednn` builds oneDNN's primitive for the
/// call and reports what it chose; it is called at most once, and not for a call with a zero-size
/// tensor. The rules, in the order they apply, are in conv_algo.cpp.
AlgoChoice choose_algo(ConvKind kind, const ConvShapes& s, const std::function<PrimitiveOffer()>& ask_onednn);

/// Whether oneDNN's implementation `impl` is its im2col GEMM ("gemm:jit", "x64:gemm:jit") or a
/// reference loop ("ref:"), rather than a direct jit kernel.
bool is_onednn_fallback(const std::string& impl);

/// The name the verbose line and convbench's "kernel" field give convgrad's own kernels:
/// "phase:sgemm" (Phase) or "direct:avx2" (Direct).
const char* own_kernel_name(ConvAlgo algo);

/// A three-way switch read from the environment: 0 when `name` is "0", 1 when it is "1", and -1
/// (decide per call) when it is unset or anything else. Read by CONVGRAD_PHASE_CONV and
/// CONVGRAD_BATCH_SPLIT.
int env_switch(const char* name);

}  // namespace convgrad::onednn
