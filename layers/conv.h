// Conv2d and ConvTranspose2d modules: options with fluent setters over the functional conv ops.
#pragma once

#include <optional>
#include <string>

#include "autograd/ops_conv.h"
#include "core/arg.h"
#include "core/random.h"
#include "layers/module.h"

namespace convgrad {

/// What Conv2d pads with, like PyTorch's padding_mode: Zeros pads inside the convolution; the other
/// modes pad explicitly with pad() (PadMode Reflect / Replicate / Circular) and convolve unpadded.
enum class ConvPaddingMode { Zeros, Reflect, Replicate, Circular };

/// PyTorch's spelling of `mode` ("zeros", "reflect", "replicate", "circular").
const char* conv_padding_mode_name(ConvPaddingMode mode);

/// Options of Conv2d: Conv2dOptions(10, 20, 5).stride(3).padding(1).bias(false). The module's own
/// arguments are CONVGRAD_ARGs; stride, padding, dilation and groups are conv2d's, kept in the one
/// Conv2dFuncOptions (func_options()) that forward() passes to conv2d.
class Conv2dOptions {
 public:
  /// in_channels -> out_channels with a kernel_size x kernel_size kernel.
  Conv2dOptions(int64_t in_channels, int64_t out_channels, int64_t kernel_size)
      : Conv2dOptions(in_channels, out_channels, Pair{kernel_size, kernel_size}) {}
  /// in_channels -> out_channels with a (kh, kw) kernel.
  Conv2dOptions(int64_t in_channels, int64_t out_channels, Pair kernel_size)
      : in_channels_(in_channels), out_channels_(out_channels), kernel_size_(kernel_size) {}

  /// Input channels.
  CONVGRAD_ARG(int64_t, in_channels);
  /// Output channels.
  CONVGRAD_ARG(int64_t, out_channels);
  /// Kernel (height, width).
  CONVGRAD_ARG(Pair, kernel_size);
  /// Whether a learned bias is added (default true).
  CONVGRAD_ARG(bool, bias) = true;
  /// What the padding holds (default Zeros), PyTorch's padding_mode; works with numeric padding
  /// and with padding(PaddingMode::Same).
  CONVGRAD_ARG(ConvPaddingMode, padding_mode) = ConvPaddingMode::Zeros;
  /// conv2d's arguments (their padding is zeros; see padding_mode). The setters below write them.
  CONVGRAD_ARG(Conv2dFuncOptions, func_options);

 public:
  /// Stride per dimension (default 1).
  Conv2dOptions& stride(int64_t s) { return func_options_.stride(s), *this; }
  Conv2dOptions& stride(Pair s) { return func_options_.stride(s), *this; }
  const Pair& stride() const { return func_options_.stride(); }
  /// Padding on both sides of each dimension (default 0), or PaddingMode::Same (keeps H and W,
  /// stride 1 only) / PaddingMode::Valid (none): PyTorch's padding="same" / "valid".
  Conv2dOptions& padding(int64_t p) { return func_options_.padding(p), *this; }
  Conv2dOptions& padding(Pair p) { return func_options_.padding(p), *this; }
  Conv2dOptions& padding(PaddingMode m) { return func_options_.padding(m), *this; }
  const Pair& padding() const { return func_options_.padding(); }
  /// Spacing between kernel taps (default 1).
  Conv2dOptions& dilation(int64_t d) { return func_options_.dilation(d), *this; }
  Conv2dOptions& dilation(Pair d) { return func_options_.dilation(d), *this; }
  const Pair& dilation() const { return func_options_.dilation(); }
  /// Channel groups; in and out channels must both divide by it (default 1).
  Conv2dOptions& groups(int64_t g) { return func_options_.groups(g), *this; }
  int64_t groups() const { return func_options_.groups(); }
};

/// Options of ConvTranspose2d: ConvTranspose2dOptions(20, 10, 5).stride(3).padding(2).output_padding(1).
/// As Conv2dOptions: the module's arguments, and conv_transpose2d's in one ConvTranspose2dFuncOptions.
class ConvTranspose2dOptions {
 public:
  /// in_channels -> out_channels with a kernel_size x kernel_size kernel.
  ConvTranspose2dOptions(int64_t in_channels, int64_t out_channels, int64_t kernel_size)
      : ConvTranspose2dOptions(in_channels, out_channels, Pair{kernel_size, kernel_size}) {}
  /// in_channels -> out_channels with a (kh, kw) kernel.
  ConvTranspose2dOptions(int64_t in_channels, int64_t out_channels, Pair kernel_size)
      : in_channels_(in_channels), out_channels_(out_channels), kernel_size_(kernel_size) {}

