#include "autograd/ops_activation.h"

#include "autograd/grad_mode.h"
#include "autograd/node.h"
#include "autograd/ops_math.h"
#include "autograd/ops_reduce.h"
#include "autograd/ops_shape.h"
#include "core/factory.h"
#include "core/kernels/prelu.h"

namespace convgrad {

namespace {

// prelu's gradients as differentiable ops, for create_graph, with pos = (x > 0) a constant 0/1 mask:
//   dx = g (pos + (1 - pos) a),  da = sum of g x (1 - pos) over every dim but the channel dim 1.
std::vector<Tensor> prelu_grads_with_graph(const Tensor& g, const Tensor& x, const Tensor& weight,
                                           bool need_x, bool need_w) {
  Shape channel_shape(static_cast<size_t>(x.dim()), 1);
  if (x.dim() >= 2 && weight.numel() > 1) channel_shape[1] = x.size(1);
  Tensor a = reshape(weight, channel_shape);
  Tensor pos = gt(x, zeros({}));
  Tensor neg = 1.f - pos;
  std::vector<Tensor> grads(2);
  if (need_x) grads[0] = g * (pos + neg * a);
  if (need_w) {
    std::vector<int64_t> dims;
    for (int64_t d = 0; d < x.dim(); ++d)
      if (!(d == 1 && weight.numel() > 1)) dims.push_back(d);
    Tensor t = g * x * neg;
    grads[1] = reshape(dims.empty() ? t : sum(t, dims), weight.shape());
  }
  return grads;
}

}  // namespace

Tensor prelu(const Tensor& x, const Tensor& weight) {
  CONVGRAD_CHECK(x.defined() && weight.defined(), "prelu: the {} is an undefined tensor",
                 x.defined() ? "weight" : "input");
  CONVGRAD_CHECK(x.dtype() == DType::Float32 && weight.dtype() == DType::Float32,
                 "prelu: input and weight must be float32, got {} and {}", dtype_name(x.dtype()),
                 dtype_name(weight.dtype()));
  CONVGRAD_CHECK(weight.dim() <= 1, "prelu: weight must be a scalar or a 1-D tensor, got shape {}",
                 shape_str(weight.shape()));
  const int64_t channels = x.dim() >= 2 ? x.size(1) : 1;
  CONVGRAD_CHECK(weight.numel() == 1 || weight.numel() == channels,
                 "prelu: weight has {} elements but the input {} has {} channels (dim 1); use one weight per "
                 "channel (PReLUOptions().num_parameters({})) or a single shared one",
                 weight.numel(), shape_str(x.shape()), channels, channels);
  Tensor y = kernels::prelu_forward(x, weight);
  const auto n = needs(x, weight);
  return make_result(
      y, {x, weight}, "prelu",
      [xd = save(x), wd = save(weight), n](const Tensor& g) {
        if (GradMode::is_enabled())  // create_graph
          return prelu_grads_with_graph(g, xd.unpack(), wd.unpack(), n[0], n[1]);
        kernels::PreluGrads r = kernels::prelu_backward(g, xd.unpack(), wd.unpack(), n[0], n[1]);
        return std::vector<Tensor>{r.x, r.weight};
      },
      DoubleBackward::Supported);
}

}  // namespace convgrad
