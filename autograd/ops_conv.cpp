// conv2d and conv_transpose2d on the selected backend's three kernels. Each op's input gradient is
// the other op's forward: conv2d's dx is backward-data, conv_transpose2d's forward IS backward-data.
#include "autograd/ops_conv.h"

#include <memory>

#include "autograd/autocast.h"
#include "autograd/grad_mode.h"
#include "autograd/node.h"
#include "autograd/ops_conv_kernel.h"
#include "autograd/ops_reduce.h"
#include "autograd/ops_shape.h"
#include "core/backend.h"
#include "core/conv_geometry.h"
#include "core/factory.h"
#include "core/kernels/reduce.h"
#include "core/operand_check.h"

namespace convgrad {

namespace {

// Operand caches (see Note [Operand cache] in core/backend.h): the input of the forward that backward-weights
// reads again gets a cache that lives with the node (the backend keeps the copy it converted in the forward);
// the output gradient, read by both backward kernels, gets one per backward pass (a retained graph may
// see another gradient next time). The weight gets none: oneDNN computes the forward and backward-data
// in two different weight layouts, so a kept copy would never be read again.
// The cache for the forward's input, or none when no backward will read it.
std::shared_ptr<ConvOperandCache> input_cache(bool needed) {
  return needed && GradMode::is_enabled() ? std::make_shared<ConvOperandCache>() : nullptr;
}

// The values of `t` as a contiguous tensor of `shape` (same element count), without autograd:
// a view when `t` is already contiguous, a copy otherwise. Kernels only take contiguous tensors.
Tensor plain(const Tensor& t, const Shape& shape) {
  if (t.is_contiguous() && t.shape() == shape) return t.detach();  // the common case: no reshaping view
  Tensor c = t.is_contiguous() ? t : clone_data(t);
  return as_strided(c, shape, contiguous_strides(shape), c.offset());
}

// Sum over N, H, W of a contiguous (N, C, H, W) tensor: a bias gradient.
Tensor channel_sum(const Tensor& t) {
  Tensor out = uninitialized({t.size(1)});
  kernels::channel_sum(t.data<float>(), t.size(0), t.size(1), t.size(2) * t.size(3), out.data<float>());
  return out;
}

// `t` (batched, contiguous) shaped like `like`: drops the batch dim of an unbatched call.
Tensor shaped_like(const Tensor& t, const Shape& like) {
  return t.shape() == like ? t : as_strided(t, like, contiguous_strides(like), 0);
}

using detail::conv_kernel;
using detail::ConvKernel;

// A bias gradient (sum over N, H, W) as a differentiable op, for create_graph.
Tensor bias_grad(const Tensor& gy) { return sum(gy, {0, 2, 3}); }

// Checks the output gradient given to a weight-gradient op (batched or not) against the geometry.
void check_grad_output(const Tensor& gy, const Shape& expected, const Shape& expected3, const char* op) {
  check_operand(gy, op, "grad_output");
  CONVGRAD_CHECK(
      gy.shape() == expected || gy.shape() == expected3,
      "{}: grad_output has shape {} but the input and weight_size give an output of shape {}; pass the "
      "gradient of that output",
      op, shape_str(gy.shape()), shape_str(expected));
}

}  // namespace

Tensor conv2d_weight_grad(const Tensor& input, const Shape& weight_size, const Tensor& grad_output,
                          const Conv2dFuncOptions& options) {
  check_operand(input, "conv2d_weight_grad", "input");
  const ConvShapes s = conv2d_geometry(input.shape(), weight_size, {}, false, options);
  check_grad_output(grad_output, s.dst, {s.dst[1], s.dst[2], s.dst[3]}, "conv2d_weight_grad");
  return conv_kernel(ConvKernel::BackwardWeights, reshape(input, s.src), reshape(grad_output, s.dst), s);
}

Tensor conv_transpose2d_weight_grad(const Tensor& input, const Shape& weight_size, const Tensor& grad_output,
                                    const ConvTranspose2dFuncOptions& options) {
  check_operand(input, "conv_transpose2d_weight_grad", "input");
  const ConvShapes s = conv_transpose2d_geometry(input.shape(), weight_size, {}, false, options);
  check_grad_output(grad_output, s.src, {s.src[1], s.src[2], s.src[3]}, "conv_transpose2d_weight_grad");
  // In the conv view the transposed convolution's output is the src and its input the dst.
  return conv_kernel(ConvKernel::BackwardWeights, reshape(grad_output, s.src), reshape(input, s.dst), s);
}

namespace {

// conv2d computing in `compute` (see ConvParams::compute; the caller rounded x and w for bfloat16).
Tensor conv2d_in(const Tensor& x, const Tensor& w, const Tensor& bias, const Conv2dFuncOptions& options,
                 DType compute) {
  ConvShapes s =
      conv2d_geometry(x.shape(), w.shape(), bias.defined() ? bias.shape() : Shape{}, bias.defined(), options);
  s.params.compute = compute;
  Tensor x4 = plain(x, s.src), w4 = plain(w, s.wei);
  Tensor b = bias.defined() ? plain(bias, bias.shape()) : Tensor();
  // Plain bools, not a structured binding: closures capture them (clang 14 cannot capture a binding).
  const auto n = needs(x, w, bias);
  const bool need_x = n[0], need_w = n[1], need_b = n[2];
  // The forward converts x (the src), backward-weights reads it again.
  const std::shared_ptr<ConvOperandCache> xc = input_cache(need_w);
  Tensor y = uninitialized(s.dst);
  conv_forward(x4, w4, b, y, s.params, {xc.get(), nullptr, nullptr});
  const Shape x_shape = x.shape();
  Tensor out = x.dim() == 3 ? shaped_like(y, {s.dst[1], s.dst[2], s.dst[3]}) : y;

  // Keep only what the gradients read: w for dx, x for dw.
  SavedTensor saved_w = save(w4, need_x), saved_x = save(x4, need_w);
  // Under create_graph the gradients are recorded from the inputs themselves (with their history).
  SavedTensor graph_w = save(w, need_x), graph_x = save(x, need_w);
  return make_result(
      out, {x, w, bias}, "conv2d",
      [=](const Tensor& grad) {
        if (GradMode::is_enabled()) {
          Tensor gy = reshape(grad, s.dst);
          return std::vector<Tensor>{
              need_x ? reshape(conv_kernel(ConvKernel::BackwardData, gy, graph_w.unpack(), s), x_shape)
                     : Tensor(),
              need_w ? conv_kernel(ConvKernel::BackwardWeights, reshape(graph_x.unpack(), s.src), gy, s)
                     : Tensor(),
              need_b ? bias_grad(gy) : Tensor()};
        }
        Tensor dy = plain(grad, s.dst);
        // dy is read by backward-data and backward-weights: converted once, for this pass only.
        ConvOperandCache dy_cache;
        ConvOperandCache* dyc = need_x && need_w ? &dy_cache : nullptr;
        Tensor dx, dw, db;
        if (need_x) {
          dx = uninitialized(s.src);
          conv_backward_data(dy, saved_w.unpack(), Tensor(), dx, s.params, {nullptr, nullptr, dyc});
          dx = shaped_like(dx, x_shape);
        }
        if (need_w) {
          dw = uninitialized(s.wei);
          if (need_b) db = uninitialized({s.wei[0]});
          conv_backward_weights(saved_x.unpack(), dy, dw, db, s.params, {xc.get(), nullptr, dyc});
        } else if (need_b) {
          db = channel_sum(dy);
        }
        return std::vector<Tensor>{dx, dw, db};
      },
      DoubleBackward::Supported);
}

// conv_transpose2d computing in `compute` (as conv2d_in).
Tensor conv_transpose2d_in(const Tensor& x, const Tensor& w, const Tensor& bias,
                           const ConvTranspose2dFuncOptions& options, DType compute) {
  // The conv view: src = this op's output, dst = its input, the weight as it is (no flip, no copy).
  ConvShapes s = conv_transpose2d_geometry(x.shape(), w.shape(), bias.defined() ? bias.shape() : Shape{},
                                           bias.defined(), options);
  s.params.compute = compute;
  Tensor x4 = plain(x, s.dst), w4 = plain(w, s.wei);
  Tensor b = bias.defined() ? plain(bias, bias.shape()) : Tensor();
  // Plain bools, not a structured binding: closures capture them (clang 14 cannot capture a binding).
  const auto n = needs(x, w, bias);
  const bool need_x = n[0], need_w = n[1], need_b = n[2];
  // In the conv view x is the dst: converted by the forward, read again by backward-weights.
  const std::shared_ptr<ConvOperandCache> xc = input_cache(need_w);
  Tensor y = uninitialized(s.src);
  conv_backward_data(x4, w4, b, y, s.params, {nullptr, nullptr, xc.get()});
  const Shape x_shape = x.shape();
  Tensor out = x.dim() == 3 ? shaped_like(y, {s.src[1], s.src[2], s.src[3]}) : y;

  SavedTensor saved_w = save(w4, need_x), saved_x = save(x4, need_w);
  SavedTensor graph_w = save(w, need_x), graph_x = save(x, need_w);
  return make_result(
      out, {x, w, bias}, "conv_transpose2d",
      [=](const Tensor& grad) {
        if (GradMode::is_enabled()) {  // create_graph: see conv2d
          Tensor gy = reshape(grad, s.src);
          return std::vector<Tensor>{
              need_x ? reshape(conv_kernel(ConvKernel::Forward, gy, graph_w.unpack(), s), x_shape) : Tensor(),
              need_w ? conv_kernel(ConvKernel::BackwardWeights, gy, reshape(graph_x.unpack(), s.dst), s)
                     : Tensor(),
              need_b ? bias_grad(gy) : Tensor()};
        }
        Tensor gy = plain(grad, s.src);
        // gy (the conv view's src) is read by both backward kernels: converted once, for this pass only.
        ConvOperandCache gy_cache;
        ConvOperandCache* gyc = need_x && need_w ? &gy_cache : nullptr;
        Tensor dx, dw, db;
        if (need_x) {
          // The gradient of a transposed convolution is the convolution itself.
          dx = uninitialized(s.dst);
          conv_forward(gy, saved_w.unpack(), Tensor(), dx, s.params, {gyc, nullptr, nullptr});
          dx = shaped_like(dx, x_shape);
        }
        if (need_w) {
          // Roles swapped: the conv's input is this op's output gradient, its output gradient is x.
          dw = uninitialized(s.wei);
          conv_backward_weights(gy, saved_x.unpack(), dw, Tensor(), s.params, {gyc, nullptr, xc.get()});
        }
        if (need_b) db = channel_sum(gy);
        return std::vector<Tensor>{dx, dw, db};
      },
      DoubleBackward::Supported);
}

}  // namespace

// Under autocast the inputs (bias included, as PyTorch) are rounded to bfloat16, and so is the output's
// gradient.
Tensor conv2d(const Tensor& x, const Tensor& w, const Tensor& bias, const Conv2dFuncOptions& options) {
  check_operand(x, "conv2d", "input");
  check_operand(w, "conv2d", "weight");
  if (bias.defined()) check_operand(bias, "conv2d", "bias");
  if (!is_autocast_enabled()) return conv2d_in(x, w, bias, options, DType::Float32);
  const Tensor b = bias.defined() ? detail::autocast_input(bias) : Tensor();
  return detail::autocast_output(
      conv2d_in(detail::autocast_input(x), detail::autocast_input(w), b, options, DType::BFloat16));
}

Tensor conv_transpose2d(const Tensor& x, const Tensor& w, const Tensor& bias,
                        const ConvTranspose2dFuncOptions& options) {
  check_operand(x, "conv_transpose2d", "input");
  check_operand(w, "conv_transpose2d", "weight");
  if (bias.defined()) check_operand(bias, "conv_transpose2d", "bias");
  if (!is_autocast_enabled()) return conv_transpose2d_in(x, w, bias, options, DType::Float32);
  const Tensor b = bias.defined() ? detail::autocast_input(bias) : Tensor();
  return detail::autocast_output(
      conv_transpose2d_in(detail::autocast_input(x), detail::autocast_input(w), b, options, DType::BFloat16));
}

}  // namespace convgrad
