#include "core/shape.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "core/error.h"

namespace convgrad {

int64_t shape_numel(const Shape& shape) {
  // The product of the non-zero sizes must fit in int64 whatever the order of the dims (NumPy's rule; the
  // strides and every flattening of the shape are such products), and a zero size makes the count 0.
  int64_t n = 1;
  bool empty = false;
  for (int64_t s : shape) {
    CONVGRAD_CHECK(s >= 0, "shape {}: sizes must be non-negative", shape_str(shape));
    if (s == 0) {
      empty = true;
      continue;
    }
    if (__builtin_mul_overflow(n, s, &n))
      fail("shape {}: the product of the sizes overflows int64 (also when another size is 0)",
           shape_str(shape));
  }
  return empty ? 0 : n;
}

Shape contiguous_strides(const Shape& shape) {
  Shape strides(shape.size(), 1);
  for (int64_t i = static_cast<int64_t>(shape.size()) - 2; i >= 0; --i)
    if (__builtin_mul_overflow(strides[i + 1], std::max<int64_t>(shape[i + 1], 1), &strides[i])) {
      // Only a zero-size shape gets here (shape_numel rejects the others). No element of it is ever
      // addressed, so the strides from here outwards are 0 rather than a wrapped-around value.
      CONVGRAD_CHECK(shape_numel(shape) == 0, "shape {}: strides overflow int64", shape_str(shape));
      strides[i] = 0;
    }
  return strides;
}

std::string shape_str(const Shape& shape) { return fmt::format("[{}]", fmt::join(shape, ", ")); }

std::string pair_str(const Pair& pair) { return fmt::format("[{}, {}]", pair[0], pair[1]); }

int64_t normalize_dim(int64_t dim, int64_t ndim, const char* op) {
  int64_t lo = ndim == 0 ? -1 : -ndim, hi = ndim == 0 ? 0 : ndim - 1;
  CONVGRAD_CHECK(dim >= lo && dim <= hi,
                 "{}: dim {} is out of range for a tensor of {} dims (expected {}..{})", op, dim, ndim, lo,
                 hi);
  return dim < 0 ? dim + std::max<int64_t>(ndim, 1) : dim;
}

Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op) {
  size_t n = std::max(a.size(), b.size());
  Shape out(n);
  for (size_t i = 0; i < n; ++i) {
    int64_t sa = i < n - a.size() ? 1 : a[i - (n - a.size())];
    int64_t sb = i < n - b.size() ? 1 : b[i - (n - b.size())];
    if (sa != sb && sa != 1 && sb != 1)
      fail(
          "{}: shapes {} and {} cannot be broadcast (dim {} has sizes {} and {}; each pair must be "
          "equal or one of them 1)",
          op, shape_str(a), shape_str(b), i, sa, sb);
    out[i] = sa == 1 ? sb : sa;
  }
  return out;
}

}  // namespace convgrad
