// Layout kernels: strided copies, joining and constant padding. No autograd; any dtype.
#pragma once

#include <vector>

#include "core/tensor.h"

namespace convgrad::kernels {

/// Copies `src` element-wise into `dst` (same shape and dtype, any strides; dst must not overlap src).
/// Fast when the innermost dim is unit-stride in both (rows are memcpy'd).
void copy_into(const Tensor& dst, const Tensor& src);

/// A fresh row-major copy of `x` (always a new buffer, even when `x` is contiguous).
Tensor contiguous_copy(const Tensor& x);

/// `x` if it is contiguous, else a row-major copy.
Tensor as_contiguous(const Tensor& x);

/// Fills every element of `dst` (any strides) with `value` (converted to dst's dtype).
void fill(const Tensor& dst, double value);

/// `tensors` joined along `dim` (already normalised); shapes must match except at `dim`.
/// Throws convgrad::Error naming the mismatch; the list must not be empty.
Tensor concat(const std::vector<Tensor>& tensors, int64_t dim);

/// Constant padding like torch.nn.functional.pad: `pads` = (last_lo, last_hi, prev_lo, prev_hi, ...);
/// negative pads crop. Throws when `pads` is odd-sized, too long, or a size would become negative.
Tensor pad(const Tensor& x, const std::vector<int64_t>& pads, double value = 0.0);

/// The view of `x` restricted to [start, start + length) along `dim`, step 1 (no checks; no autograd).
Tensor narrow_view(const Tensor& x, int64_t dim, int64_t start, int64_t length);

}  // namespace convgrad::kernels
