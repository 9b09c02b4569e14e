// Shapes, strides and the small arithmetic every op needs on them.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace convgrad {

/// A tensor's sizes (or strides), outermost dimension first.
using Shape = std::vector<int64_t>;

/// A (height, width) pair: kernel size, stride, padding, dilation, output size.
using Pair = std::array<int64_t, 2>;

/// Number of elements of a shape; throws if a size is negative or the count overflows int64.
int64_t shape_numel(const Shape& shape);

/// Row-major (C order) strides of a shape, in elements.
Shape contiguous_strides(const Shape& shape);

/// "[2, 3, 4]": the form every error message uses.
std::string shape_str(const Shape& shape);

/// "[1, 2]": error messages print a pair as they print a shape. (A module's repr prints PyTorch's
/// tuple form, "kernel_size=(1, 2)", as PyTorch does.)
std::string pair_str(const Pair& pair);

/// Maps a possibly negative dim into [0, ndim); throws naming `op` when out of range.
int64_t normalize_dim(int64_t dim, int64_t ndim, const char* op);

/// NumPy broadcasting of two shapes; throws naming `op` and both shapes when incompatible.
Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op);

}  // namespace convgrad
