#include "core/kernels/reduce.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/factory.h"
#include "core/kernels/elementwise.h"
#include "core/kernels/layout.h"
#include "core/kernels/reduce_detail.h"
#include "core/threading.h"

namespace convgrad::kernels {

namespace detail {

DimLayout dim_layout(const Shape& shape, int64_t dim) {
  DimLayout l;
  for (int64_t d = 0; d < static_cast<int64_t>(shape.size()); ++d) {
    if (d < dim)
      l.outer *= shape[d];
    else if (d == dim)
      l.n = shape[d];
    else
      l.inner *= shape[d];
  }
  return l;
}

Tensor float_input(const Tensor& x, const char* op) {
  CONVGRAD_CHECK(x.dtype() == DType::Float32, "{}: expected a float32 tensor, got {} (shape {})", op,
                 dtype_name(x.dtype()), shape_str(x.shape()));
  Tensor c = as_contiguous(x);
  // A 0-d tensor reduces like a 1-element vector.
  return c.dim() == 0 ? as_strided(c, {1}, {1}, c.offset()) : c;
}

}  // namespace detail

using detail::DimLayout;

std::vector<int64_t> normalize_dims(const std::vector<int64_t>& dims, int64_t ndim, const char* op) {
  std::vector<int64_t> out;
  if (dims.empty()) {
    for (int64_t d = 0; d < ndim; ++d) out.push_back(d);
    return out;
  }
  for (int64_t d : dims) out.push_back(normalize_dim(d, ndim, op));
  std::sort(out.begin(), out.end());
  for (size_t i = 1; i < out.size(); ++i)
    CONVGRAD_CHECK(out[i] != out[i - 1], "{}: dim {} appears more than once in the dims to reduce", op,
                   out[i]);
  if (ndim == 0) out.clear();  // a 0-d tensor has no dim to drop
  return out;
}

Shape reduced_shape(const Shape& shape, const std::vector<int64_t>& dims, bool keepdim) {
  Shape out;
  for (int64_t d = 0; d < static_cast<int64_t>(shape.size()); ++d) {
    bool reduced = std::binary_search(dims.begin(), dims.end(), d);
    if (!reduced)
      out.push_back(shape[d]);
    else if (keepdim)
      out.push_back(1);
  }
  return out;
}

namespace {

// Sum of n contiguous floats in float64, eight independent lanes so the loop vectorises.
double row_sum(const float* p, int64_t n) {
  double lane[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int64_t j = 0;
  for (; j + 8 <= n; j += 8)
    for (int l = 0; l < 8; ++l) lane[l] += p[j + l];
  double s = 0.0;
  for (; j < n; ++j) s += p[j];
  for (int l = 0; l < 8; ++l) s += lane[l];
  return s;
}

// Sums of a contiguous `x` over any dims, walking x once in memory order: dims are merged where both
// x and the output (stride 0 on reduced dims) allow, then each innermost run either sums into one
// accumulator (a reduced run) or adds element-wise into a row of accumulators (a kept run).
void sum_walk(const Tensor& x, const std::vector<int64_t>& dims, double* acc) {
  const int64_t nd = x.dim();
  Shape out_strides(nd, 0);
  for (int64_t d = nd - 1, s = 1; d >= 0; --d)
    if (!std::binary_search(dims.begin(), dims.end(), d)) {
      out_strides[d] = s;
      s *= x.shape()[d];
    }
  Shape sizes, xs, os;
  for (int64_t d = 0; d < nd; ++d) {
    int64_t n = x.shape()[d];
    if (n == 1) continue;
    if (!sizes.empty() && xs.back() == x.strides()[d] * n && os.back() == out_strides[d] * n) {
      sizes.back() *= n;
      xs.back() = x.strides()[d];
      os.back() = out_strides[d];
      continue;
    }
    sizes.push_back(n);
    xs.push_back(x.strides()[d]);
    os.push_back(out_strides[d]);
  }
  if (sizes.empty()) {  // one element
    acc[0] += x.data<float>()[0];
    return;
  }
  const int64_t m = static_cast<int64_t>(sizes.size()), inner = sizes.back(), ostride = os.back();
  int64_t runs = 1;
  for (int64_t d = 0; d + 1 < m; ++d) runs *= sizes[d];
  const float* px = x.data<float>();  // contiguous, so the innermost x stride is 1
  for (int64_t r = 0; r < runs; ++r) {
    int64_t rem = r, xoff = 0, ooff = 0;
    for (int64_t d = m - 2; d >= 0; --d) {
      int64_t i = rem % sizes[d];
      rem /= sizes[d];
      xoff += i * xs[d];
      ooff += i * os[d];
    }
    if (ostride == 0) {
      acc[ooff] += row_sum(px + xoff, inner);
    } else {
      double* a = acc + ooff;
      for (int64_t j = 0; j < inner; ++j) a[j] += px[xoff + j];
    }
  }
}

// Sums `x` over `dims`; with `mean`, divides by the number of summed elements.
Tensor reduce_sum(const Tensor& x_in, const std::vector<int64_t>& raw_dims, bool keepdim, bool mean,
                  const char* op) {
  CONVGRAD_CHECK(x_in.dtype() == DType::Float32, "{}: expected a float32 tensor, got {} (shape {})", op,
                 dtype_name(x_in.dtype()), shape_str(x_in.shape()));
  std::vector<int64_t> dims = normalize_dims(raw_dims, x_in.dim(), op);
  const int64_t nd = x_in.dim();
  Tensor out = empty(reduced_shape(x_in.shape(), dims, keepdim));
  int64_t len = 1;  // reduced elements per output element
  for (int64_t d : dims) len *= x_in.shape()[d];
  const int64_t rows = out.numel();
  if (rows == 0) return out;
  const double scale = mean ? 1.0 / static_cast<double>(len) : 1.0;
  float* o = out.data<float>();
  if (len == 0) {  // an empty sum is 0; an empty mean is NaN, like PyTorch
    for (int64_t r = 0; r < rows; ++r) o[r] = mean ? std::numeric_limits<float>::quiet_NaN() : 0.f;
    return out;
  }
  Tensor x = as_contiguous(x_in);
  const float* p = x.data<float>();
  const int64_t nr = static_cast<int64_t>(dims.size());
  bool trailing = true, leading = true;
  for (int64_t i = 0; i < nr; ++i) {
    trailing = trailing && dims[i] == nd - nr + i;
    leading = leading && dims[i] == i;
  }

  if (trailing) {  // rows of `len` contiguous elements, one per output element
#pragma omp parallel for num_threads(get_num_threads()) \
    schedule(static) if (rows * len >= (int64_t{1} << 16) && rows > 1)
    for (int64_t r = 0; r < rows; ++r) o[r] = static_cast<float>(row_sum(p + r * len, len) * scale);
    return out;
  }
  std::vector<double> acc(static_cast<size_t>(rows), 0.0);
  if (leading) {  // whole rows of the output's size, added element-wise
    for (int64_t r = 0; r < len; ++r) {
      const float* row = p + r * rows;
      for (int64_t c = 0; c < rows; ++c) acc[c] += row[c];
    }
  } else {
    sum_walk(x, dims, acc.data());
  }
  for (int64_t c = 0; c < rows; ++c) o[c] = static_cast<float>(acc[c] * scale);
  return out;
}

// Extremum along one dim; `better(a, b)` says whether a replaces the current best b.
template <class Better>
ValuesIndices extremum_dim(const Tensor& x, int64_t dim, bool keepdim, const char* op, Better better) {
  const int64_t orig_dim = x.dim();
  int64_t d = normalize_dim(dim, orig_dim, op);
  Tensor c = detail::float_input(x, op);
  DimLayout l = detail::dim_layout(c.shape(), d);
  CONVGRAD_CHECK(
      l.n > 0, "{}: cannot take the extremum of dim {} of size 0 (input shape {}); the dim must be non-empty",
      op, d, shape_str(x.shape()));
  Shape out_shape = orig_dim == 0 ? Shape{} : reduced_shape(x.shape(), {d}, keepdim);
  ValuesIndices r{empty(out_shape), empty(out_shape, DType::Int64)};
  const float* p = c.data<float>();
  float* v = r.values.data<float>();
  int64_t* ix = r.indices.data<int64_t>();
  for (int64_t o = 0; o < l.outer; ++o) {
    const float* base = p + o * l.n * l.inner;
    float* vo = v + o * l.inner;
    int64_t* io = ix + o * l.inner;
    for (int64_t i = 0; i < l.inner; ++i) {
      vo[i] = base[i];
      io[i] = 0;
    }
    for (int64_t j = 1; j < l.n; ++j) {
      const float* row = base + j * l.inner;
      for (int64_t i = 0; i < l.inner; ++i)
        if (better(row[i], vo[i])) {
          vo[i] = row[i];
          io[i] = j;
        }
    }
  }
  return r;
}

}  // namespace

Tensor sum(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim) {
  return reduce_sum(x, dims, keepdim, false, "sum");
}

Tensor mean(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim) {
  return reduce_sum(x, dims, keepdim, true, "mean");
}

ValuesIndices max_dim(const Tensor& x, int64_t dim, bool keepdim) {
  return extremum_dim(x, dim, keepdim, "max",
                      [](float a, float b) { return a > b || (std::isnan(a) && !std::isnan(b)); });
}

ValuesIndices min_dim(const Tensor& x, int64_t dim, bool keepdim) {
  return extremum_dim(x, dim, keepdim, "min",
                      [](float a, float b) { return a < b || (std::isnan(a) && !std::isnan(b)); });
}

Tensor scatter_along_dim(const Tensor& values, const Tensor& indices, const Shape& shape, int64_t dim) {
  Tensor out = zeros(shape);
  if (shape.empty()) {  // 0-d: the single element
    out.data<float>()[0] = values.item<float>();
    return out;
  }
  DimLayout l = detail::dim_layout(shape, dim);
  Tensor v = as_contiguous(values), ix = as_contiguous(indices);
  CONVGRAD_CHECK(v.numel() == l.outer * l.inner && ix.numel() == v.numel(),
                 "scatter_along_dim: values {} and indices {} do not match output shape {} at dim {}",
                 shape_str(values.shape()), shape_str(indices.shape()), shape_str(shape), dim);
  const float* pv = v.data<float>();
  const int64_t* pi = ix.data<int64_t>();
  float* po = out.data<float>();
  for (int64_t o = 0; o < l.outer; ++o)
    for (int64_t i = 0; i < l.inner; ++i) {
      int64_t k = o * l.inner + i;
      po[(o * l.n + pi[k]) * l.inner + i] = pv[k];
    }
  return out;
}

void channel_sum(const float* x, int64_t batch, int64_t channels, int64_t spatial, float* out) {
  // Threads only when the sum is long enough to pay for a parallel region.
#pragma omp parallel for num_threads(get_num_threads()) \
    schedule(static) if (batch * channels * spatial > kParallelThreshold)
  for (int64_t c = 0; c < channels; ++c) {
    double acc = 0.0;
    for (int64_t n = 0; n < batch; ++n) {
      const float* row = x + (n * channels + c) * spatial;
      for (int64_t i = 0; i < spatial; ++i) acc += row[i];
    }
    out[c] = static_cast<float>(acc);
  }
}

}  // namespace convgrad::kernels
