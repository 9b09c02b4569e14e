// Internal helpers shared by the reduction kernel files (not part of the public API).
#pragma once

#include "core/tensor.h"

namespace convgrad::kernels::detail {

/// A contiguous tensor seen as (outer, n, inner) around one dim.
struct DimLayout {
  int64_t outer = 1;  ///< product of the sizes before the dim
  int64_t n = 1;      ///< size of the dim
  int64_t inner = 1;  ///< product of the sizes after the dim
};

/// The (outer, n, inner) split of `shape` at normalised `dim`.
DimLayout dim_layout(const Shape& shape, int64_t dim);

/// `x` checked to be float32 (naming `op`), made contiguous, and a 0-d tensor seen as shape [1].
Tensor float_input(const Tensor& x, const char* op);

}  // namespace convgrad::kernels::detail
