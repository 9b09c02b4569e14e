// max_pool2d and avg_pool2d with their full option sets over the kernels of core/kernels/pool.h.
#include "autograd/ops_pool.h"

#include "autograd/node.h"
#include "core/kernels/pool.h"
#include "core/operand_check.h"

namespace convgrad {

namespace {

// PyTorch rejects a stride of 0 in the options (the legacy Pair overloads read 0 as "the kernel").
void require_stride(const char* op, Pair stride) {
  check(stride[0] > 0 && stride[1] > 0, "{}: stride must be positive, got [{}, {}]", op, stride[0],
        stride[1]);
}

}  // namespace

Tensor max_pool2d(const Tensor& x, const MaxPool2dOptions& options) {
  check_operand(x, "max_pool2d", "input");
  require_stride("max_pool2d", options.stride());
  const auto geom = kernels::pool2d_geometry("max_pool2d", x.shape(), options.kernel_size(), options.stride(),
                                             options.padding(), options.ceil_mode());
  Tensor out, indices;
  kernels::max_pool2d_forward(x, geom, out, indices);
  return make_result(out, {x}, "max_pool2d", [indices, geom, shape = x.shape()](const Tensor& g) {
    return std::vector<Tensor>{kernels::max_pool2d_backward(g, indices, shape, geom)};
  });
}

Tensor avg_pool2d(const Tensor& x, const AvgPool2dOptions& options) {
  check_operand(x, "avg_pool2d", "input");
  require_stride("avg_pool2d", options.stride());
  check(!options.divisor_override() || *options.divisor_override() != 0,
        "avg_pool2d: divisor_override must not be zero; leave it unset to divide by the window size");
  const auto geom = kernels::pool2d_geometry("avg_pool2d", x.shape(), options.kernel_size(), options.stride(),
                                             options.padding(), options.ceil_mode());
  const kernels::AvgPoolDivisor div{options.count_include_pad(), options.divisor_override().value_or(0)};
  Tensor out = kernels::avg_pool2d_forward(x, geom, div);
  return make_result(out, {x}, "avg_pool2d", [geom, div, shape = x.shape()](const Tensor& g) {
    return std::vector<Tensor>{kernels::avg_pool2d_backward(g, shape, geom, div)};
  });
}

}  // namespace convgrad
