// Elementwise kernels: NumPy-broadcasting binary ops over any strides, unary maps with their
// derivatives, comparisons, where, dtype casts and sum_to. No autograd (autograd/ops_math.cpp wraps them).
//
// Dtype rules (PyTorch's): int64 op int64 stays int64 for + - * maximum minimum; division gives
// float32; int64 mixed with float32 computes in float32; comparisons always give float32 0/1.
#pragma once

#include <omp.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <vector>

#include "core/tensor.h"
#include "core/threading.h"

namespace convgrad::kernels {

/// Loops with more elements than this are split across OpenMP threads.
inline constexpr int64_t kParallelThreshold = 32768;
/// Most dims a loop may keep after merging (plan_loop throws beyond it).
inline constexpr int64_t kMaxLoopDims = 16;

/// Binary elementwise operations.
enum class BinaryOp { Add, Sub, Mul, Div, Maximum, Minimum, Eq, Ne, Lt, Le, Gt, Ge };

/// Unary elementwise operations; `UnaryParams` carries the scalar arguments some of them take.
enum class UnaryOp { Neg, Exp, Log, Sqrt, Pow, Abs, Relu, LeakyRelu, Sigmoid, Tanh, Clamp };

/// Scalar arguments of a unary op: Pow (a = exponent), LeakyRelu (a = slope), Clamp (a = lo, b = hi).
struct UnaryParams {
  float a = 0.f;
  float b = 0.f;
};

/// Name of a binary op ("add", "eq", ...) for error messages.
const char* binary_op_name(BinaryOp op);
/// Name of a unary op ("exp", "clamp", ...).
const char* unary_op_name(UnaryOp op);

/// `op` applied to a and b broadcast together; a fresh contiguous result. Throws naming the op and
/// both shapes when they cannot be broadcast.
Tensor binary(BinaryOp op, const Tensor& a, const Tensor& b);
/// a + b.
inline Tensor add(const Tensor& a, const Tensor& b) { return binary(BinaryOp::Add, a, b); }
/// a - b.
inline Tensor sub(const Tensor& a, const Tensor& b) { return binary(BinaryOp::Sub, a, b); }
/// a * b.
inline Tensor mul(const Tensor& a, const Tensor& b) { return binary(BinaryOp::Mul, a, b); }
/// a / b (always float32).
inline Tensor div(const Tensor& a, const Tensor& b) { return binary(BinaryOp::Div, a, b); }

/// dst += src for float32 tensors of one shape, in place (no autograd); `dst` must be contiguous, `src`
/// may have any strides. Gradient accumulation uses it on buffers it owns.
void add_inplace(const Tensor& dst, const Tensor& src);

/// A 0-d tensor holding `value`: int64 when `like` is int64 and `value` is integral, else float32.
Tensor scalar_like(const Tensor& like, double value);
/// A 0-d float32 tensor.
Tensor scalar(float value);

/// `op` applied elementwise. Neg/Abs/Relu keep int64; the others compute int64 input as float32.
Tensor unary(UnaryOp op, const Tensor& x, UnaryParams params = {});
/// Which forward tensor the gradient of a unary op reads: its input x or its output y.
enum class UnarySaved { Input, Output };
/// The forward tensor `op`'s gradient reads (autograd saves only that one).
UnarySaved unary_backward_reads(UnaryOp op);
/// Gradient of `op`: grad * d op(x)/dx, given the forward input `x` and output `y` (same shape as grad).
/// Only the one `unary_backward_reads(op)` names is read; the other may be an undefined tensor.
/// With `overwrite_grad` the result is written over `grad` (and `grad` returned) when it is a contiguous
/// float32 tensor: for a caller that owns the only handle to it.
Tensor unary_backward(UnaryOp op, const Tensor& grad, const Tensor& x, const Tensor& y,
                      UnaryParams params = {}, bool overwrite_grad = false);

/// The gradient of maximum (is_max) or minimum for input a (first = true) or b: grad where that input
/// wins, grad / 2 on ties, 0 elsewhere; in the broadcast shape.
Tensor extremum_backward(const Tensor& grad, const Tensor& a, const Tensor& b, bool is_max, bool first);

/// cond ? a : b with three-way broadcasting; cond is float32 or int64 (nonzero = true).
Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b);

/// `x` converted to `dtype` in a fresh contiguous tensor (float -> int64 truncates toward zero).
Tensor cast(const Tensor& x, DType dtype);
/// A fresh contiguous copy of `x` with its dtype.
Tensor copy(const Tensor& x);

/// Sums `x` over the dims broadcasting added to reach its shape from `shape` (leading dims, and dims
/// where `shape` has 1). Returns `x` itself when the shapes already match. float32 sums in float64.
Tensor sum_to(const Tensor& x, const Shape& shape);