  /// Input channels.
  CONVGRAD_ARG(int64_t, in_channels);
  /// Output channels.
  CONVGRAD_ARG(int64_t, out_channels);
  /// Kernel (height, width).
  CONVGRAD_ARG(Pair, kernel_size);
  /// Whether a learned bias is added (default true).
  CONVGRAD_ARG(bool, bias) = true;
  /// conv_transpose2d's arguments. The setters below write them.
  CONVGRAD_ARG(ConvTranspose2dFuncOptions, func_options);

 public:
  /// Stride, i.e. the upsampling factor (default 1).
  ConvTranspose2dOptions& stride(int64_t s) { return func_options_.stride(s), *this; }
  ConvTranspose2dOptions& stride(Pair s) { return func_options_.stride(s), *this; }
  const Pair& stride() const { return func_options_.stride(); }
  /// Rows/columns cropped from each side of the full output (default 0).
  ConvTranspose2dOptions& padding(int64_t p) { return func_options_.padding(p), *this; }
  ConvTranspose2dOptions& padding(Pair p) { return func_options_.padding(p), *this; }
  const Pair& padding() const { return func_options_.padding(); }
  /// Extra rows/columns at the bottom/right to pick among the sizes a stride allows (default 0).
  ConvTranspose2dOptions& output_padding(int64_t p) { return func_options_.output_padding(p), *this; }
  ConvTranspose2dOptions& output_padding(Pair p) { return func_options_.output_padding(p), *this; }
  const Pair& output_padding() const { return func_options_.output_padding(); }
  /// Spacing between kernel taps (default 1).
  ConvTranspose2dOptions& dilation(int64_t d) { return func_options_.dilation(d), *this; }
  ConvTranspose2dOptions& dilation(Pair d) { return func_options_.dilation(d), *this; }
  const Pair& dilation() const { return func_options_.dilation(); }
  /// Channel groups (default 1).
  ConvTranspose2dOptions& groups(int64_t g) { return func_options_.groups(g), *this; }
  int64_t groups() const { return func_options_.groups(); }
  /// A fixed output (H, W) for every forward(x); output_padding is derived from it. This is how a
  /// ConvTranspose2d inside a Sequential reaches an exact size (e.g. the size of a skip connection).
  ConvTranspose2dOptions& output_size(Pair hw) { return func_options_.output_size(hw), *this; }
  const std::optional<Pair>& output_size() const { return func_options_.output_size(); }
};

/// 2-D convolution layer: weight (out, in/groups, kh, kw), bias (out). Like torch.nn.Conv2d.
class Conv2d : public Module {
 public:
  /// Parameters initialised like PyTorch (kaiming_uniform a = sqrt(5); bias U(+-1/sqrt(fan_in))).
  explicit Conv2d(const Conv2dOptions& options, Generator& gen = default_generator());
  /// Re-draws the parameters with PyTorch's default initialisation.
  void reset_parameters(Generator& gen = default_generator());
  /// x (N, in, H, W) or (in, H, W) -> (N, out, H', W'). A non-zeros padding_mode pads x with pad()
  /// first ({left, right, top, bottom} from the padding; "same" splits it like PyTorch, the extra
  /// row or column at the end) and convolves without padding.
  Tensor forward(const Tensor& x) override;
  std::string name() const override { return "Conv2d"; }
  std::string extra_repr() const override;
  /// The options this layer was built with.
  const Conv2dOptions& options() const { return options_; }

  Tensor weight;  ///< (out, in/groups, kh, kw)
  Tensor bias;    ///< (out), undefined when options.bias(false)

 private:
  Conv2dOptions options_;
};

/// 2-D transposed convolution (learned upsampling): weight (in, out/groups, kh, kw), bias (out).
/// Like torch.nn.ConvTranspose2d; the output size comes from the options, or from forward(x, size).
class ConvTranspose2d : public Module {
 public:
  /// Parameters initialised like PyTorch (fan_in from weight dim 1 * kh * kw, as PyTorch does).
  explicit ConvTranspose2d(const ConvTranspose2dOptions& options, Generator& gen = default_generator());
  /// Re-draws the parameters with PyTorch's default initialisation.
  void reset_parameters(Generator& gen = default_generator());
  /// x (N, in, H, W) -> (N, out, H', W'), using options().output_size() when set.
  Tensor forward(const Tensor& x) override;
  /// Same, but reaching exactly `output_size` (H, W) for this call (error when unreachable).
  Tensor forward(const Tensor& x, Pair output_size);
  std::string name() const override { return "ConvTranspose2d"; }
  std::string extra_repr() const override;
  /// The options this layer was built with.
  const ConvTranspose2dOptions& options() const { return options_; }

  Tensor weight;  ///< (in, out/groups, kh, kw)
  Tensor bias;    ///< (out), undefined when options.bias(false)

 private:
  ConvTranspose2dOptions options_;
};

}  // namespace convgrad
