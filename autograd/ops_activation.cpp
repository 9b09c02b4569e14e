#include "autograd/ops_activation.h"

#include "autograd/node.h"
#include "core/kernels/prelu.h"

namespace convgrad {

Tensor prelu(const Tensor& x, const Tensor& weight) {
  check(x.defined() && weight.defined(), "prelu: the {} is an undefined tensor",
        x.defined() ? "weight" : "input");
  check(x.dtype() == DType::Float32 && weight.dtype() == DType::Float32,
        "prelu: input and weight must be float32, got {} and {}", dtype_name(x.dtype()),
        dtype_name(weight.dtype()));
  check(weight.dim() <= 1, "prelu: weight must be a scalar or a 1-D tensor, got shape {}",
        shape_str(weight.shape()));
  const int64_t channels = x.dim() >= 2 ? x.size(1) : 1;
  check(weight.numel() == 1 || weight.numel() == channels,
        "prelu: weight has {} elements but the input {} has {} channels (dim 1); use one weight per "
        "channel (PReLUOptions().num_parameters({})) or a single shared one",
        weight.numel(), shape_str(x.shape()), channels, channels);
  Tensor y = kernels::prelu_forward(x, weight);
  const auto n = needs(x, weight);
  return make_result(y, {x, weight}, "prelu",
                     [xd = save(x), wd = save(weight), n](const Tensor& g) {
                       kernels::PreluGrads r = kernels::prelu_backward(g, xd.unpack(), wd.unpack(), n[0], n[1]);
                       return std::vector<Tensor>{r.x, r.weight};
                     });
}

}  // namespace convgrad
