// Broadcasting binary ops, where, casts, copies and sum_to on the strided loop of elementwise.h.
#include "core/kernels/elementwise.h"

#include <cmath>
#include <limits>

#include "core/factory.h"
#include "core/operand_check.h"

namespace convgrad::kernels {

namespace {

// The innermost run of a binary op; the unit-stride and scalar cases get their own loops so the
// compiler vectorises them.
template <class TO, class TA, class TB, class F>
inline void run_binary(TO* o, const TA* a, int64_t sa, const TB* b, int64_t sb, int64_t n, F f) {
  if (sa == 1 && sb == 1) {
    for (int64_t i = 0; i < n; ++i) o[i] = f(a[i], b[i]);
  } else if (sa == 1 && sb == 0) {
    const TB bv = *b;
    for (int64_t i = 0; i < n; ++i) o[i] = f(a[i], bv);
  } else if (sa == 0 && sb == 1) {
    const TA av = *a;
    for (int64_t i = 0; i < n; ++i) o[i] = f(av, b[i]);
  } else {
    for (int64_t i = 0; i < n; ++i) o[i] = f(a[i * sa], b[i * sb]);
  }
}

// How an operand maps onto a flat loop over the contiguous output: element i, one scalar, or neither.
enum class Flat { Same, Scalar, No };
Flat flat_kind(const Tensor& t, const Shape& shape) {
  if (t.numel() == 1) return Flat::Scalar;
  return t.shape() == shape && t.is_contiguous() ? Flat::Same : Flat::No;
}

// out = f(a, b) over the broadcast shape; `a` and `b` already have dtype T.
template <class TO, class T, class F>
Tensor launch_binary(const Tensor& a, const Tensor& b, const Shape& shape, F f) {
  Tensor out = uninitialized(shape, dtype_of<TO>());
  const Flat ka = flat_kind(a, shape), kb = flat_kind(b, shape);
  if (ka != Flat::No && kb != Flat::No && shape_numel(shape) > 1) {
    // Same-shape contiguous operands or a scalar: one flat loop, split across threads when large.
    TO* po = out.data<TO>();
    const T* pa = a.data<T>();
    const T* pb = b.data<T>();
    const int64_t sa = ka == Flat::Same ? 1 : 0, sb = kb == Flat::Same ? 1 : 0;
    flat_loop(out.numel(), [&](int64_t i0, int64_t i1) {
      run_binary(po + i0, pa + i0 * sa, sa, pb + i0 * sb, sb, i1 - i0, f);
    });
    return out;
  }
  LoopPlan plan = plan_loop(shape, {out.strides(), broadcast_strides(a.shape(), a.strides(), shape),
                                    broadcast_strides(b.shape(), b.strides(), shape)});
  TO* po = out.data<TO>();
  const T* pa = a.data<T>();
  const T* pb = b.data<T>();
  for_each_run<3>(plan, [&](const RunIndex<3>& off, const RunIndex<3>& st, int64_t n) {
    if (st[0] == 1) {
      run_binary(po + off[0], pa + off[1], st[1], pb + off[2], st[2], n, f);
    } else {
      for (int64_t i = 0; i < n; ++i)
        po[off[0] + i * st[0]] = f(pa[off[1] + i * st[1]], pb[off[2] + i * st[2]]);
    }
  });
  return out;
}

// Dispatches `op` for operands of dtype T (float or int64_t).
template <class T>
Tensor binary_typed(BinaryOp op, const Tensor& a, const Tensor& b, const Shape& shape) {
  auto to01 = [](bool c) { return c ? 1.f : 0.f; };
  switch (op) {
    case BinaryOp::Add:
      return launch_binary<T, T>(a, b, shape, [](T x, T y) { return x + y; });
    case BinaryOp::Sub:
      return launch_binary<T, T>(a, b, shape, [](T x, T y) { return x - y; });
    case BinaryOp::Mul:
      return launch_binary<T, T>(a, b, shape, [](T x, T y) { return x * y; });
    case BinaryOp::Div:
      return launch_binary<T, T>(a, b, shape, [](T x, T y) { return x / y; });
    // NaN propagates through maximum/minimum, as in PyTorch.
    case BinaryOp::Maximum:
      return launch_binary<T, T>(a, b, shape, [](T x, T y) { return x != x || !(y != y || y > x) ? x : y; });
    case BinaryOp::Minimum:
      return launch_binary<T, T>(a, b, shape, [](T x, T y) { return x != x || !(y != y || y < x) ? x : y; });
    case BinaryOp::Eq:
      return launch_binary<float, T>(a, b, shape, [&](T x, T y) { return to01(x == y); });
    case BinaryOp::Ne:
      return launch_binary<float, T>(a, b, shape, [&](T x, T y) { return to01(x != y); });
    case BinaryOp::Lt:
      return launch_binary<float, T>(a, b, shape, [&](T x, T y) { return to01(x < y); });
    case BinaryOp::Le:
      return launch_binary<float, T>(a, b, shape, [&](T x, T y) { return to01(x <= y); });
    case BinaryOp::Gt:
      return launch_binary<float, T>(a, b, shape, [&](T x, T y) { return to01(x > y); });
    case BinaryOp::Ge:
      return launch_binary<float, T>(a, b, shape, [&](T x, T y) { return to01(x >= y); });
  }
  fail("{}: unknown binary op", binary_op_name(op));
}

// A float32 value converted to int64 like x86 (and so PyTorch on it): out-of-range and NaN give INT64_MIN.
int64_t float_to_int64(float v) {
  constexpr float limit = 9.2233720368547758e18f;  // 2^63
  if (!(v > -limit && v < limit)) return std::numeric_limits<int64_t>::min();
  return static_cast<int64_t>(v);
}

template <class TO, class TI, class F>
Tensor launch_unary_map(const Tensor& x, DType out_dtype, F f) {
  Tensor out = uninitialized(x.shape(), out_dtype);
  LoopPlan plan = plan_loop(x.shape(), {out.strides(), x.strides()});
  TO* po = out.data<TO>();
  const TI* px = x.data<TI>();
  for_each_run<2>(plan, [&](const RunIndex<2>& off, const RunIndex<2>& st, int64_t n) {
    TO* o = po + off[0];
    const TI* p = px + off[1];
    if (st[0] == 1 && st[1] == 1) {
      for (int64_t i = 0; i < n; ++i) o[i] = f(p[i]);
    } else {
      for (int64_t i = 0; i < n; ++i) o[i * st[0]] = f(p[i * st[1]]);
    }
  });
  return out;
}

}  // namespace

const char* binary_op_name(BinaryOp op) {
  static const char* names[] = {"add", "sub", "mul", "div", "maximum", "minimum",
                                "eq",  "ne",  "lt",  "le",  "gt",      "ge"};
  return names[static_cast<int>(op)];
}

Shape broadcast_strides(const Shape& from, const Shape& from_strides, const Shape& to) {
  CONVGRAD_CHECK(from.size() <= to.size(), "broadcast: shape {} has more dims than target {}",
                 shape_str(from), shape_str(to));
  Shape out(to.size(), 0);
  size_t lead = to.size() - from.size();
  for (size_t i = 0; i < from.size(); ++i) {
    CONVGRAD_CHECK(from[i] == to[lead + i] || from[i] == 1, "broadcast: shape {} cannot be broadcast to {}",
                   shape_str(from), shape_str(to));
    out[lead + i] = from[i] == 1 ? 0 : from_strides[i];
  }
  return out;
}

LoopPlan plan_loop(const Shape& shape, const std::vector<Shape>& strides) {
  const size_t nops = strides.size(), nd = shape.size();
  // Stride of operand k along dim d of `shape`; operands are right-aligned, missing dims broadcast.
  auto stride_of = [&](size_t k, size_t d) -> int64_t {
    size_t lead = nd - strides[k].size();
    return d < lead ? 0 : strides[k][d - lead];
  };
  LoopPlan plan;
  plan.strides.assign(nops, Shape{});
  // Walk from the innermost dim outwards, dropping size-1 dims and merging a dim into the previous
  // (inner) one when every operand steps over it contiguously.
  for (size_t i = nd; i-- > 0;) {
    if (shape[i] == 1) continue;
    bool merge = !plan.shape.empty();
    for (size_t k = 0; k < nops && merge; ++k)
      merge = stride_of(k, i) == plan.strides[k].back() * plan.shape.back();
    if (merge) {
      plan.shape.back() *= shape[i];
      continue;
    }
    plan.shape.push_back(shape[i]);
    for (size_t k = 0; k < nops; ++k) plan.strides[k].push_back(stride_of(k, i));
  }
  if (plan.shape.empty()) {
    plan.shape.push_back(1);
    for (auto& s : plan.strides) s.push_back(0);
  }
  CONVGRAD_CHECK(static_cast<int64_t>(plan.shape.size()) <= kMaxLoopDims,
                 "elementwise: shape {} keeps {} dims after merging; at most {} are supported (make it "
                 "contiguous first)",
                 shape_str(shape), plan.shape.size(), kMaxLoopDims);
  std::reverse(plan.shape.begin(), plan.shape.end());
  for (auto& s : plan.strides) std::reverse(s.begin(), s.end());
  return plan;
}

Tensor binary(BinaryOp op, const Tensor& a, const Tensor& b) {
  const char* name = binary_op_name(op);
  CONVGRAD_CHECK(a.defined() && b.defined(), "{}: an operand is an undefined tensor", name);
  reject_bfloat16(a, name, "first operand");
  reject_bfloat16(b, name, "second operand");
  Shape shape = broadcast_shapes(a.shape(), b.shape(), name);
  bool both_int = a.dtype() == DType::Int64 && b.dtype() == DType::Int64;
  // True division of integers is floating point, as in PyTorch.
  if (both_int && op != BinaryOp::Div) return binary_typed<int64_t>(op, a, b, shape);
  Tensor fa = a.dtype() == DType::Float32 ? a : cast(a, DType::Float32);
  Tensor fb = b.dtype() == DType::Float32 ? b : cast(b, DType::Float32);
  return binary_typed<float>(op, fa, fb, shape);
}

void add_inplace(const Tensor& dst, const Tensor& src) {
  CONVGRAD_CHECK(
      dst.defined() && src.defined() && dst.dtype() == DType::Float32 && src.dtype() == DType::Float32 &&
          dst.shape() == src.shape() && dst.is_contiguous(),
      "add_inplace: needs two float32 tensors of one shape, the first contiguous; got {} {} and {} {}",
      dst.defined() ? dtype_name(dst.dtype()) : "undefined", dst.defined() ? shape_str(dst.shape()) : "",
      src.defined() ? dtype_name(src.dtype()) : "undefined", src.defined() ? shape_str(src.shape()) : "");
  dst.bump_version("add_inplace");
  float* pd = dst.data<float>();
  const float* ps = src.data<float>();
  if (src.is_contiguous()) {
    flat_loop(dst.numel(), [&](int64_t i0, int64_t i1) {
      for (int64_t i = i0; i < i1; ++i) pd[i] += ps[i];
    });
    return;
  }
  LoopPlan plan = plan_loop(dst.shape(), {dst.strides(), src.strides()});
  for_each_run<2>(plan, [&](const RunIndex<2>& off, const RunIndex<2>& st, int64_t n) {
    for (int64_t i = 0; i < n; ++i) pd[off[0] + i * st[0]] += ps[off[1] + i * st[1]];
  });
}

Tensor scalar_like(const Tensor& like, double value) {
  if (like.dtype() == DType::Int64 && value == std::trunc(value) && std::abs(value) < 9.2e18)
    return full({}, value, DType::Int64);
  return full({}, value, DType::Float32);
}

Tensor scalar(float value) { return full({}, value, DType::Float32); }

Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b) {
  CONVGRAD_CHECK(cond.defined() && a.defined() && b.defined(), "where: an operand is an undefined tensor");
  reject_bfloat16(cond, "where", "condition");
  reject_bfloat16(a, "where", "input");
  reject_bfloat16(b, "where", "other");
  Shape shape = broadcast_shapes(broadcast_shapes(cond.shape(), a.shape(), "where"), b.shape(), "where");
  Tensor c = cond.dtype() == DType::Float32 ? cond : cast(cond, DType::Float32);
  DType dt = a.dtype() == DType::Int64 && b.dtype() == DType::Int64 ? DType::Int64 : DType::Float32;
  Tensor ta = a.dtype() == dt ? a : cast(a, dt);
  Tensor tb = b.dtype() == dt ? b : cast(b, dt);
  Tensor out = uninitialized(shape, dt);
  LoopPlan plan = plan_loop(shape, {out.strides(), broadcast_strides(c.shape(), c.strides(), shape),
                                    broadcast_strides(ta.shape(), ta.strides(), shape),
                                    broadcast_strides(tb.shape(), tb.strides(), shape)});
  auto run = [&](auto* po, const auto* pa, const auto* pb) {
    const float* pc = c.data<float>();
    for_each_run<4>(plan, [&](const RunIndex<4>& off, const RunIndex<4>& st, int64_t n) {
      for (int64_t i = 0; i < n; ++i) {
        bool take_a = pc[off[1] + i * st[1]] != 0.f;
        po[off[0] + i * st[0]] = take_a ? pa[off[2] + i * st[2]] : pb[off[3] + i * st[3]];
      }
    });
  };
  if (dt == DType::Float32)
    run(out.data<float>(), ta.data<float>(), tb.data<float>());
  else
    run(out.data<int64_t>(), ta.data<int64_t>(), tb.data<int64_t>());
  return out;
}

