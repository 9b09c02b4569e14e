// Differentiable unary math. The forward map and its derivative live side by side in
// core/kernels/elementwise_unary.cpp; here each op records the node that applies that derivative.
#include "autograd/grad_mode.h"
#include "autograd/node.h"
#include "autograd/ops_math.h"
#include "core/factory.h"
#include "core/kernels/elementwise.h"
#include "core/kernels/relu.h"

namespace convgrad {

namespace k = kernels;

namespace {

// op'(x) as differentiable ops on x (which keeps its history), for create_graph. Piecewise-constant
// derivatives (relu, leaky_relu, abs, clamp) are masks computed by comparisons, which record no graph.
Tensor derivative(k::UnaryOp op, const Tensor& x, k::UnaryParams p) {
  Tensor zero = k::scalar(0.f);
  switch (op) {
    case k::UnaryOp::Neg:
      return full(x.shape(), -1.f);
    case k::UnaryOp::Exp:
      return exp(x);
    case k::UnaryOp::Log:
      return 1.f / x;
    case k::UnaryOp::Sqrt:
      return 0.5f / sqrt(x);
    case k::UnaryOp::Pow:
      return p.a * pow(x, p.a - 1.f);
    case k::UnaryOp::Abs:
      return gt(x, zero) - lt(x, zero);
    case k::UnaryOp::Relu:
      return gt(x, zero);
    case k::UnaryOp::LeakyRelu:
      return gt(x, zero) * (1.f - p.a) + p.a;
    case k::UnaryOp::Sigmoid: {
      Tensor y = sigmoid(x);
      return y * (1.f - y);
    }
    case k::UnaryOp::Tanh: {
      Tensor y = tanh(x);
      return 1.f - y * y;
    }
    case k::UnaryOp::Clamp:
      return ge(x, k::scalar(p.a)) * le(x, k::scalar(p.b));
  }
  fail("unary op {}: no derivative rule", static_cast<int>(op));
}

// y = op(x); backward: grad * op'(x), computed from the saved input or output, whichever the rule
// reads: keeping only that one lets the other be freed after the forward (relu keeps y, not x).
Tensor unary_op(const Tensor& x, k::UnaryOp op, k::UnaryParams params = {}) {
  Tensor y = k::unary(op, x, params);
  const bool from_output = k::unary_backward_reads(op) == k::UnarySaved::Output;
  // The input is saved (with its history) for create_graph, which differentiates derivative(x); the
  // first-order rule reads only what unary_backward_reads names, so only that is checked there.
  SavedTensor xs = save(x), ys = save_output(y, from_output);
  return make_result(
      y, {x}, k::unary_op_name(op),
      [op, params, xs, ys, from_output](const Tensor& g) {
        if (GradMode::is_enabled())
          return std::vector<Tensor>{g * derivative(op, xs.unpack(), params)};  // create_graph
        // Overwrites g when the engine owns it (Note [Owned gradient] in autograd/node.h).
        return std::vector<Tensor>{k::unary_backward(op, g, from_output ? Tensor() : xs.unpack(), ys.unpack(),
                                                     params, owns_gradient(g))};
      },
      DoubleBackward::Supported);
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
  return make_result(
      r.y, {x}, "relu",
      [mask = r.mask, x](const Tensor& g) {
        if (GradMode::is_enabled()) return std::vector<Tensor>{g * derivative(k::UnaryOp::Relu, x, {})};
        Tensor gc = g.is_contiguous() ? g : clone_data(g);
        return std::vector<Tensor>{k::relu_backward_masked(gc, mask, owns_gradient(g) || !gc.is_same(g))};
      },
      DoubleBackward::Supported);
}
Tensor leaky_relu(const Tensor& x, float negative_slope) {
  return unary_op(x, k::UnaryOp::LeakyRelu, {negative_slope, 0.f});
}
Tensor sigmoid(const Tensor& x) { return unary_op(x, k::UnaryOp::Sigmoid); }
Tensor tanh(const Tensor& x) { return unary_op(x, k::UnaryOp::Tanh); }
Tensor clamp(const Tensor& x, float lo, float hi) { return unary_op(x, k::UnaryOp::Clamp, {lo, hi}); }

}  // namespace convgrad
