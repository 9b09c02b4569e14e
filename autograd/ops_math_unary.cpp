// Differentiable unary math. The forward map and its derivative live side by side in
// core/kernels/elementwise_unary.cpp; here each op records the node that applies that derivative.
#include "autograd/anomaly.h"
#include "autograd/node.h"
#include "autograd/ops_math.h"
#include "autograd/grad_mode.h"
#include "core/factory.h"
#include "core/kernels/elementwise.h"
#include "core/kernels/relu.h"

namespace convgrad {

namespace k = kernels;

namespace {

// y = op(x); backward: grad * op'(x), computed from the saved input or output, whichever the rule
// reads: keeping only that one lets the other be freed after the forward (relu keeps y, not x).
Tensor unary_op(const Tensor& x, k::UnaryOp op, k::UnaryParams params = {}) {
  Tensor y = k::unary(op, x, params);
  const bool from_output = k::unary_backward_reads(op) == k::UnarySaved::Output;
  SavedTensor xd = save(x, !from_output), yd = save(y, from_output);
  return make_result(y, {x}, k::unary_op_name(op), [op, params, xd, yd](const Tensor& g) {
    // The incoming gradient is overwritten when the engine holds the only handle to it and its storage (and
    // anomaly mode, which reports the incoming gradient after the closure ran, is off).
    const bool own = g.impl_ptr().use_count() == 1 && g.storage().use_count() == 1 && !detect_anomaly();
    return std::vector<Tensor>{k::unary_backward(op, g, xd.unpack(), yd.unpack(), params, own)};
  });
}

}  // namespace

Tensor exp(const Tensor& x) { return unary_op(x, k::UnaryOp::Exp); }
Tensor log(const Tensor& x) { return unary_op(x, k::UnaryOp::Log); }
Tensor sqrt(const Tensor& x) { return unary_op(x, k::UnaryOp::Sqrt); }
Tensor pow(const Tensor& x, float exponent) { return unary_op(x, k::UnaryOp::Pow, {exponent, 0.f}); }
Tensor abs(const Tensor& x) { return unary_op(x, k::UnaryOp::Abs); }
Tensor relu(const Tensor& x) {
  // A contiguous float32 input saves a one-bit mask instead of y: the backward, memory-bound, then reads
  // 1/32 of the bytes (core/kernels/relu.h). Other inputs take the general unary path.
  if (!x.defined() || x.dtype() != DType::Float32 || !x.is_contiguous() || !GradMode::is_enabled() ||
      !x.requires_grad())
    return unary_op(x, k::UnaryOp::Relu);
  k::ReluMasked r = k::relu_masked(x);
  return make_result(r.y, {x}, "relu", [mask = r.mask](const Tensor& g) {
    const bool own = g.impl_ptr().use_count() == 1 && g.storage().use_count() == 1 && !detect_anomaly();
    Tensor gc = g.is_contiguous() ? g : clone_data(g);
    return std::vector<Tensor>{k::relu_backward_masked(gc, mask, own || !gc.is_same(g))};
  });
}
Tensor leaky_relu(const Tensor& x, float negative_slope) {
  return unary_op(x, k::UnaryOp::LeakyRelu, {negative_slope, 0.f});
}
Tensor sigmoid(const Tensor& x) { return unary_op(x, k::UnaryOp::Sigmoid); }
Tensor tanh(const Tensor& x) { return unary_op(x, k::UnaryOp::Tanh); }
Tensor clamp(const Tensor& x, float lo, float hi) { return unary_op(x, k::UnaryOp::Clamp, {lo, hi}); }

}  // namespace convgrad
