// Differentiable reductions, the softmax family and matmul: the kernels of core/kernels/ plus a
// backward closure next to each forward.
#include "autograd/ops_reduce.h"

#include "autograd/autocast.h"
#include "autograd/grad_mode.h"
#include "autograd/node.h"
#include "autograd/ops_math.h"
#include "autograd/ops_shape.h"
#include "core/factory.h"
#include "core/kernels/elementwise.h"
#include "core/kernels/layout.h"
#include "core/kernels/matmul.h"
#include "core/kernels/reduce.h"

namespace convgrad {

namespace {

using Grads = std::vector<Tensor>;

// `t` (contiguous data) seen with `shape`, same element count; no graph.
Tensor view_as_shape(const Tensor& t, const Shape& shape) {
  Tensor c = kernels::as_contiguous(t);
  return as_strided(c, shape, contiguous_strides(shape), c.offset());
}

// The gradient of a sum over `dims`: `g` broadcast back to `in_shape` and multiplied by `scale`.
Tensor spread_grad(const Tensor& g, const Shape& in_shape, const std::vector<int64_t>& dims, double scale) {
  Shape keep = kernels::reduced_shape(in_shape, dims, true);
  Tensor gk = view_as_shape(g, keep);
  Shape strides = gk.strides();
  for (size_t d = 0; d < keep.size(); ++d)
    if (keep[d] == 1) strides[d] = 0;
  Tensor out = kernels::contiguous_copy(as_strided(gk, in_shape, strides, gk.offset()));
  if (scale != 1.0) {
    float* p = out.data<float>();
    for (int64_t i = 0, n = out.numel(); i < n; ++i) p[i] = static_cast<float>(p[i] * scale);
  }
  return out;
}

Tensor sum_or_mean(const Tensor& x, const std::vector<int64_t>& raw_dims, bool keepdim, bool is_mean) {
  const char* op = is_mean ? "mean" : "sum";
  std::vector<int64_t> dims = kernels::normalize_dims(raw_dims, x.dim(), op);
  Tensor out = is_mean ? kernels::mean(x, raw_dims, keepdim) : kernels::sum(x, raw_dims, keepdim);
  int64_t count = 1;
  for (int64_t d : dims) count *= x.shape()[d];
  double scale = is_mean ? 1.0 / static_cast<double>(count) : 1.0;
  Shape in_shape = x.shape();
  return make_result(
      out, {x}, op,
      [in_shape, dims, scale](const Tensor& g) {
        if (!GradMode::is_enabled()) return Grads{spread_grad(g, in_shape, dims, scale)};
        // create_graph: the same broadcast as differentiable reshape and expand.
        Tensor spread = expand(reshape(g, kernels::reduced_shape(in_shape, dims, true)), in_shape);
        return Grads{scale == 1.0 ? contiguous(spread) : spread * static_cast<float>(scale)};
      },
      DoubleBackward::Supported);
}

// max/min along a dim; the gradient goes to the first extremum, like PyTorch's max(dim).
Tensor extremum_dim(const Tensor& x, int64_t dim, bool keepdim, bool is_max) {
  const char* op = is_max ? "max" : "min";
  int64_t d = normalize_dim(dim, x.dim(), op);
  kernels::ValuesIndices r = is_max ? kernels::max_dim(x, d, keepdim) : kernels::min_dim(x, d, keepdim);
  Shape in_shape = x.shape();
  Shape keep = x.dim() == 0 ? Shape{} : kernels::reduced_shape(in_shape, {d}, true);
  Tensor idx = view_as_shape(r.indices, keep);
  return make_result(
      r.values, {x}, op,
      [in_shape, keep, idx, d](const Tensor& g) {
        if (!GradMode::is_enabled())
          return Grads{kernels::scatter_along_dim(view_as_shape(g, keep), idx, in_shape, d)};
        // create_graph: the rule is linear in g, g spread back and masked by the winners' one-hot.
        Tensor one_hot = kernels::scatter_along_dim(ones(keep), idx, in_shape, d);
        return Grads{mul(expand(reshape(g, keep), in_shape), one_hot)};
      },
      DoubleBackward::Supported);
}

// max/min of all elements: the dim version on the flattened tensor, reshaped back.
Tensor extremum_all(const Tensor& x, bool is_max) {
  const char* op = is_max ? "max" : "min";
  CONVGRAD_CHECK(x.numel() > 0,
                 "{}: expected a non-empty tensor, got shape {}; use the dim overload or check the input", op,
                 shape_str(x.shape()));
  Tensor flat = view_as_shape(x, {x.numel()});
  kernels::ValuesIndices r = is_max ? kernels::max_dim(flat, 0, false) : kernels::min_dim(flat, 0, false);
  Shape in_shape = x.shape();
  int64_t index = r.indices.item<int64_t>();
  return make_result(
      r.values, {x}, op,
      [in_shape, index](const Tensor& g) {
        Tensor out = zeros(in_shape);
        if (!GradMode::is_enabled()) {
          out.data<float>()[index] = g.item<float>();
          return Grads{out};
        }
        out.data<float>()[index] = 1.f;  // create_graph: g times the one-hot of the winner
        return Grads{mul(out, g)};
      },
      DoubleBackward::Supported);
}

}  // namespace

Tensor sum(const Tensor& x) { return sum_or_mean(x, {}, false, false); }
Tensor sum(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim) {
  return sum_or_mean(x, dims, keepdim, false);
}
Tensor mean(const Tensor& x) { return sum_or_mean(x, {}, false, true); }
Tensor mean(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim) {
  return sum_or_mean(x, dims, keepdim, true);
}

Tensor max(const Tensor& x) { return extremum_all(x, true); }
Tensor max(const Tensor& x, int64_t dim, bool keepdim) { return extremum_dim(x, dim, keepdim, true); }
Tensor min(const Tensor& x) { return extremum_all(x, false); }
Tensor min(const Tensor& x, int64_t dim, bool keepdim) { return extremum_dim(x, dim, keepdim, false); }

Tensor argmax(const Tensor& x, int64_t dim, bool keepdim) {
  return kernels::max_dim(x, dim, keepdim).indices;
}
Tensor argmin(const Tensor& x, int64_t dim, bool keepdim) {
  return kernels::min_dim(x, dim, keepdim).indices;
}

Tensor logsumexp(const Tensor& x, int64_t dim, bool keepdim) {
  int64_t d = normalize_dim(dim, x.dim(), "logsumexp");
  Tensor lse = kernels::logsumexp(x, d, true);
  Shape out_shape = x.dim() == 0 ? Shape{} : kernels::reduced_shape(x.shape(), {d}, keepdim);
  Tensor out = keepdim ? lse : view_as_shape(lse, out_shape);
  SavedTensor xs = save(x), ls = save_output(lse);
  return make_result(
      out, {x}, "logsumexp",
      [xs, ls, d](const Tensor& g) {
        const Tensor &x = xs.unpack(), &l = ls.unpack();
        if (GradMode::is_enabled()) return Grads{reshape(g, l.shape()) * softmax(x, d)};  // create_graph
        return Grads{kernels::logsumexp_backward(view_as_shape(g, l.shape()), x, l, d)};
      },
      DoubleBackward::Supported);
}

Tensor softmax(const Tensor& x, int64_t dim) {
  int64_t d = normalize_dim(dim, x.dim(), "softmax");
  Tensor y = kernels::softmax(x, d);
  // The input is saved for create_graph only, which recomputes y with its history from it.
  SavedTensor ys = save_output(y), xs = save(x);
  return make_result(
      y, {x}, "softmax",
      [ys, xs, d](const Tensor& g) {
        if (!GradMode::is_enabled()) return Grads{kernels::softmax_backward(g, ys.unpack(), d)};
        Tensor yh = softmax(xs.unpack(), d);  // create_graph: dx = y (g - sum(g y))
        return Grads{yh * (g - sum(g * yh, {d}, true))};
      },
      DoubleBackward::Supported);
}

Tensor log_softmax(const Tensor& x, int64_t dim) {
  int64_t d = normalize_dim(dim, x.dim(), "log_softmax");
  Tensor y = kernels::log_softmax(x, d);
  SavedTensor ys = save_output(y), xs = save(x);
  return make_result(
      y, {x}, "log_softmax",
      [ys, xs, d](const Tensor& g) {
        if (!GradMode::is_enabled()) return Grads{kernels::log_softmax_backward(g, ys.unpack(), d)};
        return Grads{g - softmax(xs.unpack(), d) *
                             sum(g, {d}, true)};  // create_graph: dx = g - softmax(x) sum(g)
      },
      DoubleBackward::Supported);
}

namespace {

// The last two dims swapped (no copy, no graph).
Tensor swap_last(const Tensor& t) {
  Shape shape = t.shape(), strides = t.strides();
  std::swap(shape[shape.size() - 1], shape[shape.size() - 2]);
  std::swap(strides[strides.size() - 1], strides[strides.size() - 2]);
  return as_strided(t, shape, strides, t.offset());
}

// `t` summed over the batch dims broadcasting added to reach it from `shape` (itself when they match).
Tensor unbroadcast(const Tensor& t, const Shape& shape) { return kernels::sum_to(t, shape); }

// A 1-D operand as the matrix matmul treats it: (1, k) on the left, (k, 1) on the right.
Tensor as_matrix(const Tensor& t, bool left) {
  if (t.dim() != 1) return t;
  return left ? view_as_shape(t, {1, t.shape()[0]}) : view_as_shape(t, {t.shape()[0], 1});
}

// matmul's gradients as differentiable ops on the inputs (create_graph): the same rule as below.
Grads matmul_grads_with_graph(const Tensor& g, const Tensor& a, const Tensor& b, bool need_a, bool need_b) {
  Tensor A = a.dim() == 1 ? reshape(a, {1, a.size(0)}) : a, B = b.dim() == 1 ? reshape(b, {b.size(0), 1}) : b;
  Shape gshape(g.shape().begin(), g.shape().end() - (a.dim() == 1 ? 0 : 1) - (b.dim() == 1 ? 0 : 1));
  gshape.push_back(A.size(A.dim() - 2));
  gshape.push_back(B.size(B.dim() - 1));
  Tensor G = reshape(g, gshape);
  Grads grads(2);
  if (need_a) grads[0] = reshape(sum_to(matmul(G, transpose(B, -2, -1)), A.shape()), a.shape());
  if (need_b) grads[1] = reshape(sum_to(matmul(transpose(A, -2, -1), G), B.shape()), b.shape());
  return grads;
}

}  // namespace

Tensor matmul(const Tensor& a, const Tensor& b) {
  if (is_autocast_enabled()) {
    // bfloat16 inputs and output gradient, float32 products and sums (autograd/autocast.h).
    const Tensor ra = detail::autocast_input(a), rb = detail::autocast_input(b);
    AutocastGuard off(DType::BFloat16, false);
    return detail::autocast_output(matmul(ra, rb));
  }
  Tensor out = kernels::matmul(a, b);
  SavedTensor as = save(a), bs = save(b);
  // Plain bools, not a structured binding: the closure captures them (clang 14 cannot capture a binding).
  const auto n = needs(a, b);
  const bool need_a = n[0], need_b = n[1];
  return make_result(
      out, {a, b}, "matmul",
      [as, bs, need_a, need_b](const Tensor& g) {
        const Tensor &ad = as.unpack(), &bd = bs.unpack();
        if (GradMode::is_enabled()) return matmul_grads_with_graph(g, ad, bd, need_a, need_b);
        // Work on the matrix forms: G = (..., m, n); dA = G @ B^T, dB = A^T @ G, summed over broadcast
        // batches.
        Tensor A = as_matrix(ad, true), B = as_matrix(bd, false);
        Shape gshape(g.shape().begin(), g.shape().end() - (ad.dim() == 1 ? 0 : 1) - (bd.dim() == 1 ? 0 : 1));
        gshape.push_back(A.shape()[A.dim() - 2]);
        gshape.push_back(B.shape()[B.dim() - 1]);
        Tensor G = view_as_shape(g, gshape);
        Grads grads(2);
        if (need_a)
          grads[0] = view_as_shape(unbroadcast(kernels::matmul(G, swap_last(B)), A.shape()), ad.shape());
        if (need_b)
          grads[1] = view_as_shape(unbroadcast(kernels::matmul(swap_last(A), G), B.shape()), bd.shape());
        return grads;
      },
      DoubleBackward::Supported);
}

}  // namespace convgrad
