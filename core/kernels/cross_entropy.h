// Fused cross entropy over class dim 1: log-softmax + negative log-likelihood in one pass forward, and
// softmax - onehot in one pass backward. Raw contiguous buffers; layers/loss.cpp wraps them in autograd.
#pragma once

#include <cstdint>

namespace convgrad::kernels {

/// Sizes and class options shared by the forward and the backward: logits (N, C, S) row-major with
/// S = the product of the spatial sizes, targets (N, S).
struct CrossEntropyGeometry {
  int64_t N = 0, C = 0, S = 0;
  const float* weight = nullptr;  ///< C per-class weights, or null for all ones
  int64_t ignore_index = -100;    ///< targets equal to it contribute nothing
};

/// What the forward accumulates.
struct CrossEntropySums {
  double loss = 0.0;    ///< sum over counted elements of w_y * (lse - x_y)
  double weight = 0.0;  ///< sum of w_y over counted elements (the Mean divisor)
  int64_t bad_index =
      -1;  ///< flat (n, s) index of the first target outside [0, C) and not ignored; -1 if none
};

/// The sum of w_y over the targets that count, and the first bad target (`loss` stays 0): what a fused
/// forward that also writes the gradient needs to know first. Parallel above 64k targets.
CrossEntropySums cross_entropy_weights(const CrossEntropyGeometry& g, const int64_t* target);

/// Forward: for every (n, s) the loss w_y (lse - x_y) (0 where ignored), written to `losses` when not
/// null and summed. When `stats` is not null it receives stats[n S + s] = max over classes and
/// stats[N S + n S + s] = log(sum of exp(x - max)) (kept apart so huge logits keep the log's precision),
/// which cross_entropy_backward needs. When `grad` is not null it receives the gradient for an upstream
/// of 1: grad_scale * w_y * (softmax(x) - onehot(y)), 0 where ignored (one exp per logit serves both).
/// Runs in parallel above 64k logits. A bad target only sets bad_index (the caller throws); the other
/// outputs are then unspecified.
CrossEntropySums cross_entropy_forward(const CrossEntropyGeometry& g, const float* x, const int64_t* target,
                                       float* stats, float* losses, float* grad = nullptr,
                                       float grad_scale = 1.f);

/// Backward: grad_x = coef * (softmax(x) - onehot(y)) with coef = upstream * w_y * scale (0 where
/// ignored); `upstream` is one value per (n, s), or null to use `upstream_scalar` everywhere. Writes every
/// element of grad_x. Targets must have passed the forward's check.
void cross_entropy_backward(const CrossEntropyGeometry& g, const float* x, const int64_t* target,
                            const float* stats, const float* upstream, float upstream_scalar, float scale,
                            float* grad_x);

}  // namespace convgrad::kernels
