#include "core/kernels/matmul.h"

#include <algorithm>
#include <cstring>

#include "core/factory.h"
#include "core/kernels/layout.h"
#include "core/threading.h"

namespace convgrad::kernels {

namespace {

constexpr int64_t kRows = 4;     // rows of C updated together: each B row loaded once feeds 4 rows
constexpr int64_t kCols = 256;   // columns per tile: 4 C row segments stay in L1
constexpr int64_t kDepth = 256;  // k per pass: the B panel (kDepth x kCols) stays in L2

// C[0..R, 0..nc) += A[0..R, p0..p1) @ B[p0..p1, 0..nc) for R <= kRows rows, i-k-j order.
template <int R>
void micro_tile(int64_t nc, int64_t p0, int64_t p1, const float* a, int64_t a_row, int64_t a_col,
                const float* b, int64_t ldb, float* c, int64_t ldc) {
  float* __restrict c0 = c;
  float* __restrict c1 = R > 1 ? c + ldc : c;
  float* __restrict c2 = R > 2 ? c + 2 * ldc : c;
  float* __restrict c3 = R > 3 ? c + 3 * ldc : c;
  for (int64_t p = p0; p < p1; ++p) {
    const float* __restrict brow = b + p * ldb;
    const float a0 = a[p * a_col];
    const float a1 = R > 1 ? a[a_row + p * a_col] : 0.f;
    const float a2 = R > 2 ? a[2 * a_row + p * a_col] : 0.f;
    const float a3 = R > 3 ? a[3 * a_row + p * a_col] : 0.f;
    for (int64_t j = 0; j < nc; ++j) {
      const float bj = brow[j];
      c0[j] += a0 * bj;
      if constexpr (R > 1) c1[j] += a1 * bj;
      if constexpr (R > 2) c2[j] += a2 * bj;
      if constexpr (R > 3) c3[j] += a3 * bj;
    }
  }
}

}  // namespace

void gemm(int64_t m, int64_t n, int64_t k, const float* a, int64_t a_row, int64_t a_col, const float* b,
          int64_t ldb, float* c, int64_t ldc, bool accumulate) {
  if (m <= 0 || n <= 0) return;
  if (!accumulate)
    for (int64_t i = 0; i < m; ++i) std::memset(c + i * ldc, 0, static_cast<size_t>(n) * sizeof(float));
  if (k <= 0) return;
  const int64_t row_tiles = (m + kRows - 1) / kRows, col_tiles = (n + kCols - 1) / kCols;
  const bool parallel = row_tiles * col_tiles > 1 && m * n * k >= (int64_t{1} << 18);
  for (int64_t p0 = 0; p0 < k; p0 += kDepth) {
    const int64_t p1 = std::min(k, p0 + kDepth);
    // Column tiles outer so one B panel is reused by every row tile that follows.
#pragma omp parallel for num_threads(get_num_threads()) collapse(2) schedule(static) if (parallel)
    for (int64_t jt = 0; jt < col_tiles; ++jt)
      for (int64_t it = 0; it < row_tiles; ++it) {
        const int64_t i = it * kRows, j = jt * kCols;
        const int64_t rows = std::min(kRows, m - i), nc = std::min(kCols, n - j);
        const float* ai = a + i * a_row;
        const float* bj = b + j;
        float* cij = c + i * ldc + j;
        switch (rows) {
          case 4:
            micro_tile<4>(nc, p0, p1, ai, a_row, a_col, bj, ldb, cij, ldc);
            break;
          case 3:
            micro_tile<3>(nc, p0, p1, ai, a_row, a_col, bj, ldb, cij, ldc);
            break;
          case 2:
            micro_tile<2>(nc, p0, p1, ai, a_row, a_col, bj, ldb, cij, ldc);
            break;
          default:
            micro_tile<1>(nc, p0, p1, ai, a_row, a_col, bj, ldb, cij, ldc);
            break;
        }
      }
  }
}

namespace {

// Strides of `batch` (a broadcast target) for an operand with batch sizes `sizes` and `strides`
// aligned to the right; broadcast dims get stride 0.
Shape batch_strides(const Shape& batch, const Shape& sizes, const Shape& strides) {
  Shape out(batch.size(), 0);
  size_t off = batch.size() - sizes.size();
  for (size_t i = 0; i < sizes.size(); ++i) out[off + i] = sizes[i] == 1 ? 0 : strides[i];
  return out;
}

}  // namespace

Tensor matmul(const Tensor& a_in, const Tensor& b_in) {
  CONVGRAD_CHECK(a_in.dtype() == DType::Float32 && b_in.dtype() == DType::Float32,
                 "matmul: expected float32 operands, got {} {} and {} {}", dtype_name(a_in.dtype()),
                 shape_str(a_in.shape()), dtype_name(b_in.dtype()), shape_str(b_in.shape()));
  CONVGRAD_CHECK(a_in.dim() >= 1 && b_in.dim() >= 1,
                 "matmul: both operands need at least 1 dim, got shapes {} and {}; use mul for scalars",
                 shape_str(a_in.shape()), shape_str(b_in.shape()));
  // A 1-D operand becomes a row (left) or a column (right) matrix; the unit dim is dropped at the end.
  const bool a_vec = a_in.dim() == 1, b_vec = b_in.dim() == 1;
  Tensor a = a_vec ? as_strided(a_in, {1, a_in.shape()[0]}, {0, a_in.strides()[0]}, a_in.offset()) : a_in;
  Tensor b = b_vec ? as_strided(b_in, {b_in.shape()[0], 1}, {b_in.strides()[0], 0}, b_in.offset()) : b_in;
  const int64_t m = a.shape()[a.dim() - 2], k = a.shape()[a.dim() - 1];
  const int64_t k2 = b.shape()[b.dim() - 2], n = b.shape()[b.dim() - 1];
  CONVGRAD_CHECK(k == k2,
                 "matmul: shapes {} and {} cannot be multiplied: the inner dims differ ({} vs {}); expected "
                 "(..., m, k) @ (..., k, n)",
                 shape_str(a_in.shape()), shape_str(b_in.shape()), k, k2);
  Shape a_batch(a.shape().begin(), a.shape().end() - 2), b_batch(b.shape().begin(), b.shape().end() - 2);
  for (size_t i = 1; i <= std::min(a_batch.size(), b_batch.size()); ++i) {
    int64_t sa = a_batch[a_batch.size() - i], sb = b_batch[b_batch.size() - i];
    CONVGRAD_CHECK(
        sa == sb || sa == 1 || sb == 1,
        "matmul: the batch dims of shapes {} and {} cannot be broadcast ({} vs {}; each pair must be equal or "
        "one of them 1)",
        shape_str(a_in.shape()), shape_str(b_in.shape()), shape_str(a_batch), shape_str(b_batch));
  }
  Shape batch = broadcast_shapes(a_batch, b_batch, "matmul");

  Shape out_shape = batch;
  if (!a_vec) out_shape.push_back(m);
  if (!b_vec) out_shape.push_back(n);
  Tensor out = empty(out_shape);
  if (out.numel() == 0) return out;

  // B needs unit column stride for the vectorised inner loop.
  if (n > 1 && b.strides()[b.dim() - 1] != 1) b = contiguous_copy(b);
  const int64_t a_row = a.strides()[a.dim() - 2], a_col = a.strides()[a.dim() - 1];
  const int64_t ldb = b.strides()[b.dim() - 2];
  float* c = out.data<float>();
  const float* pa = a.data<float>();
  const float* pb = b.data<float>();

  Shape a_bs = batch_strides(batch, a_batch, Shape(a.strides().begin(), a.strides().end() - 2));
  Shape b_bs = batch_strides(batch, b_batch, Shape(b.strides().begin(), b.strides().end() - 2));
  const int64_t batches = shape_numel(batch);
  // B shared by every batch and A's batch rows evenly spaced: one tall GEMM (e.g. (N, L, k) @ (k, n)).
  bool b_shared = std::all_of(b_bs.begin(), b_bs.end(), [](int64_t s) { return s == 0; });
  bool a_stacked = true;
  for (int64_t d = static_cast<int64_t>(batch.size()) - 1, expect = m * a_row; d >= 0; --d) {
    a_stacked = a_stacked && (batch[d] == 1 || a_bs[d] == expect);
    expect *= batch[d];
  }
  if (batches > 1 && b_shared && a_stacked) {
    gemm(batches * m, n, k, pa, a_row, a_col, pb, ldb, c, n);
    return out;
  }
  // Many small products: spread whole matrices over threads instead of tiles of one.
  const bool parallel =
      batches > 1 && m * n * k < (int64_t{1} << 18) && batches * m * n * k >= (int64_t{1} << 18);
#pragma omp parallel for num_threads(get_num_threads()) schedule(static) if (parallel)
  for (int64_t t = 0; t < batches; ++t) {
    int64_t rem = t, aoff = 0, boff = 0;
    for (int64_t d = static_cast<int64_t>(batch.size()) - 1; d >= 0; --d) {
      int64_t i = rem % batch[d];
      rem /= batch[d];
      aoff += i * a_bs[d];
      boff += i * b_bs[d];
    }
    gemm(m, n, k, pa + aoff, a_row, a_col, pb + boff, ldb, c + t * m * n, n);
  }
  return out;
}

}  // namespace convgrad::kernels
