#include "core/backends/onednn/conv_algo.h"

#include <cstdlib>
#include <cstring>

#include "core/backends/onednn/direct_conv.h"
#include "core/backends/onednn/phase_conv.h"

namespace convgrad::onednn {

namespace {

bool has_zero_size(const ConvShapes& s) {
  for (const Shape* sh : {&s.src, &s.wei, &s.dst})
    for (int64_t d : *sh)
      if (d == 0) return true;
  return false;
}

// CONVGRAD_PHASE_CONV: 0 never runs convgrad's own kernels (Phase, Direct), 1 runs them wherever they
// compute the call, -1 (unset) follows the rules of choose_algo.
int own_kernels_mode() {
  static const int mode = env_switch("CONVGRAD_PHASE_CONV");
  return mode;
}

}  // namespace

bool is_onednn_fallback(const std::string& impl) {
  return impl.find("gemm") != std::string::npos || impl.rfind("ref", 0) == 0;
}

const char* kind_name(ConvKind kind) {
  constexpr const char* kNames[] = {"conv_forward", "conv_backward_data", "conv_backward_weights"};
  return kNames[int(kind)];
}

const char* own_kernel_name(ConvAlgo algo) {
  return algo == ConvAlgo::Direct ? "direct:avx2" : "phase:sgemm";
}

int env_switch(const char* name) {
  const char* v = std::getenv(name);
  return v && std::strcmp(v, "0") == 0 ? 0 : v && std::strcmp(v, "1") == 0 ? 1 : -1;
}

// The rules, top to bottom; the first that applies decides. The measurements behind them are in
// docs/performance.md#choosing-the-algorithm.
AlgoChoice choose_algo(ConvKind kind, const ConvShapes& s,
                       const std::function<PrimitiveOffer()>& ask_onednn) {
  // 1. A zero-size tensor (batch 0, zero channels): oneDNN rejects it; the reference kernels handle it.
  if (has_zero_size(s)) return {ConvAlgo::Reference, "zero-size tensor"};

  const PrimitiveOffer onednn = ask_onednn();
  const bool onednn_declines = !onednn.refusal.empty();

  // 2. convgrad's own kernels compute only one group, dilation 1 and strides that divide the kernel
  //    (phase_conv_supported), and not at all under CONVGRAD_PHASE_CONV=0: otherwise oneDNN's primitive
  //    runs, or the reference kernels where oneDNN has none.
  //    They compute in float32 only: a bfloat16 call runs on oneDNN's bfloat16 primitive.
  if (own_kernels_mode() == 0 || !phase_conv_supported(s) || s.params.compute != DType::Float32) {
    if (onednn_declines) return {ConvAlgo::Reference, onednn.refusal};
    return {ConvAlgo::Primitive, {}};
  }

  // 3. Which of convgrad's kernels: the direct ones for few output channels and kernel rows of a vector
  //    or more (direct_conv_preferred; the input gradient also needs a width stride that is a multiple
  //    of 8, direct_conv_data_preferred), else the phase GEMMs.
  const bool direct =
      kind == ConvKind::BackwardData ? direct_conv_data_preferred(s) : direct_conv_preferred(s);
  const ConvAlgo own = direct ? ConvAlgo::Direct : ConvAlgo::Phase;

  // 4. oneDNN has no implementation, or CONVGRAD_PHASE_CONV=1 asks for convgrad's kernels: they run.
  if (onednn_declines || own_kernels_mode() == 1) return {own, {}};

  // 5. Forward and weight gradient with few output channels: the direct kernels, whatever oneDNN chose
  //    (its jit kernel pads 4 output channels to 16). The input gradient is not in this rule: there
  //    oneDNN's jit kernel is kept.
  if (kind != ConvKind::BackwardData && direct) return {ConvAlgo::Direct, {}};

  // 6. oneDNN would fall back to its im2col GEMM or a reference loop: convgrad's kernels are several
  //    times faster.
  if (is_onednn_fallback(onednn.impl)) return {own, {}};

  // 7. oneDNN has a direct kernel ("jit", "brg") for many channels: it is as fast as the phase GEMMs
  //    or faster, so the primitive runs.
  return {ConvAlgo::Primitive, {}};
}

}  // namespace convgrad::onednn
