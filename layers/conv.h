// Conv2d and ConvTranspose2d modules: options with fluent setters over the functional conv ops.
#pragma once

#include <optional>
#include <string>

#include "autograd/ops_conv.h"
#include "core/random.h"
#include "layers/module.h"

namespace convgrad {

/// What Conv2d pads with, like PyTorch's padding_mode: Zeros pads inside the convolution; the other
/// modes pad explicitly with pad() (PadMode Reflect / Replicate / Circular) and convolve unpadded.
enum class ConvPaddingMode { Zeros, Reflect, Replicate, Circular };

/// PyTorch's spelling of `mode` ("zeros", "reflect", "replicate", "circular").
const char* conv_padding_mode_name(ConvPaddingMode mode);

/// Options of Conv2d: Conv2dOptions(10, 20, 5).stride(3).padding(1).bias(false).
class Conv2dOptions {
 public:
  /// in_channels -> out_channels with a kernel_size x kernel_size kernel.
  Conv2dOptions(int64_t in_channels, int64_t out_channels, int64_t kernel_size)
      : Conv2dOptions(in_channels, out_channels, Pair{kernel_size, kernel_size}) {}
  /// in_channels -> out_channels with a (kh, kw) kernel.
  Conv2dOptions(int64_t in_channels, int64_t out_channels, Pair kernel_size)
      : in_(in_channels), out_(out_channels), kernel_(kernel_size) {}

  /// Input channels.
  int64_t in_channels() const { return in_; }
  /// Output channels.
  int64_t out_channels() const { return out_; }
  /// Kernel (height, width).
  const Pair& kernel_size() const { return kernel_; }
  /// Stride per dimension (default 1).
  Conv2dOptions& stride(int64_t s) { func_.stride(s); return *this; }
  Conv2dOptions& stride(Pair s) { func_.stride(s); return *this; }
  const Pair& stride() const { return func_.stride(); }
  /// Zero padding on both sides of each dimension (default 0).
  Conv2dOptions& padding(int64_t p) { func_.padding(p); return *this; }
  Conv2dOptions& padding(Pair p) { func_.padding(p); return *this; }
  /// Padding by mode: PaddingMode::Same keeps H and W (stride 1 only), Valid pads nothing.
  Conv2dOptions& padding(PaddingMode m) { func_.padding(m); return *this; }
  const Pair& padding() const { return func_.padding(); }
  /// Shorthand for padding(PaddingMode::Same), PyTorch's padding="same".
  Conv2dOptions& padding_mode_same() { return padding(PaddingMode::Same); }
  /// Shorthand for padding(PaddingMode::Valid), PyTorch's padding="valid".
  Conv2dOptions& padding_mode_valid() { return padding(PaddingMode::Valid); }
  /// Spacing between kernel taps (default 1).
  Conv2dOptions& dilation(int64_t d) { func_.dilation(d); return *this; }
  Conv2dOptions& dilation(Pair d) { func_.dilation(d); return *this; }
  const Pair& dilation() const { return func_.dilation(); }
  /// Channel groups; in and out channels must both divide by it (default 1).
  Conv2dOptions& groups(int64_t g) { func_.groups(g); return *this; }
  int64_t groups() const { return func_.groups(); }
  /// Whether a learned bias is added (default true).
  Conv2dOptions& bias(bool b) { bias_ = b; return *this; }
  bool bias() const { return bias_; }
  /// What the padding holds (default Zeros); works with numeric padding and padding "same".
  Conv2dOptions& padding_mode(ConvPaddingMode m) { padding_mode_ = m; return *this; }
  ConvPaddingMode padding_mode() const { return padding_mode_; }
  /// The functional options these map to (their padding is zeros; see padding_mode).
  const Conv2dFuncOptions& func_options() const { return func_; }

 private:
  int64_t in_, out_;
  Pair kernel_;
  bool bias_ = true;
  ConvPaddingMode padding_mode_ = ConvPaddingMode::Zeros;
  Conv2dFuncOptions func_;
};

/// Options of ConvTranspose2d: ConvTranspose2dOptions(20, 10, 5).stride(3).padding(2).output_padding(1).
class ConvTranspose2dOptions {
 public:
  /// in_channels -> out_channels with a kernel_size x kernel_size kernel.
  ConvTranspose2dOptions(int64_t in_channels, int64_t out_channels, int64_t kernel_size)
      : ConvTranspose2dOptions(in_channels, out_channels, Pair{kernel_size, kernel_size}) {}
  /// in_channels -> out_channels with a (kh, kw) kernel.
  ConvTranspose2dOptions(int64_t in_channels, int64_t out_channels, Pair kernel_size)
      : in_(in_channels), out_(out_channels), kernel_(kernel_size) {}

  /// Input channels.
  int64_t in_channels() const { return in_; }
  /// Output channels.
  int64_t out_channels() const { return out_; }
  /// Kernel (height, width).
  const Pair& kernel_size() const { return kernel_; }
  /// Stride, i.e. the upsampling factor (default 1).
  ConvTranspose2dOptions& stride(int64_t s) { func_.stride(s); return *this; }
  ConvTranspose2dOptions& stride(Pair s) { func_.stride(s); return *this; }
  const Pair& stride() const { return func_.stride(); }
  /// Rows/columns cropped from each side of the full output (default 0).
  ConvTranspose2dOptions& padding(int64_t p) { func_.padding(p); return *this; }
  ConvTranspose2dOptions& padding(Pair p) { func_.padding(p); return *this; }
  const Pair& padding() const { return func_.padding(); }
  /// Extra rows/columns at the bottom/right to pick among the sizes a stride allows (default 0).
  ConvTranspose2dOptions& output_padding(int64_t p) { func_.output_padding(p); return *this; }
  ConvTranspose2dOptions& output_padding(Pair p) { func_.output_padding(p); return *this; }
  const Pair& output_padding() const { return func_.output_padding(); }
  /// Spacing between kernel taps (default 1).
  ConvTranspose2dOptions& dilation(int64_t d) { func_.dilation(d); return *this; }
  ConvTranspose2dOptions& dilation(Pair d) { func_.dilation(d); return *this; }
  const Pair& dilation() const { return func_.dilation(); }
  /// Channel groups (default 1).
  ConvTranspose2dOptions& groups(int64_t g) { func_.groups(g); return *this; }
  int64_t groups() const { return func_.groups(); }
  /// Whether a learned bias is added (default true).
  ConvTranspose2dOptions& bias(bool b) { bias_ = b; return *this; }
  bool bias() const { return bias_; }
  /// A fixed output (H, W) for every forward(x); output_padding is derived from it. This is how a
  /// ConvTranspose2d inside a Sequential reaches an exact size (e.g. the size of a skip connection).
  ConvTranspose2dOptions& output_size(Pair hw) { func_.output_size(hw); return *this; }
  const std::optional<Pair>& output_size() const { return func_.output_size(); }
  /// The functional options these map to.
  const ConvTranspose2dFuncOptions& func_options() const { return func_; }

 private:
  int64_t in_, out_;
  Pair kernel_;
  bool bias_ = true;
  ConvTranspose2dFuncOptions func_;
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
