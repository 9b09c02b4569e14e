// Convolution geometry: the shape rules of conv2d and conv_transpose2d, their validation and error
// messages, and the "conv view" every backend kernel works in.
//
// Both ops are described by one convolution: src (N, C, H, W) * weights (O, C/g, kh, kw) -> dst
// (N, O, OH, OW). For conv2d, src is the input and dst the output. For conv_transpose2d, src is the
// OUTPUT and dst the input: its weight (in, out/g, kh, kw) is that convolution's weight as it is.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>

#include "core/conv_options.h"
#include "core/shape.h"
#include "core/storage.h"

namespace convgrad {

/// Floor division for a positive divisor (C++ '/' truncates toward zero), for int64_t and wider types:
/// the output-size formulas and every kernel's window bounds use it.
template <class Int>
constexpr Int floor_div(Int a, Int b) {
  return a >= 0 ? a / b : -((-a + b - 1) / b);
}

/// Parameters of a convolution in the conv view. Padding may be asymmetric; pad_end may be negative
/// (a transposed convolution with output_padding > padding).
struct ConvParams {
  Pair stride{1, 1};     ///< (height, width), >= 1
  Pair dilation{1, 1};   ///< (height, width), >= 1; 1 = dense kernel
  Pair pad_begin{0, 0};  ///< (top, left)
  Pair pad_end{0, 0};    ///< (bottom, right)
  int64_t groups = 1;    ///< channel groups; C and O divide by it
  /// The precision the products are computed in. BFloat16 (autocast, autograd/autocast.h): the caller
  /// has rounded the inputs (src, weights, dst when it is read) to bfloat16 values held in float32, and
  /// a backend may convert them to bfloat16 exactly and accumulate in float32; outputs stay float32.
  DType compute = DType::Float32;

  bool operator==(const ConvParams&) const = default;
};

/// "stride [2, 2], dilation [1, 1], padding [1, 1]/[0, 0], groups 1": the form errors and logs use.
std::string params_str(const ConvParams& p);

/// The three shapes of one convolution (always 4-D) and its parameters.
struct ConvShapes {
  Shape src;  ///< (N, C, H, W)
  Shape wei;  ///< (O, C/groups, kh, kw)
  Shape dst;  ///< (N, O, OH, OW)
  ConvParams params;
};

/// Output size of a convolution along one dimension: floor((in + pb + pe - d(k-1) - 1) / s) + 1.
int64_t conv_out_size(int64_t in, int64_t k, int64_t stride, int64_t dilation, int64_t pad_begin,
                      int64_t pad_end);

/// Output size of a transposed convolution: (in - 1) s - 2p + d(k-1) + output_padding + 1.
int64_t conv_transpose_out_size(int64_t in, int64_t k, int64_t stride, int64_t dilation, int64_t padding,
                                int64_t output_padding);

/// Checks that src, weights and dst describe a consistent convolution with `p` (ranks, channels,
/// groups, dst size from the formula); throws naming `op` otherwise. Allocates and formats nothing
/// when the shapes are consistent, so every kernel call can afford it. Backends may rely on it.
void check_conv_shapes(const Shape& src, const Shape& wei, const Shape& dst, const ConvParams& p,
                       const char* op);

/// Validates conv2d's input (3-D or 4-D), weight and bias shapes (pass an empty `bias` shape with
/// has_bias false when there is none) and returns the conv view, batched (a 3-D input gets N = 1).
/// Errors name conv2d, the shapes, the formula and the fix.
ConvShapes conv2d_geometry(const Shape& input, const Shape& weight, const Shape& bias, bool has_bias,
                           const Conv2dFuncOptions& options);

/// Validates conv_transpose2d's shapes and arguments and returns the conv view (src = the output,
/// dst = the input), batched. output_size, when given, derives output_padding (error when unreachable).
ConvShapes conv_transpose2d_geometry(const Shape& input, const Shape& weight, const Shape& bias,
                                     bool has_bias, const ConvTranspose2dFuncOptions& options);

}  // namespace convgrad
