// Reduction kernels on float32 tensors (any strides): sums, means, extrema with their indices, and the
// stable softmax family along one dim. No autograd; the differentiable wrappers live in autograd/.
#pragma once

#include <vector>

#include "core/tensor.h"

namespace convgrad::kernels {

/// `dims` mapped into [0, ndim) and sorted; empty means every dim. Throws naming `op` on an
/// out-of-range or repeated dim.
std::vector<int64_t> normalize_dims(const std::vector<int64_t>& dims, int64_t ndim, const char* op);

/// The shape left after reducing normalised `dims` of `shape`: removed, or kept as 1 with keepdim.
Shape reduced_shape(const Shape& shape, const std::vector<int64_t>& dims, bool keepdim);

/// Sum over `dims` (negatives allowed; empty = all), accumulated in float64.
Tensor sum(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim = false);
/// Mean over `dims` (NaN for an empty reduction, like PyTorch).
Tensor mean(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim = false);

/// Values and int64 indices of an extremum along one dim.
struct ValuesIndices {
  Tensor values;   ///< float32
  Tensor indices;  ///< int64, the first extremum's position along the dim
};
/// Largest value along `dim` and the index of its first occurrence (NaN counts as largest).
ValuesIndices max_dim(const Tensor& x, int64_t dim, bool keepdim = false);
/// Smallest value along `dim` and the index of its first occurrence (NaN counts as smallest).
ValuesIndices min_dim(const Tensor& x, int64_t dim, bool keepdim = false);

/// A zero tensor of `shape` with `values` written at position `indices` along `dim`:
/// out[..., indices[..., i, ...], ...] = values[..., i, ...]. `values`/`indices` have `shape` with
/// size 1 at `dim` (keepdim layout). The backward of max_dim/min_dim.
Tensor scatter_along_dim(const Tensor& values, const Tensor& indices, const Shape& shape, int64_t dim);

/// log(sum(exp(x))) along `dim`, shifted by the maximum so it cannot overflow.
Tensor logsumexp(const Tensor& x, int64_t dim, bool keepdim = false);
/// exp(x - logsumexp(x)) along `dim`.
Tensor softmax(const Tensor& x, int64_t dim);
/// x - logsumexp(x) along `dim`.
Tensor log_softmax(const Tensor& x, int64_t dim);
/// Gradient of softmax given its output `y`: y * (grad - sum(grad * y, dim)).
Tensor softmax_backward(const Tensor& grad, const Tensor& y, int64_t dim);
/// Gradient of log_softmax given its output `y`: grad - exp(y) * sum(grad, dim).
Tensor log_softmax_backward(const Tensor& grad, const Tensor& y, int64_t dim);
/// Gradient of logsumexp: grad * exp(x - lse), `grad` and `lse` in keepdim shape.
Tensor logsumexp_backward(const Tensor& grad, const Tensor& x, const Tensor& lse, int64_t dim);

/// The bias gradient of a convolution: out[c] = the sum over n and i of x[(n * channels + c) * spatial + i]
/// for a contiguous (N, C, H*W) array. Accumulated in double in this fixed order, so that every backend
/// and algorithm gives the same bits for db.
void channel_sum(const float* x, int64_t batch, int64_t channels, int64_t spatial, float* out);

}  // namespace convgrad::kernels
