// Differentiable broadcasting arithmetic, where, comparisons and conversions. Each op runs its kernel
// and records, right beside it, the closure that maps the output gradient to the inputs' gradients.
// A broadcast input gets the gradient summed back down to its own shape (sum_to).
#include "autograd/ops_math.h"

#include <cmath>

#include "autograd/grad_mode.h"
#include "autograd/node.h"
#include "autograd/ops_shape.h"
#include "core/factory.h"
#include "core/kernels/elementwise.h"

namespace convgrad {

namespace k = kernels;

namespace {

Tensor negated(const Tensor& t) { return k::unary(k::UnaryOp::Neg, t); }

// An integral scalar keeps an int64 tensor int64 (t * 2); anything else computes in float32.
Tensor scalar_for(const Tensor& t, float s) { return k::scalar_like(t, s); }

}  // namespace

Tensor add(const Tensor& a, const Tensor& b) {
  Tensor out = k::add(a, b);
  return make_result(
      out, {a, b}, "add",
      [sa = a.shape(), sb = b.shape(), n = needs(a, b)](const Tensor& g) {
        return grads(
            n, [&] { return sum_to(g, sa); }, [&] { return sum_to(g, sb); });
      },
      DoubleBackward::Supported);
}

Tensor sub(const Tensor& a, const Tensor& b) {
  Tensor out = k::sub(a, b);
  return make_result(
      out, {a, b}, "sub",
      [sa = a.shape(), sb = b.shape(), n = needs(a, b)](const Tensor& g) {
        return grads(
            n, [&] { return sum_to(g, sa); }, [&] { return sum_to(neg(g), sb); });
      },
      DoubleBackward::Supported);
}

Tensor mul(const Tensor& a, const Tensor& b) {
  Tensor out = k::mul(a, b);
  // d(ab)/da = b, d(ab)/db = a. Each input is saved only for the other's gradient, with its history for
  // create_graph.
  const auto n = needs(a, b);
  return make_result(
      out, {a, b}, "mul",
      [sa = a.shape(), sb = b.shape(), as = save(a, n[1]), bs = save(b, n[0]), n](const Tensor& g) {
        return grads(
            n, [&] { return sum_to(mul(g, bs.unpack()), sa); },
            [&] { return sum_to(mul(g, as.unpack()), sb); });
      },
      DoubleBackward::Supported);
}

Tensor div(const Tensor& a, const Tensor& b) {
  Tensor out = k::div(a, b);
  const auto n = needs(a, b);
  // d(a/b)/da = 1/b, d(a/b)/db = -a/b^2 = -(1/b) * out. Under create_graph out is recomputed as a/b from
  // the inputs (a node must not hold its own output with history).
  return make_result(
      out, {a, b}, "div",
      [sa = a.shape(), sb = b.shape(), as = save(a, n[1]), bs = save(b), os = save_output(out, n[1]),
       n](const Tensor& g) {
        const Tensor& bv = bs.unpack();
        Tensor q = div(g, bv);
        return grads(
            n, [&] { return sum_to(q, sa); },
            [&] {
              return sum_to(neg(mul(q, GradMode::is_enabled() ? div(as.unpack(), bv) : os.unpack())), sb);
            });
      },
      DoubleBackward::Supported);
}

Tensor neg(const Tensor& a) {
  Tensor out = negated(a);
  return make_result(
      out, {a}, "neg", [](const Tensor& g) { return std::vector<Tensor>{neg(g)}; },
      DoubleBackward::Supported);
}

// maximum/minimum: the gradient goes to the winning input, split in half on ties (as PyTorch).
static Tensor extremum(const Tensor& a, const Tensor& b, bool is_max) {
  Tensor out = k::binary(is_max ? k::BinaryOp::Maximum : k::BinaryOp::Minimum, a, b);
  return make_result(
      out, {a, b}, is_max ? "maximum" : "minimum",
      [as = save(a), bs = save(b), is_max, n = needs(a, b)](const Tensor& g) {
        const Tensor &av = as.unpack(), &bv = bs.unpack();
        // The rule is linear in g with a piecewise-constant weight: under create_graph, g times that weight.
        auto part = [&](bool first, const Shape& shape) {
          if (GradMode::is_enabled())
            return sum_to(mul(g, k::extremum_backward(ones(g.shape()), av, bv, is_max, first)), shape);
          return k::sum_to(k::extremum_backward(g, av, bv, is_max, first), shape);
        };
        return grads(
            n, [&] { return part(true, av.shape()); }, [&] { return part(false, bv.shape()); });
      },
      DoubleBackward::Supported);
}

Tensor maximum(const Tensor& a, const Tensor& b) { return extremum(a, b, true); }
Tensor minimum(const Tensor& a, const Tensor& b) { return extremum(a, b, false); }

Tensor operator+(const Tensor& a, const Tensor& b) { return add(a, b); }
Tensor operator-(const Tensor& a, const Tensor& b) { return sub(a, b); }
Tensor operator*(const Tensor& a, const Tensor& b) { return mul(a, b); }
Tensor operator/(const Tensor& a, const Tensor& b) { return div(a, b); }
Tensor operator-(const Tensor& a) { return neg(a); }
Tensor operator+(const Tensor& a, float s) { return add(a, scalar_for(a, s)); }
Tensor operator+(float s, const Tensor& a) { return add(scalar_for(a, s), a); }
Tensor operator-(const Tensor& a, float s) { return sub(a, scalar_for(a, s)); }
Tensor operator-(float s, const Tensor& a) { return sub(scalar_for(a, s), a); }
Tensor operator*(const Tensor& a, float s) { return mul(a, scalar_for(a, s)); }
Tensor operator*(float s, const Tensor& a) { return mul(scalar_for(a, s), a); }
Tensor operator/(const Tensor& a, float s) { return div(a, k::scalar(s)); }
Tensor operator/(float s, const Tensor& a) { return div(k::scalar(s), a); }

Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b) {
  Tensor out = k::where(cond, a, b);
  // Each branch gets the gradient where it was chosen, zero elsewhere; cond gets none (it is detached
  // so the engine never waits for a gradient of it).
  return make_result(
      out, {cond.detach(), a, b}, "where",
      [cs = save(cond.detach()), sa = a.shape(), sb = b.shape(), n = needs(a, b)](const Tensor& g) {
        const Tensor& cd = cs.unpack();
        Tensor zero = k::scalar(0.f);
        std::vector<Tensor> ab = grads(
            n, [&] { return sum_to(where(cd, g, zero), sa); },
            [&] { return sum_to(where(cd, zero, g), sb); });
        return std::vector<Tensor>{Tensor(), ab[0], ab[1]};
      },
      DoubleBackward::Supported);
}

