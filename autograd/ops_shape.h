// Differentiable views and layout ops: reshape, permute, slicing, joining, padding.
#pragma once

#include <vector>

#include "core/tensor.h"

namespace convgrad {

/// Same elements in a new shape (one size may be -1); a view when `x` is contiguous.
Tensor reshape(const Tensor& x, const Shape& shape);
/// Alias of reshape, as in PyTorch.
Tensor view(const Tensor& x, const Shape& shape);
/// Dims reordered (a view).
Tensor permute(const Tensor& x, const std::vector<int64_t>& dims);
/// Two dims swapped (a view).
Tensor transpose(const Tensor& x, int64_t dim0, int64_t dim1);
/// A row-major copy if `x` is not contiguous, else `x` itself.
Tensor contiguous(const Tensor& x);
/// `x` itself when its strides are already dense in `format`, else a copy stored in `format`
/// (like x.contiguous(memory_format=...)); the gradient flows through unchanged. Preserve keeps
/// x.suggest_memory_format(). ChannelsLast needs a 4-D tensor (core/memory_format.h).
Tensor contiguous(const Tensor& x, MemoryFormat format);
/// Dims start..end merged into one.
Tensor flatten(const Tensor& x, int64_t start_dim = 0, int64_t end_dim = -1);
/// A size-1 dim inserted at `dim`.
Tensor unsqueeze(const Tensor& x, int64_t dim);
/// The size-1 dim at `dim` removed.
Tensor squeeze(const Tensor& x, int64_t dim);
/// Elements start..end (exclusive, negatives allowed, clamped like Python) step `step` along `dim` (a view).
Tensor slice(const Tensor& x, int64_t dim, int64_t start, int64_t end, int64_t step = 1);
/// Index `index` of `dim`, removing the dim (a view).
Tensor select(const Tensor& x, int64_t dim, int64_t index);
/// `x` broadcast to `shape` (a view with stride 0 on expanded dims).
Tensor expand(const Tensor& x, const Shape& shape);
/// Tensors joined along an existing dim.
Tensor concat(const std::vector<Tensor>& tensors, int64_t dim);
/// Tensors joined along a new dim.
Tensor stack(const std::vector<Tensor>& tensors, int64_t dim);
/// Constant padding like torch.nn.functional.pad: `pads` = (last_lo, last_hi, prev_lo, prev_hi, ...);
/// negative pads crop.
Tensor pad(const Tensor& x, const std::vector<int64_t>& pads, float value = 0.f);

}  // namespace convgrad
