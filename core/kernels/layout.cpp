#include "core/kernels/layout.h"

#include <algorithm>
#include <cstring>

#include "core/factory.h"
#include "core/threading.h"

namespace convgrad::kernels {

namespace {

// A copy problem reduced to its essentials: sizes plus dst/src strides, size-1 dims dropped and
// adjacent dims merged wherever both tensors lay them out back to back.
struct CopyPlan {
  Shape sizes, dst_strides, src_strides;
};

CopyPlan plan_copy(const Shape& shape, const Shape& dst_strides, const Shape& src_strides) {
  CopyPlan p;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] == 1) continue;
    if (!p.sizes.empty() && p.dst_strides.back() == dst_strides[i] * shape[i] &&
        p.src_strides.back() == src_strides[i] * shape[i]) {
      p.sizes.back() *= shape[i];
      p.dst_strides.back() = dst_strides[i];
      p.src_strides.back() = src_strides[i];
      continue;
    }
    p.sizes.push_back(shape[i]);
    p.dst_strides.push_back(dst_strides[i]);
    p.src_strides.push_back(src_strides[i]);
  }
  if (p.sizes.empty()) {  // a single element
    p.sizes = {1};
    p.dst_strides = {1};
    p.src_strides = {1};
  }
  return p;
}

template <class T>
void copy_typed(T* dst, const T* src, const CopyPlan& p) {
  const int64_t nd = static_cast<int64_t>(p.sizes.size());
  const int64_t inner = p.sizes.back(), ds = p.dst_strides.back(), ss = p.src_strides.back();
  int64_t rows = 1;
  for (int64_t d = 0; d + 1 < nd; ++d) rows *= p.sizes[d];
  const bool parallel = rows > 1 && rows * inner >= (int64_t{1} << 17);
#pragma omp parallel for num_threads(get_num_threads()) schedule(static) if (parallel)
  for (int64_t r = 0; r < rows; ++r) {
    // Offsets of row r from its multi-index (outer dims only).
    int64_t rem = r, doff = 0, soff = 0;
    for (int64_t d = nd - 2; d >= 0; --d) {
      int64_t i = rem % p.sizes[d];
      rem /= p.sizes[d];
      doff += i * p.dst_strides[d];
      soff += i * p.src_strides[d];
    }
    T* o = dst + doff;
    const T* s = src + soff;
    if (ds == 1 && ss == 1) {
      std::memcpy(o, s, static_cast<size_t>(inner) * sizeof(T));
    } else {
      for (int64_t j = 0; j < inner; ++j) o[j * ds] = s[j * ss];
    }
  }
}

template <class T>
void fill_typed(T* dst, const CopyPlan& p, T value) {
  const int64_t nd = static_cast<int64_t>(p.sizes.size());
  const int64_t inner = p.sizes.back(), ds = p.dst_strides.back();
  int64_t rows = 1;
  for (int64_t d = 0; d + 1 < nd; ++d) rows *= p.sizes[d];
  for (int64_t r = 0; r < rows; ++r) {
    int64_t rem = r, off = 0;
    for (int64_t d = nd - 2; d >= 0; --d) {
      off += (rem % p.sizes[d]) * p.dst_strides[d];
      rem /= p.sizes[d];
    }
    T* o = dst + off;
    for (int64_t j = 0; j < inner; ++j) o[j * ds] = value;
  }
}

}  // namespace

void copy_into(const Tensor& dst, const Tensor& src) {
  CONVGRAD_CHECK(dst.shape() == src.shape(), "copy_into: destination shape {} differs from source shape {}",
                 shape_str(dst.shape()), shape_str(src.shape()));
  CONVGRAD_CHECK(dst.dtype() == src.dtype(), "copy_into: destination is {}, source is {}",
                 dtype_name(dst.dtype()), dtype_name(src.dtype()));
  if (dst.numel() == 0) return;
  dst.bump_version("copy_into");
  CopyPlan p = plan_copy(dst.shape(), dst.strides(), src.strides());
  if (dst.dtype() == DType::Float32)
    copy_typed(dst.data<float>(), src.data<float>(), p);
  else if (dst.dtype() == DType::Int64)
    copy_typed(dst.data<int64_t>(), src.data<int64_t>(), p);
  else
    copy_typed(dst.data<BFloat16>(), src.data<BFloat16>(), p);
}

Tensor contiguous_copy(const Tensor& x) {
  note_format_copy("contiguous", x, MemoryFormat::Contiguous);
  Tensor out = empty(x.shape(), x.dtype());
  copy_into(out, x);
  return out;
}

Tensor as_contiguous(const Tensor& x) { return x.is_contiguous() ? x : contiguous_copy(x); }

