// max_pool2d and avg_pool2d with their full option sets over the kernels of core/kernels/pool.h.
#include "autograd/ops_pool.h"

#include "autograd/linear_op.h"
#include "autograd/node.h"
#include "autograd/ops_nn.h"
#include "core/kernels/pool.h"
#include "core/operand_check.h"

namespace convgrad {

namespace {

// PyTorch rejects a stride of 0 in the options (the legacy Pair overloads read 0 as "the kernel").
void require_stride(const char* op, Pair stride) {
  CONVGRAD_CHECK(stride[0] > 0 && stride[1] > 0, "{}: stride must be positive, got [{}, {}]", op, stride[0],
                 stride[1]);
}

// Max pooling over a checked geometry. With the winners fixed, max pooling is linear (a gather): recorded
// with its adjoint, the scatter.
Tensor max_pool2d_result(const Tensor& x, const kernels::Pool2dGeometry& geom) {
  Tensor out, indices;
  kernels::max_pool2d_forward(x, geom, out, indices);
  auto pair = std::make_shared<const detail::LinearPair>(detail::LinearPair{
      [indices, geom](const Tensor& t) { return kernels::max_pool2d_gather(t, indices, geom); },
      [indices, geom, shape = x.shape()](const Tensor& g) {
        return kernels::max_pool2d_backward(g, indices, shape, geom);
      }});
  return detail::linear_result(out, x, "max_pool2d", pair);
}

}  // namespace

Tensor max_pool2d(const Tensor& x, const MaxPool2dOptions& options) {
  check_operand(x, "max_pool2d", "input");
  require_stride("max_pool2d", options.stride());
  return max_pool2d_result(
      x, kernels::pool2d_geometry("max_pool2d", x.shape(), options.kernel_size(), options.stride(),
                                  options.padding(), options.ceil_mode()));
}

// Declared in autograd/ops_nn.h: a zero stride there means the kernel size.
Tensor max_pool2d(const Tensor& x, Pair kernel, Pair stride, Pair padding) {
  check_operand(x, "max_pool2d", "input");
  return max_pool2d_result(x, kernels::pool2d_geometry("max_pool2d", x.shape(), kernel, stride, padding));
}

Tensor avg_pool2d(const Tensor& x, const AvgPool2dOptions& options) {
  check_operand(x, "avg_pool2d", "input");
  require_stride("avg_pool2d", options.stride());
  CONVGRAD_CHECK(
      !options.divisor_override() || *options.divisor_override() != 0,
      "avg_pool2d: divisor_override must not be zero; leave it unset to divide by the window size");
  const auto geom = kernels::pool2d_geometry("avg_pool2d", x.shape(), options.kernel_size(), options.stride(),
                                             options.padding(), options.ceil_mode());
  const kernels::AvgPoolDivisor div{options.count_include_pad(), options.divisor_override().value_or(0)};
  // Linear in x: recorded with its adjoint, so it differentiates to any order.
  auto pair = std::make_shared<const detail::LinearPair>(
      detail::LinearPair{[geom, div](const Tensor& t) { return kernels::avg_pool2d_forward(t, geom, div); },
                         [geom, div, shape = x.shape()](const Tensor& g) {
                           return kernels::avg_pool2d_backward(g, shape, geom, div);
                         }});
  return detail::linear_result(pair->map(x), x, "avg_pool2d", pair);
}

}  // namespace convgrad
