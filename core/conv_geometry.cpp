#include "core/conv_geometry.h"

#include <fmt/format.h>

#include <algorithm>

#include "core/error.h"

namespace convgrad {

namespace {

constexpr const char* kDimName[2] = {"height", "width"};
constexpr const char* kConvFormula = "conv out = floor((in + 2p - d(k-1) - 1)/s) + 1";
constexpr const char* kTransposedFormula = "transposed out = (in-1)s - 2p + d(k-1) + output_padding + 1";

// Size arithmetic runs in 128 bits, so a huge stride, padding or dilation gives an error naming it,
// never a wrapped-around size.
using Wide = __int128;
bool fits(Wide v) { return v >= Wide(INT64_MIN) && v <= Wide(INT64_MAX); }

// Checks shared by both ops: ranks, positive stride/dilation/groups, non-negative padding, kernel taps.
// `ctx` is "input shape [..], weight shape [..]", appended to every message.
void check_common(const char* op, const Shape& input, const Shape& weight, const Pair& stride,
                  const Pair& padding, const Pair& dilation, int64_t groups, const char* weight_layout) {
  CONVGRAD_CHECK(input.size() == 3 || input.size() == 4,
                 "{}: expected a 3-D (C, H, W) or 4-D (N, C, H, W) input, got shape {} ({}-D)", op,
                 shape_str(input), input.size());
  CONVGRAD_CHECK(weight.size() == 4,
                 "{}: expected a 4-D weight {}, got weight shape {} ({}-D) for input shape {}", op,
                 weight_layout, shape_str(weight), weight.size(), shape_str(input));
  // Built only when a check fails: a passing call formats nothing.
  auto ctx = [&] {
    return fmt::format("input shape {}, weight shape {}", shape_str(input), shape_str(weight));
  };
  CONVGRAD_CHECK(stride[0] >= 1 && stride[1] >= 1,
                 "{}: stride must be >= 1 in each dimension, got stride={} ({})", op, pair_str(stride),
                 ctx());
  CONVGRAD_CHECK(dilation[0] >= 1 && dilation[1] >= 1,
                 "{}: dilation must be >= 1 in each dimension (1 = no dilation), got dilation={} ({})", op,
                 pair_str(dilation), ctx());
  CONVGRAD_CHECK(
      padding[0] >= 0 && padding[1] >= 0,
      "{}: padding must be >= 0 in each dimension, got padding={} ({}); to crop, slice the tensor instead",
      op, pair_str(padding), ctx());
  CONVGRAD_CHECK(groups >= 1, "{}: groups must be >= 1, got groups={} ({})", op, groups, ctx());
  CONVGRAD_CHECK(weight[2] >= 1 && weight[3] >= 1,
                 "{}: the kernel must have at least one tap per dimension, got kH={}, kW={} ({})", op,
                 weight[2], weight[3], ctx());
  for (int64_t s : input) CONVGRAD_CHECK(s >= 0, "{}: negative size in input shape {}", op, shape_str(input));
  for (int64_t s : weight)
    CONVGRAD_CHECK(s >= 0, "{}: negative size in weight shape {}", op, shape_str(weight));
}

void check_bias(const char* op, const Shape& bias, bool has_bias, int64_t out_channels, const Shape& weight) {
  if (!has_bias) return;
  CONVGRAD_CHECK(
      bias.size() == 1 && bias[0] == out_channels,
      "{}: bias shape {} does not match the {} output channels of weight shape {}; expected bias shape "
      "[{}]",
      op, shape_str(bias), out_channels, shape_str(weight), out_channels);
}

// The input as (N, C, H, W): a 3-D (C, H, W) input is one unbatched sample.
Shape batched(const Shape& input) {
  return input.size() == 4 ? input : Shape{1, input[0], input[1], input[2]};
}

// Throws naming the op, its parameters and shapes when a dimension's output-size formula leaves
// 64-bit integers (conv: in + 2p, d(k-1); transposed: (in-1)s + d(k-1) + output_padding).
void check_no_overflow(const char* op, bool transposed, const Shape& input, const Shape& weight,
                       const Pair& stride, const Pair& padding, const Pair& dilation) {
  Shape x = batched(input);
  for (int d = 0; d < 2; ++d) {
    const int64_t in = x[2 + d], k = weight[2 + d], st = stride[d], dil = dilation[d];
    Wide extent = Wide(dil) * (k - 1) + 1;
    // output_padding < max(stride, dilation) bounds the transposed sum.
    Wide span = transposed ? Wide(in - 1) * st + extent + std::max(st, dil) : Wide(in) + 2 * Wide(padding[d]);
    CONVGRAD_CHECK(
        fits(extent) && fits(span),
        "{}: stride={}, padding={}, dilation={} overflow 64-bit size arithmetic along {} ({} with in={}, "
        "k={}; "
        "input shape {}, weight shape {}); use smaller values",
        op, pair_str(stride), pair_str(padding), pair_str(dilation), kDimName[d],
        transposed ? kTransposedFormula : kConvFormula, in, k, shape_str(input), shape_str(weight));
  }
}

}  // namespace

std::string params_str(const ConvParams& p) {
  return fmt::format("stride {}, dilation {}, padding {}/{}, groups {}{}", pair_str(p.stride),
                     pair_str(p.dilation), pair_str(p.pad_begin), pair_str(p.pad_end), p.groups,
                     p.compute == DType::Float32 ? "" : ", compute bfloat16");
}

int64_t conv_out_size(int64_t in, int64_t k, int64_t stride, int64_t dilation, int64_t pad_begin,
                      int64_t pad_end) {
  CONVGRAD_CHECK(stride >= 1, "conv_out_size: stride must be >= 1, got {}", stride);
  Wide span = Wide(in) + pad_begin + pad_end, extent = Wide(dilation) * (k - 1) + 1;
  CONVGRAD_CHECK(
      fits(span) && fits(extent),
      "conv_out_size: {} overflows 64-bit integers for in={}, padding {}/{}, dilation={}, k={}; use "
      "smaller values",
      kConvFormula, in, pad_begin, pad_end, dilation, k);
  return static_cast<int64_t>(floor_div(span - extent, Wide(stride)) + 1);
}

int64_t conv_transpose_out_size(int64_t in, int64_t k, int64_t stride, int64_t dilation, int64_t padding,
                                int64_t output_padding) {
  Wide full = Wide(in - 1) * stride + Wide(dilation) * (k - 1) + output_padding + 1;
  Wide out = full - 2 * Wide(padding);
  CONVGRAD_CHECK(fits(full) && fits(out),
                 "conv_transpose_out_size: {} overflows 64-bit integers for in={}, stride={}, padding={}, "
                 "dilation={}, k={}, "
                 "output_padding={}; use smaller values",
                 kTransposedFormula, in, stride, padding, dilation, k, output_padding);
  return static_cast<int64_t>(out);
}

void check_conv_shapes(const Shape& src, const Shape& wei, const Shape& dst, const ConvParams& p,
                       const char* op) {
  auto all = [&] {
    return fmt::format("src {}, weights {}, dst {}, {}", shape_str(src), shape_str(wei), shape_str(dst),
                       params_str(p));
  };
  CONVGRAD_CHECK(src.size() == 4 && wei.size() == 4 && dst.size() == 4, "{}: expected 4-D tensors, got {}",
                 op, all());
  CONVGRAD_CHECK(
      p.groups >= 1 && p.stride[0] >= 1 && p.stride[1] >= 1 && p.dilation[0] >= 1 && p.dilation[1] >= 1,
      "{}: stride, dilation and groups must be >= 1, got {}", op, all());
  int64_t src_channels = 0;  // weights I/g * groups, overflow-checked: groups is the caller's number
  CONVGRAD_CHECK(
      wei[0] % p.groups == 0 && !__builtin_mul_overflow(wei[1], p.groups, &src_channels) &&
          src[1] == src_channels && dst[1] == wei[0] && dst[0] == src[0],
      "{}: channels or batch do not match: need src C = weights I/g * groups, dst O = weights O, same "
      "N; got {}",
      op, all());
  for (int d = 0; d < 2; ++d) {
    const int64_t want =
        conv_out_size(src[2 + d], wei[2 + d], p.stride[d], p.dilation[d], p.pad_begin[d], p.pad_end[d]);
    CONVGRAD_CHECK(dst[2 + d] == want && want >= 0, "{}: dst {} is {} but {} gives {}; got {}", op,
                   kDimName[d], dst[2 + d], kConvFormula, want, all());
  }
}

ConvShapes conv2d_geometry(const Shape& input, const Shape& weight, const Shape& bias, bool has_bias,
                           const Conv2dFuncOptions& a) {
  const char* op = "conv2d";
  const bool same = a.padding_kind() == PaddingMode::Same;
  check_common(op, input, weight, a.stride(), same ? Pair{0, 0} : a.padding(), a.dilation(), a.groups(),
               "(out_channels, in_channels/groups, kH, kW)");
  Shape x = batched(input);
  int64_t out_ch = weight[0], g = a.groups();
  CONVGRAD_CHECK(
      out_ch % g == 0,
      "conv2d: weight shape {} has {} output channels, which groups={} does not divide; out_channels must "
      "be a "
      "multiple of groups (input shape {})",
      shape_str(weight), out_ch, g, shape_str(input));
  if (x[1] != weight[1] * g) {
    std::string fix = x[1] % g == 0 ? fmt::format("a weight of shape [{}, {}, {}, {}]", out_ch, x[1] / g,
                                                  weight[2], weight[3])
                                    : fmt::format("groups dividing {}", x[1]);
    fail(
        "conv2d: input shape {} has {} channels, but weight shape {} with groups={} expects {} "
        "(weight.size(1) * "
        "groups = {} * {}); fix: give an input with {} channels, or {}",
        shape_str(input), x[1], shape_str(weight), g, weight[1] * g, weight[1], g, weight[1] * g, fix);
  }
  check_bias(op, bias, has_bias, out_ch, weight);
  check_no_overflow(op, false, input, weight, a.stride(), same ? Pair{0, 0} : a.padding(), a.dilation());

  ConvShapes s;
  s.params.stride = a.stride();
  s.params.dilation = a.dilation();
  s.params.groups = g;
  if (same) {
    CONVGRAD_CHECK(
        a.stride()[0] == 1 && a.stride()[1] == 1,
        "conv2d: padding='same' is not supported for strided convolutions (stride={}, input shape {}, "
        "weight shape "
        "{}); use explicit padding",
        pair_str(a.stride()), shape_str(input), shape_str(weight));
    for (int d = 0; d < 2; ++d) {
      // Like PyTorch: the total d(k-1) is split with the extra row/column at the end.
      int64_t total = a.dilation()[d] * (weight[2 + d] - 1);
      s.params.pad_begin[d] = total / 2;
      s.params.pad_end[d] = total - total / 2;
    }
  } else {
    s.params.pad_begin = a.padding();
    s.params.pad_end = a.padding();
  }
  Shape y{x[0], out_ch, 0, 0};
  for (int d = 0; d < 2; ++d) {
    int64_t in = x[2 + d], k = weight[2 + d], st = a.stride()[d], dil = a.dilation()[d];
    int64_t pb = s.params.pad_begin[d], pe = s.params.pad_end[d];
    int64_t out = conv_out_size(in, k, st, dil, pb, pe);
    if (out < 1) {
      int64_t extent = dil * (k - 1) + 1;
      fail(
          "conv2d: input shape {} with weight shape {} gives an empty output {}: {} = floor(({} + {} - "
          "{}*({}-1) - "
          "1)/{}) + 1 = {}; the dilated kernel (extent {}) is larger than the padded input ({}). Fix: "
          "padding >= {} "
          "per side, a smaller kernel or dilation, or a larger input",
          shape_str(input), shape_str(weight), kDimName[d], kConvFormula, in, pb + pe, dil, k, st, out,
          extent, in + pb + pe, (extent - in + 1) / 2);
    }
    y[2 + d] = out;
  }
  s.src = x;
  s.wei = weight;
  s.dst = y;
  return s;
}

ConvShapes conv_transpose2d_geometry(const Shape& input, const Shape& weight, const Shape& bias,
                                     bool has_bias, const ConvTranspose2dFuncOptions& a) {
  const char* op = "conv_transpose2d";
  check_common(op, input, weight, a.stride(), a.padding(), a.dilation(), a.groups(),
               "(in_channels, out_channels/groups, kH, kW)");
  Shape x = batched(input);
  int64_t g = a.groups();
  // Built only when a check fails: a passing call formats nothing.
  auto ctx = [&] {
    return fmt::format("input shape {}, weight shape {}", shape_str(input), shape_str(weight));
  };
  CONVGRAD_CHECK(
      x[1] == weight[0],
      "conv_transpose2d: input shape {} has {} channels, but weight shape {} expects {} (weight.size(0); "
      "ConvTranspose2d weights are (in_channels, out_channels/groups, kH, kW))",
      shape_str(input), x[1], shape_str(weight), weight[0]);
  CONVGRAD_CHECK(weight[0] % g == 0,
                 "conv_transpose2d: weight shape {} has {} input channels, which groups={} does not divide; "
                 "in_channels must "
                 "be a multiple of groups (input shape {})",
                 shape_str(weight), weight[0], g, shape_str(input));
  int64_t out_ch = weight[1] * g;
  check_bias(op, bias, has_bias, out_ch, weight);
  check_no_overflow(op, true, input, weight, a.stride(), a.padding(), a.dilation());

  Pair op_pad = a.output_padding();
  auto params = [&] {
    return fmt::format("stride={}, padding={}, dilation={}", pair_str(a.stride()), pair_str(a.padding()),
                       pair_str(a.dilation()));
  };
  if (a.output_size()) {
    for (int d = 0; d < 2; ++d) {
      // PyTorch's rule: output_padding = size - min, reachable sizes min .. min + stride - 1.
      int64_t lo =
          conv_transpose_out_size(x[2 + d], weight[2 + d], a.stride()[d], a.dilation()[d], a.padding()[d], 0);
      int64_t hi = lo + a.stride()[d] - 1;
      int64_t want = (*a.output_size())[d];
      CONVGRAD_CHECK(
          want >= lo && want <= hi && want >= 1,
          "conv_transpose2d: output_size={} is unreachable along {} for {} ({}): {} gives {}..{} there "
          "(output_padding 0..{}). Fix: ask for an output_size in {}..{}, or change stride/padding",
          pair_str(*a.output_size()), kDimName[d], ctx(), params(), kTransposedFormula,
          std::max<int64_t>(lo, 1), hi, a.stride()[d] - 1, std::max<int64_t>(lo, 1), hi);
      op_pad[d] = want - lo;
    }
  } else {
    for (int d = 0; d < 2; ++d) {
      CONVGRAD_CHECK(op_pad[d] >= 0,
                     "conv_transpose2d: output_padding must be >= 0, got output_padding={} ({})",
                     pair_str(op_pad), ctx());
      int64_t limit = std::max(a.stride()[d], a.dilation()[d]);
      CONVGRAD_CHECK(
          op_pad[d] < limit,
          "conv_transpose2d: output_padding={} must be smaller than stride={} or dilation={} along {} "
          "({}); it only "
          "adds rows/columns at the bottom/right. Fix: output_padding in 0..{}, or pass output_size",
          pair_str(op_pad), pair_str(a.stride()), pair_str(a.dilation()), kDimName[d], ctx(), limit - 1);
    }
  }

  ConvShapes s;
  s.params.stride = a.stride();
  s.params.dilation = a.dilation();
  s.params.groups = g;
  s.params.pad_begin = a.padding();
  Shape y{x[0], out_ch, 0, 0};
  for (int d = 0; d < 2; ++d) {
    int64_t in = x[2 + d], k = weight[2 + d], st = a.stride()[d], dil = a.dilation()[d], p = a.padding()[d];
    int64_t out = conv_transpose_out_size(in, k, st, dil, p, op_pad[d]);
    if (out < 1) {
      int64_t full = (in - 1) * st + dil * (k - 1) + op_pad[d] + 1;
      fail(
          "conv_transpose2d: {} gives an empty output {}: {} = ({}-1)*{} - 2*{} + {}*({}-1) + {} + 1 = {}; "
          "padding "
          "removes more than the full output ({}). Fix: padding <= {} along {}",
          ctx(), kDimName[d], kTransposedFormula, in, st, p, dil, k, op_pad[d], out, full, (full - 1) / 2,
          kDimName[d]);
    }
    y[2 + d] = out;
    // The conv whose gradient this is pads its input by p on top/left and p - output_padding at the end.
    s.params.pad_end[d] = p - op_pad[d];
  }
  s.src = y;
  s.wei = weight;
  s.dst = x;
  return s;
}

}  // namespace convgrad
