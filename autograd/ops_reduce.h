// Differentiable reductions and matrix products.
#pragma once

#include <vector>

#include "core/tensor.h"

namespace convgrad {

/// Sum of all elements (a 0-d tensor).
Tensor sum(const Tensor& x);
/// Sum over `dims` (negative allowed; empty = all); keepdim keeps them as size 1.
Tensor sum(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim = false);
/// Mean of all elements.
Tensor mean(const Tensor& x);
/// Mean over `dims`.
Tensor mean(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim = false);
/// Largest element (gradient to the first maximum).
Tensor max(const Tensor& x);
/// Largest value along `dim`.
Tensor max(const Tensor& x, int64_t dim, bool keepdim = false);
/// Smallest element.
Tensor min(const Tensor& x);
/// Smallest value along `dim`.
Tensor min(const Tensor& x, int64_t dim, bool keepdim = false);
/// Index (int64) of the first largest value along `dim`.
Tensor argmax(const Tensor& x, int64_t dim, bool keepdim = false);
/// Index (int64) of the first smallest value along `dim`.
Tensor argmin(const Tensor& x, int64_t dim, bool keepdim = false);
/// log(sum(exp(x))) along `dim`, computed stably.
Tensor logsumexp(const Tensor& x, int64_t dim, bool keepdim = false);
/// Softmax along `dim`.
Tensor softmax(const Tensor& x, int64_t dim);
/// Log-softmax along `dim`, computed stably.
Tensor log_softmax(const Tensor& x, int64_t dim);

/// Matrix product: 1-D/2-D like torch.matmul, and batched (..., n, k) @ (..., k, m) with broadcasting.
Tensor matmul(const Tensor& a, const Tensor& b);

}  // namespace convgrad
