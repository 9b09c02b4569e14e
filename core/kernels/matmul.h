// Matrix-product kernels on float32: a raw strided GEMM and torch.matmul semantics on tensors.
#pragma once

#include "core/tensor.h"

namespace convgrad::kernels {

/// C = A @ B (or C += A @ B with `accumulate`) for row-major float32 blocks:
/// A is m x k with element (i, p) at a[i * a_row + p * a_col] (any strides, so transposed views work),
/// B is k x n with rows `ldb` apart and unit column stride, C is m x n with rows `ldc` apart.
/// Cache-blocked i-k-j loops; OpenMP over output tiles when the product is large.
void gemm(int64_t m, int64_t n, int64_t k, const float* a, int64_t a_row, int64_t a_col, const float* b,
          int64_t ldb, float* c, int64_t ldc, bool accumulate = false);

/// torch.matmul on float32 tensors: 1-D @ 1-D is a dot product (0-d), a 1-D operand gains (and then
/// loses) a unit dim, and (..., m, k) @ (..., k, n) broadcasts the batch dims. Returns a new contiguous
/// tensor. Throws convgrad::Error naming both shapes when the inner dims or batch dims disagree.
Tensor matmul(const Tensor& a, const Tensor& b);

}  // namespace convgrad::kernels
