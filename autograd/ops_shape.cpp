// Views and layout ops. A view shares the input's storage through as_strided; each backward maps the
// gradient back onto the input's shape right next to the forward it inverts.
#include "autograd/ops_shape.h"

#include <algorithm>

#include "autograd/grad_mode.h"
#include "autograd/linear_op.h"
#include "autograd/node.h"
#include "autograd/ops_math.h"
#include "core/factory.h"
#include "core/kernels/elementwise.h"
#include "core/kernels/layout.h"
#include "core/kernels/reduce.h"

namespace convgrad {

namespace {

using Grads = std::vector<Tensor>;

// A view of x with new geometry, recorded as op `name` with backward `fn`.
Tensor make_view(const Tensor& x, Shape shape, Shape strides, int64_t offset, const char* name, BackwardFn fn,
                 DoubleBackward double_backward = DoubleBackward::Unsupported) {
  return make_result(as_strided(x, std::move(shape), std::move(strides), offset), {x}, name, std::move(fn),
                     double_backward);
}

// The shape `requested` with its -1 filled in, checked against `numel` elements of `from`.
Shape infer_shape(const Shape& from, const Shape& requested, const char* op) {
  const int64_t numel = shape_numel(from);
  int64_t infer = -1, known = 1;
  for (size_t i = 0; i < requested.size(); ++i) {
    if (requested[i] == -1) {
      CONVGRAD_CHECK(infer < 0, "{}: only one size may be -1, got shape {}", op, shape_str(requested));
      infer = static_cast<int64_t>(i);
    } else {
      CONVGRAD_CHECK(requested[i] >= 0,
                     "{}: invalid size {} in shape {} (sizes must be >= 0, or -1 to infer one)", op,
                     requested[i], shape_str(requested));
      known *= requested[i];
    }
  }
  Shape out = requested;
  if (infer >= 0) {
    CONVGRAD_CHECK(
        known != 0 && numel % known == 0,
        "{}: cannot reshape a tensor of shape {} ({} elements) into shape {}: the -1 cannot be inferred "
        "(the other sizes multiply to {})",
        op, shape_str(from), numel, shape_str(requested), known);
    out[infer] = numel / known;
    known *= out[infer];
  }
  CONVGRAD_CHECK(known == numel,
                 "{}: cannot reshape a tensor of shape {} ({} elements) into shape {} ({} elements)", op,
                 shape_str(from), numel, shape_str(requested), known);
  return out;
}

// Reshape without checks or graph: a view of contiguous data, else a copy.
Tensor reshape_data(const Tensor& x, const Shape& shape) {
  Tensor c = kernels::as_contiguous(x);
  return as_strided(c, shape, contiguous_strides(shape), c.offset());
}

// zeros(shape) with `grad` written into the region `region(zeros)` selects: slice/select backward.
template <class Region>
Tensor scatter_into_zeros(const Tensor& grad, const Shape& shape, Region region) {
  Tensor out = zeros(shape);
  kernels::copy_into(region(out), grad);
  return out;
}

// Geometry of slice: start, length, step along a dim of size n, clamped like Python.
struct SliceRange {
  int64_t start, length;
};
SliceRange clamp_slice(int64_t n, int64_t start, int64_t end, int64_t step) {
  auto clamp = [n](int64_t i) { return std::clamp<int64_t>(i < 0 ? i + n : i, 0, n); };
  int64_t s = clamp(start), e = clamp(end);
  return {s, e > s ? (e - s - 1) / step + 1 : 0};  // ceil((e - s) / step) without overflowing near INT64_MAX
}

Tensor slice_view(const Tensor& x, int64_t d, SliceRange r, int64_t step) {
  Shape shape = x.shape(), strides = x.strides();
  shape[d] = r.length;
  // One element or none never steps: its stride is kept, as stride * step may not fit in int64.
  if (r.length > 1) strides[d] *= step;
  return as_strided(x, shape, strides, x.offset() + r.start * x.strides()[d]);
}

Tensor select_view(const Tensor& x, int64_t d, int64_t index) {
  Shape shape = x.shape(), strides = x.strides();
  shape.erase(shape.begin() + d);
  strides.erase(strides.begin() + d);
  return as_strided(x, shape, strides, x.offset() + index * x.strides()[d]);
}

}  // namespace

Tensor reshape(const Tensor& x, const Shape& shape) {
  Shape target = infer_shape(x.shape(), shape, "reshape");
  Shape in_shape = x.shape();
  Tensor out = x.is_contiguous() ? as_strided(x, target, contiguous_strides(target), x.offset())
                                 : reshape_data(x, target);
  return make_result(
      out, {x}, "reshape", [in_shape](const Tensor& g) { return Grads{reshape(g, in_shape)}; },
      DoubleBackward::Supported);
}

Tensor view(const Tensor& x, const Shape& shape) { return reshape(x, shape); }

Tensor permute(const Tensor& x, const std::vector<int64_t>& dims) {
  const int64_t nd = x.dim();
  CONVGRAD_CHECK(static_cast<int64_t>(dims.size()) == nd,
                 "permute: got {} dims {} for a tensor of shape {} ({} dims)", dims.size(), shape_str(dims),
                 shape_str(x.shape()), nd);
  std::vector<int64_t> perm(dims.size()), inverse(dims.size(), -1);
  Shape shape(nd), strides(nd);
  for (int64_t i = 0; i < nd; ++i) {
    perm[i] = normalize_dim(dims[i], nd, "permute");
    CONVGRAD_CHECK(inverse[perm[i]] < 0,
                   "permute: dim {} appears more than once in {}; each dim must appear once", perm[i],
                   shape_str(dims));
    inverse[perm[i]] = i;
    shape[i] = x.shape()[perm[i]];
    strides[i] = x.strides()[perm[i]];
  }
  return make_view(
      x, shape, strides, x.offset(), "permute",
      [inverse](const Tensor& g) { return Grads{contiguous(permute(g, inverse))}; },
      DoubleBackward::Supported);
}

Tensor transpose(const Tensor& x, int64_t dim0, int64_t dim1) {
  const int64_t nd = x.dim();
  int64_t d0 = normalize_dim(dim0, nd, "transpose"), d1 = normalize_dim(dim1, nd, "transpose");
  Shape shape = x.shape(), strides = x.strides();
  if (nd > 0) {
    std::swap(shape[d0], shape[d1]);
    std::swap(strides[d0], strides[d1]);
  }
  return make_view(
      x, shape, strides, x.offset(), "transpose",
      [d0, d1](const Tensor& g) { return Grads{contiguous(transpose(g, d0, d1))}; },
      DoubleBackward::Supported);
}

Tensor contiguous(const Tensor& x) {
  if (x.is_contiguous()) return x;
  return make_result(
      kernels::contiguous_copy(x), {x}, "contiguous", [](const Tensor& g) { return Grads{g}; },
      DoubleBackward::Supported);
}

Tensor contiguous(const Tensor& x, MemoryFormat format) {
  if (format == MemoryFormat::Preserve) format = x.suggest_memory_format();
  if (x.is_contiguous(format)) return x;
  return make_result(
      clone_data(x, format), {x}, "contiguous", [](const Tensor& g) { return Grads{g}; },
      DoubleBackward::Supported);
}

Tensor flatten(const Tensor& x, int64_t start_dim, int64_t end_dim) {
  if (x.dim() == 0) return reshape(x, {1});
  int64_t s = normalize_dim(start_dim, x.dim(), "flatten"), e = normalize_dim(end_dim, x.dim(), "flatten");
  CONVGRAD_CHECK(s <= e, "flatten: start_dim {} comes after end_dim {} (input shape {})", s, e,
                 shape_str(x.shape()));
  Shape shape(x.shape().begin(), x.shape().begin() + s);
  int64_t merged = 1;
  for (int64_t d = s; d <= e; ++d) merged *= x.shape()[d];
  shape.push_back(merged);
  shape.insert(shape.end(), x.shape().begin() + e + 1, x.shape().end());
  return reshape(x, shape);
}

Tensor unsqueeze(const Tensor& x, int64_t dim) {
  int64_t d = normalize_dim(dim, x.dim() + 1, "unsqueeze");
  Shape shape = x.shape(), strides = x.strides();
  int64_t stride = d < x.dim() ? x.shape()[d] * x.strides()[d] : 1;
  shape.insert(shape.begin() + d, 1);
  strides.insert(strides.begin() + d, stride);
  Shape in_shape = x.shape();
  return make_view(
      x, shape, strides, x.offset(), "unsqueeze",
      [in_shape](const Tensor& g) { return Grads{reshape(g, in_shape)}; }, DoubleBackward::Supported);
}

Tensor squeeze(const Tensor& x, int64_t dim) {
  int64_t d = normalize_dim(dim, x.dim(), "squeeze");
  Shape shape = x.shape(), strides = x.strides();
  // Like PyTorch, a dim whose size is not 1 is left alone (the result is still a new view).
  if (x.dim() > 0 && shape[d] == 1) {
    shape.erase(shape.begin() + d);
    strides.erase(strides.begin() + d);
  }
  Shape in_shape = x.shape();
  return make_view(
      x, shape, strides, x.offset(), "squeeze",
      [in_shape](const Tensor& g) { return Grads{reshape(g, in_shape)}; }, DoubleBackward::Supported);
}

Tensor slice(const Tensor& x, int64_t dim, int64_t start, int64_t end, int64_t step) {
  CONVGRAD_CHECK(x.dim() > 0, "slice: cannot slice a 0-d tensor (shape [])");
  int64_t d = normalize_dim(dim, x.dim(), "slice");
  CONVGRAD_CHECK(step > 0, "slice: step must be positive, got {} (dim {} of shape {})", step, d,
                 shape_str(x.shape()));
  SliceRange r = clamp_slice(x.shape()[d], start, end, step);
  Shape in_shape = x.shape();
  // A view, linear in x: recorded with its adjoint (writing into zeros), so it differentiates to any order.
  auto region = [d, r, step](const Tensor& z) { return slice_view(z, d, r, step); };
  auto pair = std::make_shared<const detail::LinearPair>(detail::LinearPair{
      [region](const Tensor& t) { return kernels::contiguous_copy(region(t)); },
      [region, in_shape](const Tensor& g) { return scatter_into_zeros(g, in_shape, region); }});
  return detail::linear_result(region(x), x, "slice", pair);
}

Tensor select(const Tensor& x, int64_t dim, int64_t index) {
  CONVGRAD_CHECK(x.dim() > 0, "select: cannot index a 0-d tensor (shape [])");
  int64_t d = normalize_dim(dim, x.dim(), "select");
  int64_t n = x.shape()[d];
  CONVGRAD_CHECK(index >= -n && index < n,
                 "select: index {} is out of range for dim {} of size {} (shape {})", index, d, n,
                 shape_str(x.shape()));
  int64_t i = index < 0 ? index + n : index;
  Shape in_shape = x.shape();
  auto region = [d, i](const Tensor& z) { return select_view(z, d, i); };
  auto pair = std::make_shared<const detail::LinearPair>(detail::LinearPair{
      [region](const Tensor& t) { return kernels::contiguous_copy(region(t)); },
      [region, in_shape](const Tensor& g) { return scatter_into_zeros(g, in_shape, region); }});
  return detail::linear_result(region(x), x, "select", pair);
}

Tensor expand(const Tensor& x, const Shape& shape) {
  const int64_t nd = x.dim(), n = static_cast<int64_t>(shape.size());
  CONVGRAD_CHECK(n >= nd, "expand: the target shape {} has fewer dims than the input shape {}",
                 shape_str(shape), shape_str(x.shape()));
  Shape out_shape(n), strides(n);
  for (int64_t i = 0; i < n; ++i) {
    int64_t j = i - (n - nd), want = shape[i];
    if (j < 0) {
      CONVGRAD_CHECK(
          want >= 0,
          "expand: size {} for new leading dim {} is invalid (target {}); -1 only keeps an existing "
          "dim",
          want, i, shape_str(shape));
      out_shape[i] = want;
      strides[i] = 0;
      continue;
    }
    int64_t have = x.shape()[j];
    if (want == -1 || want == have) {
      out_shape[i] = have;
      strides[i] = x.strides()[j];
    } else {
      CONVGRAD_CHECK(
          have == 1,
          "expand: cannot expand dim {} of size {} to size {} (input shape {}, target {}); only size-1 dims "
          "can be expanded",
          j, have, want, shape_str(x.shape()), shape_str(shape));
      CONVGRAD_CHECK(want >= 0, "expand: invalid size {} in target shape {}", want, shape_str(shape));
      out_shape[i] = want;
      strides[i] = 0;
    }
  }
  // A view allocates nothing, but its element count must still fit in int64 (numel() is used everywhere).
  try {
    shape_numel(out_shape);
  } catch (const Error& e) {
    fail("expand: {} (input shape {})", e.what(), shape_str(x.shape()));
  }
  Shape in_shape = x.shape();
  return make_view(
      x, out_shape, strides, x.offset(), "expand",
      [in_shape](const Tensor& g) { return Grads{sum_to(g, in_shape)}; }, DoubleBackward::Supported);
}

Tensor concat(const std::vector<Tensor>& tensors, int64_t dim) {
  CONVGRAD_CHECK(!tensors.empty(), "concat: expected at least one tensor, got an empty list");
  CONVGRAD_CHECK(tensors[0].dim() > 0,
                 "concat: zero-dimensional tensors cannot be joined; unsqueeze them or use stack");
  int64_t d = normalize_dim(dim, tensors[0].dim(), "concat");
  Tensor out = kernels::concat(tensors, d);
  std::vector<int64_t> sizes;
  for (const Tensor& t : tensors) sizes.push_back(t.shape()[d]);
  return make_result(
      out, tensors, "concat",
      [sizes, d](const Tensor& g) {
        Grads grads;
        int64_t at = 0;
        for (int64_t n : sizes) {
          // Under create_graph each part is the differentiable slice.
          grads.push_back(GradMode::is_enabled()
                              ? contiguous(slice(g, d, at, at + n))
                              : kernels::contiguous_copy(kernels::narrow_view(g, d, at, n)));
          at += n;
        }
        return grads;
      },
      DoubleBackward::Supported);
}

Tensor stack(const std::vector<Tensor>& tensors, int64_t dim) {
  CONVGRAD_CHECK(!tensors.empty(), "stack: expected at least one tensor, got an empty list");
  const Shape& first = tensors[0].shape();
  int64_t d = normalize_dim(dim, static_cast<int64_t>(first.size()) + 1, "stack");
  std::vector<Tensor> parts;
  for (size_t i = 0; i < tensors.size(); ++i) {
    CONVGRAD_CHECK(tensors[i].shape() == first,
                   "stack: tensor {} has shape {}, tensor 0 has shape {}; stack needs equal "
                   "shapes",
                   i, shape_str(tensors[i].shape()), shape_str(first));
    parts.push_back(unsqueeze(tensors[i], d));
  }
  return concat(parts, d);
}

Tensor pad(const Tensor& x, const std::vector<int64_t>& pads, float value) {
  Tensor out = kernels::pad(x, pads, value);
  std::vector<int64_t> crop(pads.size());
  for (size_t i = 0; i < pads.size(); ++i) crop[i] = -pads[i];
  // Linear in x up to the fill (which has no gradient): recorded with its adjoint, the crop, so it
  // differentiates to any order.
  auto pair = std::make_shared<const detail::LinearPair>(
      detail::LinearPair{[pads](const Tensor& t) { return kernels::pad(t, pads, 0.f); },
                         [crop](const Tensor& g) { return kernels::pad(g, crop); }});
  return detail::linear_result(out, x, "pad", pair);
}

}  // namespace convgrad
