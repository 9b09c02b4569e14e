// Unary maps. Each op is one struct: its forward `f` next to its gradient rule `bw`
// (grad_in from grad_out g, the input x and the output y), so the two cannot drift apart.
#include <cmath>
#include <utility>

#include "core/factory.h"
#include "core/kernels/elementwise.h"
#include "core/operand_check.h"

namespace convgrad::kernels {

namespace {

using P = UnaryParams;
// Which forward tensor a gradient rule reads: bw(g, v, p) gets v = x (Input) or y (Output). Reading one
// saved tensor instead of two is a third less memory traffic, and autograd keeps only that one alive.
using Saved = UnarySaved;
constexpr Saved In = Saved::Input, Out = Saved::Output;

struct Neg {
  static constexpr Saved saved = Out;  // reads neither; Output is what the node already keeps
  static float f(float x, P) { return -x; }
  static float bw(float g, float, P) { return -g; }
};
struct Exp {
  static constexpr Saved saved = Out;
  static float f(float x, P) { return std::exp(x); }
  static float bw(float g, float y, P) { return g * y; }
};
struct Log {
  static constexpr Saved saved = In;
  static float f(float x, P) { return std::log(x); }  // log(0) = -inf, log(<0) = nan
  static float bw(float g, float x, P) { return g / x; }
};
struct Sqrt {
  static constexpr Saved saved = Out;
  static float f(float x, P) { return std::sqrt(x); }
  static float bw(float g, float y, P) { return g / (2.f * y); }
};
struct Pow {
  static constexpr Saved saved = In;
  static float f(float x, P p) { return p.a == 2.f ? x * x : std::pow(x, p.a); }
  // PyTorch defines the gradient of x^0 as 0 everywhere (even at x = 0).
  static float bw(float g, float x, P p) {
    if (p.a == 0.f) return 0.f;
    return g * p.a * (p.a == 2.f ? x : std::pow(x, p.a - 1.f));
  }
};
struct Abs {
  static constexpr Saved saved = In;
  static float f(float x, P) { return std::abs(x); }
  static float bw(float g, float x, P) { return x > 0.f ? g : x < 0.f ? -g : 0.f; }
};
struct Relu {
  static constexpr Saved saved = Out;
  static float f(float x, P) { return x > 0.f || x != x ? x : 0.f; }
  // y > 0 exactly where x > 0 (a NaN x gives a NaN y, and both compare false).
  static float bw(float g, float y, P) { return y > 0.f ? g : 0.f; }
};
struct LeakyRelu {
  static constexpr Saved saved = In;
  static float f(float x, P p) { return x > 0.f ? x : x * p.a; }
  static float bw(float g, float x, P p) { return x > 0.f ? g : g * p.a; }
};
struct Sigmoid {
  static constexpr Saved saved = Out;
  // Never exponentiates a positive number, so it neither overflows nor loses the small tail.
  static float f(float x, P) {
    float e = std::exp(-std::abs(x));  // in (0, 1]
    float r = 1.f / (1.f + e);
    return x >= 0.f ? r : e * r;
  }
  static float bw(float g, float y, P) { return g * y * (1.f - y); }
};
struct Tanh {
  static constexpr Saved saved = Out;
  static float f(float x, P) { return std::tanh(x); }
  static float bw(float g, float y, P) { return g * (1.f - y * y); }
};
struct Clamp {
  static constexpr Saved saved = In;
  // min(max(x, lo), hi) like PyTorch (lo > hi gives hi); NaN passes through.
  static float f(float x, P p) {
    float r = x < p.a ? p.a : x;
    return r > p.b ? p.b : r;
  }
  // Gradient 1 on the closed interval [lo, hi], as PyTorch.
  static float bw(float g, float x, P p) { return x >= p.a && x <= p.b ? g : 0.f; }
};

template <class Op>
Tensor forward_f32(const Tensor& x, P p) {
  Tensor out = uninitialized(x.shape(), DType::Float32);
  float* po = out.data<float>();
  const float* px = x.data<float>();
  if (x.is_contiguous()) {  // the common case: one flat loop, split across threads when large
    flat_loop(x.numel(), [&](int64_t i0, int64_t i1) {
      for (int64_t i = i0; i < i1; ++i) po[i] = Op::f(px[i], p);
    });
    return out;
  }
  LoopPlan plan = plan_loop(x.shape(), {out.strides(), x.strides()});
  for_each_run<2>(plan, [&](const RunIndex<2>& off, const RunIndex<2>& st, int64_t n) {
    float* o = po + off[0];
    const float* q = px + off[1];
    if (st[0] == 1 && st[1] == 1) {
      for (int64_t i = 0; i < n; ++i) o[i] = Op::f(q[i], p);
    } else {
      for (int64_t i = 0; i < n; ++i) o[i * st[0]] = Op::f(q[i * st[1]], p);
    }
  });
  return out;
}

// grad_in = Op::bw(g, v) with v the saved forward tensor the rule reads.
template <class Op>
Tensor backward_f32(const Tensor& g, const Tensor& v, P p, bool in_place) {
  // Element i of the result depends on element i of g only, so writing over g is safe.
  Tensor out = in_place ? g : uninitialized(g.shape(), DType::Float32);
  float* po = out.data<float>();
  const float* pg = g.data<float>();
  const float* pv = v.data<float>();
  if (g.is_contiguous() && v.is_contiguous()) {
    flat_loop(g.numel(), [&](int64_t i0, int64_t i1) {
      for (int64_t i = i0; i < i1; ++i) po[i] = Op::bw(pg[i], pv[i], p);
    });
    return out;
  }
  LoopPlan plan = plan_loop(g.shape(), {out.strides(), g.strides(), v.strides()});
  for_each_run<3>(plan, [&](const RunIndex<3>& off, const RunIndex<3>& st, int64_t n) {
    float* o = po + off[0];
    const float *qg = pg + off[1], *qv = pv + off[2];
    if (st[0] == 1 && st[1] == 1 && st[2] == 1) {
      for (int64_t i = 0; i < n; ++i) o[i] = Op::bw(qg[i], qv[i], p);
    } else {
      for (int64_t i = 0; i < n; ++i) o[i * st[0]] = Op::bw(qg[i * st[1]], qv[i * st[2]], p);
    }
  });
  return out;
}

// Calls fn.template operator()<Op>() for the struct of `op`.
template <class Fn>
auto dispatch_value(UnaryOp op, Fn&& fn) -> decltype(fn.template operator()<Neg>()) {
  switch (op) {
    case UnaryOp::Neg:
      return fn.template operator()<Neg>();
    case UnaryOp::Exp:
      return fn.template operator()<Exp>();
    case UnaryOp::Log:
      return fn.template operator()<Log>();
    case UnaryOp::Sqrt:
      return fn.template operator()<Sqrt>();
    case UnaryOp::Pow:
      return fn.template operator()<Pow>();
    case UnaryOp::Abs:
      return fn.template operator()<Abs>();
    case UnaryOp::Relu:
      return fn.template operator()<Relu>();
    case UnaryOp::LeakyRelu:
      return fn.template operator()<LeakyRelu>();
    case UnaryOp::Sigmoid:
      return fn.template operator()<Sigmoid>();
    case UnaryOp::Tanh:
      return fn.template operator()<Tanh>();
    case UnaryOp::Clamp:
      return fn.template operator()<Clamp>();
  }
  fail("{}: unknown unary op", unary_op_name(op));
}

template <class Fn>
Tensor dispatch(UnaryOp op, Fn&& fn) {
  return dispatch_value(op, std::forward<Fn>(fn));
}

// Neg, Abs and Relu on int64 stay int64, as in PyTorch.
Tensor unary_int64(UnaryOp op, const Tensor& x) {
  Tensor out = copy(x);
  int64_t* p = out.data<int64_t>();
  for (int64_t i = 0, n = out.numel(); i < n; ++i) {
    int64_t v = p[i];
    p[i] = op == UnaryOp::Neg ? -v : op == UnaryOp::Abs ? (v < 0 ? -v : v) : (v > 0 ? v : 0);
  }
  return out;
}

}  // namespace

const char* unary_op_name(UnaryOp op) {
  static const char* names[] = {"neg",  "exp",        "log",     "sqrt", "pow",  "abs",
                                "relu", "leaky_relu", "sigmoid", "tanh", "clamp"};
  return names[static_cast<int>(op)];
}

Tensor unary(UnaryOp op, const Tensor& x, UnaryParams params) {
  CONVGRAD_CHECK(x.defined(), "{}: the tensor is undefined", unary_op_name(op));
  reject_bfloat16(x, unary_op_name(op), "input");
  if (x.dtype() == DType::Int64) {
    if (op == UnaryOp::Neg || op == UnaryOp::Abs || op == UnaryOp::Relu) return unary_int64(op, x);
    return unary(op, cast(x, DType::Float32), params);
  }
  return dispatch(op, [&]<class Op>() { return forward_f32<Op>(x, params); });
}

UnarySaved unary_backward_reads(UnaryOp op) {
  return dispatch_value(op, [&]<class Op>() { return Op::saved; });
}

Tensor unary_backward(UnaryOp op, const Tensor& grad, const Tensor& x, const Tensor& y, UnaryParams params,
                      bool overwrite_grad) {
  const bool from_output = unary_backward_reads(op) == UnarySaved::Output;
  const Tensor& v = from_output ? y : x;
  CONVGRAD_CHECK(grad.defined() && v.defined(), "{} backward: the gradient or the saved {} is undefined",
                 unary_op_name(op), from_output ? "output" : "input");
  CONVGRAD_CHECK(grad.shape() == v.shape(), "{} backward: gradient shape {} does not match the {} {}",
                 unary_op_name(op), shape_str(grad.shape()), from_output ? "output" : "input",
                 shape_str(v.shape()));
  reject_bfloat16(grad, unary_op_name(op), "grad_output");
  reject_bfloat16(v, unary_op_name(op), from_output ? "saved output" : "saved input");
  Tensor g = grad.dtype() == DType::Float32 ? grad : cast(grad, DType::Float32);
  Tensor fv = v.dtype() == DType::Float32 ? v : cast(v, DType::Float32);
  const bool in_place = overwrite_grad && g.is_same(grad) && grad.is_contiguous();
  return dispatch(op, [&]<class Op>() { return backward_f32<Op>(g, fv, params, in_place); });
}

Tensor extremum_backward(const Tensor& grad, const Tensor& a, const Tensor& b, bool is_max, bool first) {
  Shape shape = grad.shape();
  reject_bfloat16(a, "extremum_backward", "first operand");
  reject_bfloat16(b, "extremum_backward", "second operand");
  Tensor fa = a.dtype() == DType::Float32 ? a : cast(a, DType::Float32);
  Tensor fb = b.dtype() == DType::Float32 ? b : cast(b, DType::Float32);
  Tensor out = uninitialized(shape, DType::Float32);
  LoopPlan plan =
      plan_loop(shape, {out.strides(), grad.strides(), broadcast_strides(fa.shape(), fa.strides(), shape),
                        broadcast_strides(fb.shape(), fb.strides(), shape)});
  float* po = out.data<float>();
  const float *pg = grad.data<float>(), *pa = fa.data<float>(), *pb = fb.data<float>();
  // Weight of this input: 0 where it loses, 1/2 on ties (PyTorch splits them), else 1 (NaNs included).
  for_each_run<4>(plan, [&](const RunIndex<4>& off, const RunIndex<4>& st, int64_t n) {
    for (int64_t i = 0; i < n; ++i) {
      float g = pg[off[1] + i * st[1]], va = pa[off[2] + i * st[2]], vb = pb[off[3] + i * st[3]];
      float mine = first ? va : vb, other = first ? vb : va;
      bool loses = is_max ? mine < other : mine > other;
      po[off[0] + i * st[0]] = loses ? 0.f : mine == other ? 0.5f * g : g;
    }
  });
  return out;
}

}  // namespace convgrad::kernels
