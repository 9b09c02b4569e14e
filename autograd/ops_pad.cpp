// pad: validates F.pad's arguments with PyTorch's rules, then runs the index-map kernels of
// core/kernels/pad.h and records their adjoint.
#include "autograd/ops_pad.h"

#include <fmt/ranges.h>

#include <algorithm>

#include "autograd/linear_op.h"
#include "autograd/node.h"
#include "autograd/ops_shape.h"
#include "core/factory.h"

namespace convgrad {

namespace {

std::string pads_str(const std::vector<int64_t>& pad) { return fmt::format("({})", fmt::join(pad, ", ")); }

// The shapes non-constant modes accept: k padded dimensions after one or two leading ones
// (circular: exactly two).
void check_non_constant_rank(const Tensor& x, const PadFuncOptions& o, size_t k) {
  const char* mode = kernels::pad_mode_name(o.mode());
  const int64_t r = x.dim();
  CONVGRAD_CHECK(o.value() == 0.0,
                 "pad: padding mode \"{}\" doesn't take a value (got {}); use PadMode::Constant to fill",
                 mode, o.value());
  CONVGRAD_CHECK(
      k >= 1 && k <= 3 && (r == static_cast<int64_t>(k) + 1 || r == static_cast<int64_t>(k) + 2),
      "pad: mode \"{}\" pads 1, 2 or 3 trailing dimensions of a 2-D to 5-D input with one or two leading "
      "dimensions ((N, C, W), (N, C, H, W), ...); got pads {} for input shape {}",
      mode, pads_str(o.pad()), shape_str(x.shape()));
  if (o.mode() == PadMode::Circular) {
    CONVGRAD_CHECK(
        r == static_cast<int64_t>(k) + 2,
        "pad: circular padding needs batch and channel dimensions: {} pads for a {}-D input, expected {}; "
        "got pads {} for input shape {}",
        2 * (r - 2), r, 2 * (r - 2), pads_str(o.pad()), shape_str(x.shape()));
    return;
  }
  // Reflect and replicate need non-empty channel and spatial dimensions (the batch may be empty).
  for (int64_t d = r - static_cast<int64_t>(k) - 1; d < r; ++d)
    CONVGRAD_CHECK(x.size(d) > 0,
                   "pad: mode \"{}\" needs non-empty dimensions besides the batch, got input shape {}", mode,
                   shape_str(x.shape()));
}

// One padded axis: PyTorch's per-mode size rules; returns the padded size.
int64_t padded_size(const Tensor& x, const PadFuncOptions& o, int64_t dim, int64_t before, int64_t after) {
  const int64_t size = x.size(dim);
  int64_t out = 0;
  CONVGRAD_CHECK(!__builtin_add_overflow(size, before, &out) && !__builtin_add_overflow(out, after, &out),
                 "pad: pads [{}, {}] of dimension {} (size {}) overflow int64 (input shape {})", before,
                 after, dim, size, shape_str(x.shape()));
  CONVGRAD_CHECK(
      out >= 0,
      "pad: pads [{}, {}] of dimension {} (size {}) of input shape {} give a negative size {}; crop less",
      before, after, dim, size, shape_str(x.shape()), out);
  if (o.mode() == PadMode::Reflect)
    CONVGRAD_CHECK(
        before < size && after < size,
        "pad: reflect pads must be smaller than the input dimension, got [{}, {}] for dimension {} "
        "of size {} (input shape {}); use replicate or pad in steps",
        before, after, dim, size, shape_str(x.shape()));
  if (o.mode() == PadMode::Circular) {
    // PyTorch wraps what is left after cropping, and at most once. In 128 bits: -before of
    // INT64_MIN must not overflow.
    using Wide = __int128;
    const Wide kept = Wide{size} - std::max<Wide>(-Wide{before}, 0) - std::max<Wide>(-Wide{after}, 0);
    CONVGRAD_CHECK(
        before <= kept && after <= kept,
        "pad: circular pads [{}, {}] of dimension {} (size {}, {} left after cropping; input shape {}) "
        "would wrap around more than once; each pad may be at most the cropped size",
        before, after, dim, size, static_cast<int64_t>(std::max<Wide>(kept, INT64_MIN)),
        shape_str(x.shape()));
  }
  return out;
}

}  // namespace

Tensor pad(const Tensor& x, const PadFuncOptions& options) {
  const std::vector<int64_t>& p = options.pad();
  // Constant mode is the layout op of autograd/ops_shape.h (any dtype, crops with negative pads).
  if (options.mode() == PadMode::Constant) return pad(x, p, static_cast<float>(options.value()));
  CONVGRAD_CHECK(x.defined(), "pad: input is an undefined tensor");
  CONVGRAD_CHECK(x.dtype() == DType::Float32, "pad: mode \"{}\" needs a float32 input, got {} of shape {}",
                 kernels::pad_mode_name(options.mode()), dtype_name(x.dtype()), shape_str(x.shape()));
  CONVGRAD_CHECK(p.size() % 2 == 0,
                 "pad: the pad list {} has odd length {}; give (before, after) pairs, last dimension first",
                 pads_str(p), p.size());
  const size_t k = p.size() / 2;
  check_non_constant_rank(x, options, k);
  // Sizes first (validated, overflow-checked), then the output, then the index maps: a size too
  // large to allocate fails as an Error before any map is built.
  Shape out_shape = x.shape();
  for (size_t j = 0; j < k; ++j) {
    // p[2j], p[2j + 1] pad the j-th dimension from the end.
    const int64_t dim = x.dim() - 1 - static_cast<int64_t>(j);
    out_shape[static_cast<size_t>(dim)] = padded_size(x, options, dim, p[2 * j], p[2 * j + 1]);
  }
  Tensor y = uninitialized(out_shape);
  if (y.numel() == 0) {
    // An empty output's gradient is zeros whatever x is: constant, so exact at every order.
    return make_result(
        y, {x}, "pad", [shape = x.shape()](const Tensor&) { return std::vector<Tensor>{zeros(shape)}; },
        DoubleBackward::Supported);
  }
  std::vector<kernels::PadMap> maps(k);
  for (size_t j = 0; j < k; ++j) {
    const int64_t dim = x.dim() - 1 - static_cast<int64_t>(j);
    maps[k - 1 - j] = kernels::pad_axis_map(options.mode(), x.size(dim), p[2 * j], p[2 * j + 1]);
  }
  kernels::pad_forward(x, maps, 0.f, y);
  // Reflect, replicate and circular padding are index maps: linear, recorded with their adjoint so they
  // differentiate to any order.
  auto pair = std::make_shared<const detail::LinearPair>(detail::LinearPair{
      [maps, out_shape](const Tensor& t) {
        Tensor r = uninitialized(out_shape);
        kernels::pad_forward(t, maps, 0.f, r);
        return r;
      },
      [maps, shape = x.shape()](const Tensor& g) { return kernels::pad_backward(g, shape, maps); }});
  return detail::linear_result(y, x, "pad", pair);
}

Tensor pad(const Tensor& x, const std::vector<int64_t>& pads, PadMode mode, double value) {
  return pad(x, PadFuncOptions(pads).mode(mode).value(value));
}

}  // namespace convgrad
