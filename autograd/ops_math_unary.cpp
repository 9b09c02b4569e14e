// Differentiable unary math. The forward map and its derivative live side by side in
// core/kernels/elementwise_unary.cpp; here each op records the node that applies that derivative.
#include "autograd/node.h"
#include "autograd/ops_math.h"
#include "core/kernels/elementwise.h"

namespace convgrad {

namespace k = kernels;

namespace {

// y = op(x); backward: grad * op'(x), computed from the saved input and output.
Tensor unary_op(const Tensor& x, k::UnaryOp op, k::UnaryParams params = {}) {
  Tensor y = k::unary(op, x, params);
  return make_result(y, {x}, k::unary_op_name(op),
                     [op, params, xd = x.detach(), yd = y.detach()](const Tensor& g) {
                       return std::vector<Tensor>{k::unary_backward(op, g, xd, yd, params)};
                     });
}

}  // namespace

Tensor exp(const Tensor& x) { return unary_op(x, k::UnaryOp::Exp); }
Tensor log(const Tensor& x) { return unary_op(x, k::UnaryOp::Log); }
Tensor sqrt(const Tensor& x) { return unary_op(x, k::UnaryOp::Sqrt); }
Tensor pow(const Tensor& x, float exponent) { return unary_op(x, k::UnaryOp::Pow, {exponent, 0.f}); }
Tensor abs(const Tensor& x) { return unary_op(x, k::UnaryOp::Abs); }
Tensor relu(const Tensor& x) { return unary_op(x, k::UnaryOp::Relu); }
Tensor leaky_relu(const Tensor& x, float negative_slope) {
  return unary_op(x, k::UnaryOp::LeakyRelu, {negative_slope, 0.f});
}
Tensor sigmoid(const Tensor& x) { return unary_op(x, k::UnaryOp::Sigmoid); }
Tensor tanh(const Tensor& x) { return unary_op(x, k::UnaryOp::Tanh); }
Tensor clamp(const Tensor& x, float lo, float hi) { return unary_op(x, k::UnaryOp::Clamp, {lo, hi}); }

}  // namespace convgrad