Tensor cast(const Tensor& x, DType dtype) {
  CONVGRAD_CHECK(x.defined(), "cast: the tensor is undefined");
  const DType from = x.dtype();
  if (from == DType::Float32 && dtype == DType::Float32)
    return launch_unary_map<float, float>(x, dtype, [](float v) { return v; });
  if (from == DType::Int64 && dtype == DType::Int64)
    return launch_unary_map<int64_t, int64_t>(x, dtype, [](int64_t v) { return v; });
  if (from == DType::BFloat16 && dtype == DType::BFloat16)
    return launch_unary_map<BFloat16, BFloat16>(x, dtype, [](BFloat16 v) { return v; });
  if (from == DType::Float32 && dtype == DType::BFloat16)
    return launch_unary_map<BFloat16, float>(x, dtype, [](float v) { return to_bfloat16(v); });
  if (from == DType::BFloat16 && dtype == DType::Float32)
    return launch_unary_map<float, BFloat16>(x, dtype, [](BFloat16 v) { return to_float(v); });
  // int64 <-> bfloat16 go through float32, as PyTorch's conversions do.
  if (from == DType::Int64 && dtype == DType::BFloat16)
    return launch_unary_map<BFloat16, int64_t>(x, dtype,
                                               [](int64_t v) { return to_bfloat16(static_cast<float>(v)); });
  if (from == DType::BFloat16 && dtype == DType::Int64)
    return launch_unary_map<int64_t, BFloat16>(x, dtype,
                                               [](BFloat16 v) { return float_to_int64(to_float(v)); });
  if (dtype == DType::Float32)
    return launch_unary_map<float, int64_t>(x, dtype, [](int64_t v) { return static_cast<float>(v); });
  return launch_unary_map<int64_t, float>(x, dtype, float_to_int64);
}

Tensor copy(const Tensor& x) { return cast(x, x.dtype()); }

}  // namespace convgrad::kernels
