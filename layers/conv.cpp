#include "layers/conv.h"

#include <cmath>

#include "autograd/ops_pad.h"
#include "core/factory.h"
#include "layers/init.h"

namespace convgrad {

namespace {

// A module repr prints pairs as PyTorch does: "kernel_size=(3, 3)".
std::string tuple_str(const Pair& p) { return fmt::format("({}, {})", p[0], p[1]); }

// The checks both layers share, made at construction so a bad model fails before any data flows.
template <class Options>
void check_common(const char* layer, const Options& o) {
  CONVGRAD_CHECK(o.in_channels() > 0 && o.out_channels() > 0,
                 "{}: in_channels ({}) and out_channels ({}) must be positive", layer, o.in_channels(),
                 o.out_channels());
  CONVGRAD_CHECK(o.kernel_size()[0] > 0 && o.kernel_size()[1] > 0, "{}: kernel_size {} must be positive",
                 layer, pair_str(o.kernel_size()));
  CONVGRAD_CHECK(o.stride()[0] > 0 && o.stride()[1] > 0, "{}: stride {} must be >= 1", layer,
                 pair_str(o.stride()));
  CONVGRAD_CHECK(o.dilation()[0] > 0 && o.dilation()[1] > 0, "{}: dilation {} must be >= 1", layer,
                 pair_str(o.dilation()));
  CONVGRAD_CHECK(o.padding()[0] >= 0 && o.padding()[1] >= 0, "{}: padding {} must be >= 0", layer,
                 pair_str(o.padding()));
  CONVGRAD_CHECK(o.groups() > 0 && o.in_channels() % o.groups() == 0 && o.out_channels() % o.groups() == 0,
                 "{}: groups={} must divide in_channels={} and out_channels={}", layer, o.groups(),
                 o.in_channels(), o.out_channels());
}

// PyTorch's reset_parameters for both: kaiming_uniform(a = sqrt(5)) and bias U(+-1/sqrt(fan_in)).
void default_init(const Tensor& weight, const Tensor& bias, Generator& gen) {
  init::kaiming_uniform_(weight, std::sqrt(5.0), init::FanMode::FanIn, init::Nonlinearity::LeakyReLU, gen);
  if (bias.defined()) {
    double bound = 1.0 / std::sqrt(static_cast<double>(init::calculate_fan_in_and_fan_out(weight).first));
    init::uniform_(bias, -bound, bound, gen);
  }
}

template <class Options>
std::string common_repr(const Options& o) {
  std::string s = fmt::format("{}, {}, kernel_size={}, stride={}", o.in_channels(), o.out_channels(),
                              tuple_str(o.kernel_size()), tuple_str(o.stride()));
  if (o.padding() != Pair{0, 0}) s += fmt::format(", padding={}", tuple_str(o.padding()));
  if (o.dilation() != Pair{1, 1}) s += fmt::format(", dilation={}", tuple_str(o.dilation()));
  if (o.groups() != 1) s += fmt::format(", groups={}", o.groups());
  if (!o.bias()) s += ", bias=False";
  return s;
}

// PyTorch's _reversed_padding_repeated_twice: {left, right, top, bottom} for F.pad.
std::vector<int64_t> explicit_pads(const Conv2dOptions& o) {
  const Conv2dFuncOptions& f = o.func_options();
  if (f.padding_kind() == PaddingMode::Same) {
    std::vector<int64_t> pads;
    for (int d = 1; d >= 0; --d) {
      const int64_t total = o.dilation()[d] * (o.kernel_size()[d] - 1);
      pads.push_back(total / 2);
      pads.push_back(total - total / 2);
    }
    return pads;
  }
  const Pair& p = f.padding();  // zeros for "valid"
  return {p[1], p[1], p[0], p[0]};
}

PadMode to_pad_mode(ConvPaddingMode m) {
  switch (m) {
    case ConvPaddingMode::Reflect:
      return PadMode::Reflect;
    case ConvPaddingMode::Replicate:
      return PadMode::Replicate;
    case ConvPaddingMode::Circular:
      return PadMode::Circular;
    case ConvPaddingMode::Zeros:
      break;
  }
  return PadMode::Constant;
}

}  // namespace

const char* conv_padding_mode_name(ConvPaddingMode mode) {
  switch (mode) {
    case ConvPaddingMode::Zeros:
      return "zeros";
    case ConvPaddingMode::Reflect:
      return "reflect";
    case ConvPaddingMode::Replicate:
      return "replicate";
    case ConvPaddingMode::Circular:
      return "circular";
  }
  return "?";
}

Conv2d::Conv2d(const Conv2dOptions& options, Generator& gen) : options_(options) {
  check_common("Conv2d", options);
  CONVGRAD_CHECK(
      options.func_options().padding_kind() != PaddingMode::Same || options.stride() == (Pair{1, 1}),
      "Conv2d: padding='same' needs stride 1, got stride {}; use explicit padding with strides",
      pair_str(options.stride()));
  const auto& k = options.kernel_size();
  weight = register_parameter(
      "weight", empty({options.out_channels(), options.in_channels() / options.groups(), k[0], k[1]}));
  if (options.bias()) bias = register_parameter("bias", empty({options.out_channels()}));
  reset_parameters(gen);
}

void Conv2d::reset_parameters(Generator& gen) { default_init(weight, bias, gen); }

Tensor Conv2d::forward(const Tensor& x) {
  if (options_.padding_mode() == ConvPaddingMode::Zeros)
    return conv2d(x, weight, bias, options_.func_options());
  Conv2dFuncOptions unpadded = options_.func_options();
  unpadded.padding(Pair{0, 0});
  return conv2d(pad(x, explicit_pads(options_), to_pad_mode(options_.padding_mode())), weight, bias,
                unpadded);
}

std::string Conv2d::extra_repr() const {
  std::string s = common_repr(options_);
  PaddingMode mode = options_.func_options().padding_kind();
  if (mode == PaddingMode::Same) s += ", padding=same";
  if (mode == PaddingMode::Valid) s += ", padding=valid";
  if (options_.padding_mode() != ConvPaddingMode::Zeros)
    s += fmt::format(", padding_mode={}", conv_padding_mode_name(options_.padding_mode()));
  return s;
}

ConvTranspose2d::ConvTranspose2d(const ConvTranspose2dOptions& options, Generator& gen) : options_(options) {
  check_common("ConvTranspose2d", options);
  const auto& op = options.output_padding();
  CONVGRAD_CHECK(op[0] >= 0 && op[1] >= 0 && (op[0] < options.stride()[0] || op[0] < options.dilation()[0]) &&
                     (op[1] < options.stride()[1] || op[1] < options.dilation()[1]),
                 "ConvTranspose2d: output_padding {} must be >= 0 and smaller than stride {} or dilation {}",
                 pair_str(op), pair_str(options.stride()), pair_str(options.dilation()));
  const auto& k = options.kernel_size();
  weight = register_parameter(
      "weight", empty({options.in_channels(), options.out_channels() / options.groups(), k[0], k[1]}));
  if (options.bias()) bias = register_parameter("bias", empty({options.out_channels()}));
  reset_parameters(gen);
}

void ConvTranspose2d::reset_parameters(Generator& gen) { default_init(weight, bias, gen); }

Tensor ConvTranspose2d::forward(const Tensor& x) {
  return conv_transpose2d(x, weight, bias, options_.func_options());
}

Tensor ConvTranspose2d::forward(const Tensor& x, Pair output_size) {
  ConvTranspose2dFuncOptions func = options_.func_options();
  func.output_size(output_size);
  return conv_transpose2d(x, weight, bias, func);
}

std::string ConvTranspose2d::extra_repr() const {
  std::string s = common_repr(options_);
  if (options_.output_padding() != Pair{0, 0})
    s += fmt::format(", output_padding={}", pair_str(options_.output_padding()));
  if (options_.output_size()) s += fmt::format(", output_size={}", pair_str(*options_.output_size()));
  return s;
}

}  // namespace convgrad