// Comparisons give float32 0/1 and record no graph.
Tensor eq(const Tensor& a, const Tensor& b) { return k::binary(k::BinaryOp::Eq, a, b); }
Tensor ne(const Tensor& a, const Tensor& b) { return k::binary(k::BinaryOp::Ne, a, b); }
Tensor lt(const Tensor& a, const Tensor& b) { return k::binary(k::BinaryOp::Lt, a, b); }
Tensor le(const Tensor& a, const Tensor& b) { return k::binary(k::BinaryOp::Le, a, b); }
Tensor gt(const Tensor& a, const Tensor& b) { return k::binary(k::BinaryOp::Gt, a, b); }
Tensor ge(const Tensor& a, const Tensor& b) { return k::binary(k::BinaryOp::Ge, a, b); }

Tensor to_dtype(const Tensor& x, DType dtype) {
  CONVGRAD_CHECK(x.defined(), "to_dtype: the tensor is undefined");
  // Like tensor.to(dtype): the same tensor when nothing changes; a cast cuts the gradient path.
  if (x.dtype() == dtype) return x;
  return k::cast(x, dtype);
}

Tensor clone(const Tensor& x) {
  CONVGRAD_CHECK(x.defined(), "clone: the tensor is undefined");
  Tensor out = k::copy(x);
  return make_result(
      out, {x}, "clone", [](const Tensor& g) { return std::vector<Tensor>{g}; }, DoubleBackward::Supported);
}

Tensor sum_to(const Tensor& x, const Shape& shape) {
  Tensor out = k::sum_to(x, shape);
  if (out.is_same(x)) return x;
  // The gradient of a sum over broadcast dims is the gradient broadcast back (materialised; under
  // create_graph, the differentiable expand, whose own gradient is sum_to again).
  return make_result(
      out, {x}, "sum_to",
      [xs = x.shape()](const Tensor& g) {
        if (GradMode::is_enabled()) return std::vector<Tensor>{contiguous(expand(g, xs))};
        Tensor view = as_strided(g, xs, k::broadcast_strides(g.shape(), g.strides(), xs), g.offset());
        return std::vector<Tensor>{k::copy(view)};
      },
      DoubleBackward::Supported);
}

bool allclose(const Tensor& a, const Tensor& b, double rtol, double atol) {
  CONVGRAD_CHECK(a.defined() && b.defined(), "allclose: an operand is an undefined tensor");
  if (a.shape() != b.shape()) return false;
  std::vector<double> va = a.to_vector<double>(), vb = b.to_vector<double>();
  for (size_t i = 0; i < va.size(); ++i) {
    double x = va[i], y = vb[i];
    if (x == y) continue;                                               // equal infinities are close
    if (!(std::abs(x - y) <= atol + rtol * std::abs(y))) return false;  // NaN fails here
  }
  return true;
}

}  // namespace convgrad
