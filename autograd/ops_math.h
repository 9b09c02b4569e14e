// Differentiable elementwise ops: arithmetic with NumPy broadcasting, unary math, comparisons.
#pragma once

#include "core/tensor.h"

namespace convgrad {

/// a + b with broadcasting.
Tensor add(const Tensor& a, const Tensor& b);
/// a - b with broadcasting.
Tensor sub(const Tensor& a, const Tensor& b);
/// a * b with broadcasting.
Tensor mul(const Tensor& a, const Tensor& b);
/// a / b with broadcasting.
Tensor div(const Tensor& a, const Tensor& b);
/// -a.
Tensor neg(const Tensor& a);
/// Elementwise maximum of a and b (gradient to the larger; ties split evenly).
Tensor maximum(const Tensor& a, const Tensor& b);
/// Elementwise minimum of a and b.
Tensor minimum(const Tensor& a, const Tensor& b);

Tensor operator+(const Tensor& a, const Tensor& b);
Tensor operator-(const Tensor& a, const Tensor& b);
Tensor operator*(const Tensor& a, const Tensor& b);
Tensor operator/(const Tensor& a, const Tensor& b);
Tensor operator-(const Tensor& a);
Tensor operator+(const Tensor& a, float s);
Tensor operator+(float s, const Tensor& a);
Tensor operator-(const Tensor& a, float s);
Tensor operator-(float s, const Tensor& a);
Tensor operator*(const Tensor& a, float s);
Tensor operator*(float s, const Tensor& a);
Tensor operator/(const Tensor& a, float s);
Tensor operator/(float s, const Tensor& a);

/// e^x.
Tensor exp(const Tensor& x);
/// Natural logarithm.
Tensor log(const Tensor& x);
/// Square root.
Tensor sqrt(const Tensor& x);
/// x^exponent.
Tensor pow(const Tensor& x, float exponent);
/// |x| (gradient 0 at 0, like PyTorch).
Tensor abs(const Tensor& x);
/// max(x, 0).
Tensor relu(const Tensor& x);
/// x for x > 0, slope * x otherwise.
Tensor leaky_relu(const Tensor& x, float negative_slope = 0.01f);
/// 1 / (1 + e^-x), computed stably.
Tensor sigmoid(const Tensor& x);
/// tanh(x).
Tensor tanh(const Tensor& x);
/// x clamped into [lo, hi] (gradient 1 inside, 0 outside).
Tensor clamp(const Tensor& x, float lo, float hi);

/// cond ? a : b elementwise with broadcasting (cond is nonzero-as-true float32 or int64).
Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b);

// Comparisons return float32 0/1 (no gradient), broadcasting like arithmetic.
/// a == b.
Tensor eq(const Tensor& a, const Tensor& b);
/// a != b.
Tensor ne(const Tensor& a, const Tensor& b);
/// a < b.
Tensor lt(const Tensor& a, const Tensor& b);
/// a <= b.
Tensor le(const Tensor& a, const Tensor& b);
/// a > b.
Tensor gt(const Tensor& a, const Tensor& b);
/// a >= b.
Tensor ge(const Tensor& a, const Tensor& b);

/// Converts to `dtype` (float32 <-> int64, truncating toward zero); no gradient through int64.
Tensor to_dtype(const Tensor& x, DType dtype);
/// A contiguous copy that keeps the gradient path (like torch.clone).
Tensor clone(const Tensor& x);
/// Sums `x` down to `shape` (the inverse of broadcasting; used by every broadcasting backward).
Tensor sum_to(const Tensor& x, const Shape& shape);
/// True when shapes match and |a - b| <= atol + rtol * |b| everywhere (NaNs are never close).
bool allclose(const Tensor& a, const Tensor& b, double rtol = 1e-5, double atol = 1e-8);

}  // namespace convgrad
