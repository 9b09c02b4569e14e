// The arguments of the convolution ops, one struct per op: conv2d takes Conv2dFuncOptions,
// conv_transpose2d takes ConvTranspose2dFuncOptions (PyTorch's F:: names). The shape rules in
// core/conv_geometry.h read them as they are and resolve them into ConvParams, the backend's view;
// the Conv2d / ConvTranspose2d modules hold one of them next to their own arguments (layers/conv.h).
#pragma once

#include <cstdint>
#include <optional>

#include "core/arg.h"
#include "core/shape.h"

namespace convgrad {

/// The kind of conv2d's `padding`: explicit numbers, or PyTorch's padding="same" / "valid". It is
/// not the padding *mode* (what the padding holds: zeros, reflect, ...), which is the Conv2d
/// module's `padding_mode` (ConvPaddingMode).
enum class PaddingMode { Explicit, Same, Valid };

/// Arguments of conv2d, like PyTorch's F::Conv2dFuncOptions: Conv2dFuncOptions().stride(2).padding(1).
class Conv2dFuncOptions {
 public:
  /// Zero padding added on both sides of each dimension (>= 0), or PaddingMode::Same (keeps the
  /// size, stride 1 only; asymmetric when the kernel extent is even) / Valid (no padding). The
  /// last call wins, hence these setters are written by hand.
  Conv2dFuncOptions& padding(int64_t p) { return padding(Pair{p, p}); }
  Conv2dFuncOptions& padding(Pair p) { return padding_ = p, padding_kind_ = PaddingMode::Explicit, *this; }
  Conv2dFuncOptions& padding(PaddingMode m) {
    if (m == PaddingMode::Valid) padding_ = {0, 0};
    return padding_kind_ = m, *this;
  }
  /// The explicit padding (zeros under Valid; not used under Same).
  const Pair& padding() const { return padding_; }
  /// Explicit, Same or Valid: which form of padding() was given last.
  PaddingMode padding_kind() const { return padding_kind_; }
  /// Stride per dimension (>= 1).
  Conv2dFuncOptions& stride(int64_t s) { return stride(Pair{s, s}); }
  CONVGRAD_ARG(Pair, stride) = Pair{1, 1};

 public:
  /// Spacing between kernel taps (>= 1).
  Conv2dFuncOptions& dilation(int64_t d) { return dilation(Pair{d, d}); }
  CONVGRAD_ARG(Pair, dilation) = Pair{1, 1};
  /// Channel groups; in and out channels must both divide by it.
  CONVGRAD_ARG(int64_t, groups) = 1;

 private:
  Pair padding_{0, 0};
  PaddingMode padding_kind_ = PaddingMode::Explicit;
};

/// Arguments of conv_transpose2d, like PyTorch's F::ConvTranspose2dFuncOptions.
class ConvTranspose2dFuncOptions {
 public:
  /// Stride per dimension (>= 1).
  ConvTranspose2dFuncOptions& stride(int64_t s) { return stride(Pair{s, s}); }
  CONVGRAD_ARG(Pair, stride) = Pair{1, 1};

 public:
  /// Rows/columns removed from each side of the full output (>= 0).
  ConvTranspose2dFuncOptions& padding(int64_t p) { return padding(Pair{p, p}); }
  CONVGRAD_ARG(Pair, padding) = Pair{0, 0};

 public:
  /// Extra rows/columns added at the bottom/right (< stride or < dilation); only changes the shape.
  ConvTranspose2dFuncOptions& output_padding(int64_t p) { return output_padding(Pair{p, p}); }
  CONVGRAD_ARG(Pair, output_padding) = Pair{0, 0};

 public:
  /// Spacing between kernel taps (>= 1).
  ConvTranspose2dFuncOptions& dilation(int64_t d) { return dilation(Pair{d, d}); }
  CONVGRAD_ARG(Pair, dilation) = Pair{1, 1};
  /// Channel groups.
  CONVGRAD_ARG(int64_t, groups) = 1;

 public:
  /// Target output (H, W); output_padding is derived from it (error when unreachable).
  ConvTranspose2dFuncOptions& output_size(Pair hw) { return output_size(std::optional<Pair>(hw)); }
  CONVGRAD_ARG(std::optional<Pair>, output_size);
};

}  // namespace convgrad
