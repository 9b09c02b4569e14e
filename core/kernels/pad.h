// Raw padding kernels (no autograd): constant, reflect, replicate and circular padding of the last
// k dimensions of a tensor, and the adjoint that sums gradients back onto the input.
#pragma once

#include <cstdint>
#include <vector>

#include "core/tensor.h"

namespace convgrad::kernels {

/// How padded positions get their value (PyTorch's F.pad modes).
enum class PadMode { Constant, Reflect, Replicate, Circular };

/// The mode's name as PyTorch spells it ("constant", "reflect", ...).
const char* pad_mode_name(PadMode mode);

/// One padded axis: for every output index, the input index it reads, or -1 for the constant value.
using PadMap = std::vector<int64_t>;

/// The index map of one axis of input `size` with `before` / `after` elements added (negative
/// values crop). Reflect and replicate refer to the uncropped input's edges; circular wraps the
/// cropped input, as PyTorch does. The caller has validated the sizes.
PadMap pad_axis_map(PadMode mode, int64_t size, int64_t before, int64_t after);

/// Pads the trailing maps.size() dimensions of the float32 `x` (any layout) into the contiguous
/// float32 `out`, whose trailing dimension d has maps[d].size() elements and reads x through
/// maps[d]; -1 entries take `value`. Every element of `out` is written.
void pad_forward(const Tensor& x, const std::vector<PadMap>& maps, float value, Tensor& out);

/// The adjoint of pad_forward: sums every output gradient into the input element it was read
/// from (constant positions contribute nothing). `input_shape` is the forward's input shape.
Tensor pad_backward(const Tensor& grad_out, const Shape& input_shape, const std::vector<PadMap>& maps);

}  // namespace convgrad::kernels
