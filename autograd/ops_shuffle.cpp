// pixel_shuffle and pixel_unshuffle are permutations and each other's inverse, so each one's
// gradient is the other applied to the output gradient.
#include "autograd/ops_shuffle.h"

#include "autograd/linear_op.h"
#include "autograd/node.h"
#include "core/kernels/pixel_shuffle.h"
#include "core/operand_check.h"

namespace convgrad {

namespace {

// Bounds the scaled sizes so that side * factor cannot overflow int64.
constexpr int64_t kMaxSide = int64_t{1} << 40;

void check_input(const char* op, const Tensor& x, int64_t factor, const char* factor_name) {
  check_operand(x, op, "input");
  CONVGRAD_CHECK(x.dim() >= 3,
                 "{}: expected an input of shape (*, C, H, W) with at least 3 dims, got shape {}", op,
                 shape_str(x.shape()));
  CONVGRAD_CHECK(factor > 0, "{}: {} must be positive, got {}", op, factor_name, factor);
}

}  // namespace

Tensor pixel_shuffle(const Tensor& x, int64_t upscale_factor) {
  check_input("pixel_shuffle", x, upscale_factor, "upscale_factor");
  const int64_t r = upscale_factor, c = x.size(-3);
  // r * r is formed only once r is known to be small enough for it not to overflow.
  CONVGRAD_CHECK(
      r <= kMaxSide && c % r == 0 && (c / r) % r == 0,
      "pixel_shuffle: the channel dim (-3) of input {} has {} channels, not divisible by "
      "upscale_factor^2 (upscale_factor = {}); use a channel count that is a multiple of upscale_factor^2",
      shape_str(x.shape()), c, r);
  CONVGRAD_CHECK(x.size(-2) <= kMaxSide / r && x.size(-1) <= kMaxSide / r,
                 "pixel_shuffle: upscale_factor {} makes the output of input {} too large", r,
                 shape_str(x.shape()));
  // The two shuffles are each other's inverse and adjoint (permutations).
  auto pair = std::make_shared<const detail::LinearPair>(
      detail::LinearPair{[r](const Tensor& t) { return kernels::pixel_shuffle_forward(t, r); },
                         [r](const Tensor& g) { return kernels::pixel_unshuffle_forward(g, r); }});
  return detail::linear_result(pair->map(x), x, "pixel_shuffle", pair);
}

Tensor pixel_unshuffle(const Tensor& x, int64_t downscale_factor) {
  check_input("pixel_unshuffle", x, downscale_factor, "downscale_factor");
  const int64_t r = downscale_factor, h = x.size(-2), w = x.size(-1);
  CONVGRAD_CHECK(
      h % r == 0 && w % r == 0,
      "pixel_unshuffle: the spatial size [{}, {}] of input {} is not divisible by downscale_factor "
      "= {}; crop or pad the height and width to multiples of {}",
      h, w, shape_str(x.shape()), r, r);
  CONVGRAD_CHECK(x.size(-3) <= kMaxSide / r / r,
                 "pixel_unshuffle: downscale_factor {} makes the channel count of input {} too large", r,
                 shape_str(x.shape()));
  auto pair = std::make_shared<const detail::LinearPair>(
      detail::LinearPair{[r](const Tensor& t) { return kernels::pixel_unshuffle_forward(t, r); },
                         [r](const Tensor& g) { return kernels::pixel_shuffle_forward(g, r); }});
  return detail::linear_result(pair->map(x), x, "pixel_unshuffle", pair);
}

}  // namespace convgrad