// ---- the strided loop every kernel here runs on (usable by other kernels) ----

/// Per-operand element offsets (or strides) handed to a for_each_run body.
template <size_t N>
using RunIndex = std::array<int64_t, N>;

/// A loop nest over a shape for N operands after merging dims that are contiguous in all of them.
struct LoopPlan {
  Shape shape;                 ///< merged sizes (at least one dim)
  std::vector<Shape> strides;  ///< per operand, merged strides (0 on broadcast dims)
};

/// Plans a loop over `shape` for operands with `strides` (each of rank <= shape's, aligned to the right;
/// missing and size-1 dims broadcast with stride 0). Size-1 dims are dropped and mergeable dims joined.
LoopPlan plan_loop(const Shape& shape, const std::vector<Shape>& strides);

/// Strides of a tensor of shape `from` viewed broadcast to `to` (stride 0 on broadcast dims).
Shape broadcast_strides(const Shape& from, const Shape& from_strides, const Shape& to);

/// Runs `body(i0, i1)` over [0, n) split into one contiguous range per OpenMP thread when n is above
/// kParallelThreshold, else as one range on the calling thread (no parallel region for small loops).
/// Inner range ends are multiples of `align` (a power of two; the default 16 floats = one cache line, so
/// threads never write the same line).
template <class Body>
void flat_loop(int64_t n, Body&& body, int64_t align = 16) {
  const int nthr = n <= kParallelThreshold ? 1 : get_num_threads();
  if (nthr == 1) {
    if (n > 0) body(int64_t{0}, n);
    return;
  }
#pragma omp parallel num_threads(nthr)
  {
    const int64_t nt = omp_get_num_threads(), t = omp_get_thread_num();
    auto edge = [&](int64_t k) { return k == nt ? n : std::min(n, (n * k / nt) & ~(align - 1)); };
    const int64_t i0 = edge(t), i1 = edge(t + 1);
    if (i0 < i1) body(i0, i1);
  }
}

/// Runs `body(offsets, inner_strides, n)` over every innermost run of a planned loop: `offsets[k]` is the
/// element offset of operand k at the run's start, `inner_strides[k]` its step along the run.
/// Runs are split across OpenMP threads (in contiguous element ranges, so omp_get_thread_num() may pick
/// a per-thread buffer) when the loop has more than 32k elements and `parallel` is set: `threads` of them
/// (a caller sizing per-thread buffers passes the count it sized them for), or get_num_threads() when 0.
template <size_t N, class Body>
void for_each_run(const LoopPlan& plan, Body&& body, bool parallel = true, int threads = 0) {
  const int64_t nd = static_cast<int64_t>(plan.shape.size());
  const int64_t inner = plan.shape[nd - 1];
  int64_t total = 1;
  for (int64_t s : plan.shape) total *= s;
  if (total == 0) return;
  RunIndex<N> step{};
  for (size_t k = 0; k < N; ++k) step[k] = plan.strides[k][nd - 1];
  // Elements [e0, e1): position the odometer once by division, then advance it run by run.
  auto run_range = [&](int64_t e0, int64_t e1) {
    std::array<int64_t, kMaxLoopDims> idx{};
    RunIndex<N> off{};
    int64_t col = e0 % inner, rem = e0 / inner;
    for (int64_t d = nd - 2; d >= 0; --d) {
      idx[d] = rem % plan.shape[d];
      rem /= plan.shape[d];
      for (size_t k = 0; k < N; ++k) off[k] += idx[d] * plan.strides[k][d];
    }
    for (size_t k = 0; k < N; ++k) off[k] += col * step[k];
    for (int64_t e = e0; e < e1;) {
      int64_t n = std::min(inner - col, e1 - e);
      body(off, step, n);
      e += n;
      for (size_t k = 0; k < N; ++k) off[k] -= col * step[k];
      col = 0;
      for (int64_t d = nd - 2; d >= 0; --d) {
        for (size_t k = 0; k < N; ++k) off[k] += plan.strides[k][d];
        if (++idx[d] < plan.shape[d]) break;
        for (size_t k = 0; k < N; ++k) off[k] -= idx[d] * plan.strides[k][d];
        idx[d] = 0;
      }
    }
  };
  if (!parallel || total <= kParallelThreshold) {
    run_range(0, total);
    return;
  }
  const int nthr = threads > 0 ? threads : get_num_threads();
#pragma omp parallel num_threads(nthr)
  {
    int64_t nt = omp_get_num_threads(), t = omp_get_thread_num();
    int64_t e0 = total * t / nt, e1 = total * (t + 1) / nt;
    if (e0 < e1) run_range(e0, e1);
  }
}

}  // namespace convgrad::kernels
