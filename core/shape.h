// Shapes, strides and the small arithmetic every op needs on them.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace convgrad {

/// A tensor's sizes (or strides), outermost dimension first.
using Shape = std::vector<int64_t>;

/// Number of elements of a shape; throws if a size is negative or the count overflows int64.
int64_t shape_numel(const Shape& shape);

/// Row-major (C order) strides of a shape, in elements.
Shape contiguous_strides(const Shape& shape);

/// "[2, 3, 4]": the form every error message uses.
std::string shape_str(const Shape& shape);

/// Maps a possibly negative dim into [0, ndim); throws naming `op` when out of range.
int64_t normalize_dim(int64_t dim, int64_t ndim, const char* op);

/// NumPy broadcasting of two shapes; throws naming `op` and both shapes when incompatible.
Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op);

}  // namespace convgrad
