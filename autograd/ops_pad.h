// Differentiable padding, exactly PyTorch's F.pad: pad(x, {left, right, top, bottom}, PadMode::Reflect).
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

#include "autograd/ops_shape.h"
#include "core/kernels/pad.h"
#include "core/tensor.h"

namespace convgrad {

/// F.pad's modes: Constant (fill with a value), Reflect (mirror without repeating the edge),
/// Replicate (repeat the edge), Circular (wrap around).
using PadMode = kernels::PadMode;

/// Arguments of pad, like PyTorch's F::PadFuncOptions: PadFuncOptions({1, 1, 2, 0}).mode(PadMode::Reflect).
class PadFuncOptions {
 public:
  /// Pads of the last dimensions, last dimension first: {left, right, top, bottom, front, back}.
  explicit PadFuncOptions(std::vector<int64_t> pad) : pad_(std::move(pad)) {}
  const std::vector<int64_t>& pad() const { return pad_; }
  /// Padding mode (default Constant).
  PadFuncOptions& mode(PadMode m) {
    mode_ = m;
    return *this;
  }
  PadMode mode() const { return mode_; }
  /// Fill value of Constant mode (default 0); the other modes take none.
  PadFuncOptions& value(double v) {
    value_ = v;
    return *this;
  }
  double value() const { return value_; }

 private:
  std::vector<int64_t> pad_;
  PadMode mode_ = PadMode::Constant;
  double value_ = 0.0;
};

/// Pads the last pad.size() / 2 dimensions of x, exactly like F.pad, with PyTorch's rules:
/// - Constant: the layout op pad(x, pads, value) of autograd/ops_shape.h: any rank and dtype;
///   negative pads crop; the output may not have a negative size.
/// - Reflect / Replicate (float32): 1, 2 or 3 padded dimensions on an input with one or two more
///   dimensions ((C, W) or (N, C, W); (C, H, W) or (N, C, H, W); (C, D, H, W) or (N, C, D, H, W));
///   the non-batch dimensions must be non-empty. Reflect pads must be smaller than the input size.
///   Negative pads crop; mirroring still refers to the uncropped edges.
/// - Circular (float32): exactly two leading dimensions ((N, C, W), (N, C, H, W), (N, C, D, H, W)); each pad
///   at most the input size left after cropping (negative pads crop first; the rest wraps once).
/// The gradient sums over every output element that read an input element.
Tensor pad(const Tensor& x, const PadFuncOptions& options);
/// Same as pad(x, PadFuncOptions(pads).mode(mode).value(value)). Without a mode, pad(x, pads, value)
/// of autograd/ops_shape.h pads with a constant.
Tensor pad(const Tensor& x, const std::vector<int64_t>& pads, PadMode mode, double value = 0.0);

}  // namespace convgrad