void fill(const Tensor& dst, double value) {
  if (dst.numel() == 0) return;
  dst.bump_version("fill");
  CopyPlan p = plan_copy(dst.shape(), dst.strides(), dst.strides());
  if (dst.dtype() == DType::Float32)
    fill_typed(dst.data<float>(), p, static_cast<float>(value));
  else if (dst.dtype() == DType::Int64)
    fill_typed(dst.data<int64_t>(), p, static_cast<int64_t>(value));
  else
    fill_typed(dst.data<BFloat16>(), p, to_bfloat16(static_cast<float>(value)));
}

Tensor narrow_view(const Tensor& x, int64_t dim, int64_t start, int64_t length) {
  Shape shape = x.shape();
  shape[dim] = length;
  return as_strided(x, shape, x.strides(), x.offset() + start * x.strides()[dim]);
}

Tensor concat(const std::vector<Tensor>& tensors, int64_t dim) {
  CONVGRAD_CHECK(!tensors.empty(), "concat: expected at least one tensor, got an empty list");
  const Tensor& first = tensors[0];
  CONVGRAD_CHECK(first.dim() > 0,
                 "concat: zero-dimensional tensors cannot be joined; unsqueeze them or use stack");
  CONVGRAD_CHECK(dim >= 0 && dim < first.dim(), "concat: dim {} is out of range for tensors of {} dims", dim,
                 first.dim());
  int64_t total = 0;
  for (size_t i = 0; i < tensors.size(); ++i) {
    const Tensor& t = tensors[i];
    CONVGRAD_CHECK(t.dtype() == first.dtype(),
                   "concat: tensor {} is {}, tensor 0 is {}; convert them to one dtype", i,
                   dtype_name(t.dtype()), dtype_name(first.dtype()));
    bool same = t.dim() == first.dim();
    for (int64_t d = 0; same && d < t.dim(); ++d) same = d == dim || t.shape()[d] == first.shape()[d];
    CONVGRAD_CHECK(
        same,
        "concat: tensor {} has shape {}, tensor 0 has shape {}; all sizes must match except along dim {}", i,
        shape_str(t.shape()), shape_str(first.shape()), dim);
    total += t.shape()[dim];
  }
  Shape out_shape = first.shape();
  out_shape[dim] = total;
  Tensor out = empty(out_shape, first.dtype());
  int64_t at = 0;
  for (const Tensor& t : tensors) {
    int64_t n = t.shape()[dim];
    if (n > 0) copy_into(narrow_view(out, dim, at, n), t);
    at += n;
  }
  return out;
}

Tensor pad(const Tensor& x, const std::vector<int64_t>& pads, double value) {
  const int64_t nd = x.dim();
  CONVGRAD_CHECK(pads.size() % 2 == 0, "pad: pads must come in (low, high) pairs, got {} values",
                 pads.size());
  CONVGRAD_CHECK(static_cast<int64_t>(pads.size()) <= 2 * nd,
                 "pad: {} pad values cover {} dims but the input has shape {} ({} dims)", pads.size(),
                 pads.size() / 2, shape_str(x.shape()), nd);
  Shape out_shape = x.shape();
  // Per dim: where the kept input range starts in the input and in the output, and its length.
  Shape src_start(nd, 0), dst_start(nd, 0), keep = x.shape();
  for (size_t p = 0; p < pads.size() / 2; ++p) {
    int64_t d = nd - 1 - static_cast<int64_t>(p);
    int64_t lo = pads[2 * p], hi = pads[2 * p + 1];
    // Overflow-checked: a pad near 2^63 must give an error, not a wrapped-around size.
    CONVGRAD_CHECK(!__builtin_add_overflow(x.shape()[d], lo, &out_shape[d]) &&
                       !__builtin_add_overflow(out_shape[d], hi, &out_shape[d]),
                   "pad: pads [{}, {}] on dim {} of size {} overflow int64 (input shape {})", lo, hi, d,
                   x.shape()[d], shape_str(x.shape()));
    CONVGRAD_CHECK(out_shape[d] >= 0,
                   "pad: pads [{}, {}] on dim {} of size {} would give a negative size {} (input shape {})",
                   lo, hi, d, x.shape()[d], out_shape[d], shape_str(x.shape()));
    src_start[d] = std::max<int64_t>(0, -lo);
    dst_start[d] = std::max<int64_t>(0, lo);
    keep[d] = std::max<int64_t>(0, x.shape()[d] - src_start[d] - std::max<int64_t>(0, -hi));
  }
  Tensor out = full(out_shape, value, x.dtype());
  if (shape_numel(keep) == 0) return out;
  int64_t src_off = x.offset(), dst_off = 0;
  for (int64_t d = 0; d < nd; ++d) {
    src_off += src_start[d] * x.strides()[d];
    dst_off += dst_start[d] * out.strides()[d];
  }
  copy_into(as_strided(out, keep, out.strides(), dst_off), as_strided(x, keep, x.strides(), src_off));
  return out;
}

}  // namespace convgrad::kernels
