// The three convolution kernels as differentiable ops: the gradients of each are the other two, so
// conv2d's and conv_transpose2d's gradients can be differentiated again through the same kernels.
#include "autograd/ops_conv_kernel.h"

#include "autograd/node.h"
#include "core/backend.h"
#include "core/factory.h"

namespace convgrad::detail {

namespace {

// The values of `t` as a contiguous tensor of `shape` (same element count), without autograd.
Tensor plain(const Tensor& t, const Shape& shape) {
  if (t.is_contiguous() && t.shape() == shape) return t.detach();
  Tensor c = t.is_contiguous() ? t : clone_data(t);
  return as_strided(c, shape, contiguous_strides(shape), c.offset());
}

const char* kernel_name(ConvKernel k) {
  switch (k) {
    case ConvKernel::Forward:
      return "conv2d";
    case ConvKernel::BackwardData:
      return "conv_transpose2d";
    case ConvKernel::BackwardWeights:
      return "conv2d_weight_grad";
  }
  return "conv";
}

}  // namespace

Tensor conv_kernel(ConvKernel kernel, const Tensor& a, const Tensor& b, const ConvShapes& s) {
  Tensor out;
  switch (kernel) {
    case ConvKernel::Forward:
      out = uninitialized(s.dst);
      conv_forward(plain(a, s.src), plain(b, s.wei), Tensor(), out, s.params, {});
      break;
    case ConvKernel::BackwardData:
      out = uninitialized(s.src);
      conv_backward_data(plain(a, s.dst), plain(b, s.wei), Tensor(), out, s.params, {});
      break;
    case ConvKernel::BackwardWeights:
      out = uninitialized(s.wei);
      conv_backward_weights(plain(a, s.src), plain(b, s.dst), out, Tensor(), s.params, {});
      break;
  }
  const auto n = needs(a, b);
  // From <F(x, w), y> = <x, D(y, w)> = <w, W(x, y)>: differentiate each form in each argument.
  return make_result(
      out, {a, b}, kernel_name(kernel),
      [kernel, a, b, s, n](const Tensor& g) {
        switch (kernel) {
          case ConvKernel::Forward:  // y = F(x, w): dx = D(g, w), dw = W(x, g)
            return grads(
                n, [&] { return conv_kernel(ConvKernel::BackwardData, g, b, s); },
                [&] { return conv_kernel(ConvKernel::BackwardWeights, a, g, s); });
          case ConvKernel::BackwardData:  // x = D(y, w): dy = F(g, w), dw = W(g, y)
            return grads(
                n, [&] { return conv_kernel(ConvKernel::Forward, g, b, s); },
                [&] { return conv_kernel(ConvKernel::BackwardWeights, g, a, s); });
          case ConvKernel::BackwardWeights:  // w = W(x, y): dx = D(y, g), dy = F(x, g)
            return grads(
                n, [&] { return conv_kernel(ConvKernel::BackwardData, b, g, s); },
                [&] { return conv_kernel(ConvKernel::Forward, a, g, s); });
        }
        return std::vector<Tensor>(2);
      },
      DoubleBackward::Supported);
}

}  // namespace convgrad::detail
