#include "tiny_fcn.h"

#include <algorithm>

#include "autograd/ops_math.h"
#include "layers/init.h"
#include "shapes_data.h"

namespace convgrad::fcn {

// [doc:init_bilinear]
void init_bilinear(ConvTranspose2d& layer) {
  const auto& o = layer.options();
  CONVGRAD_CHECK(o.kernel_size()[0] == o.kernel_size()[1], "init_bilinear: needs a square kernel, got {}x{}",
                 o.kernel_size()[0], o.kernel_size()[1]);
  Tensor k = bilinear_kernel(o.in_channels(), o.out_channels(), o.kernel_size()[0]);
  CONVGRAD_CHECK(k.shape() == layer.weight.shape(),
                 "init_bilinear: weight shape {} but bilinear kernel shape {}",
                 shape_str(layer.weight.shape()), shape_str(k.shape()));
  // In place on the parameter's data: the optimizer and the module keep the same tensor.
  std::vector<float> v = k.to_vector<float>();
  std::copy(v.begin(), v.end(), layer.weight.data<float>());
}
// [/doc]

TinyFCN::TinyFCN(bool skips, Generator& gen) : skips_(skips) {
  // Registration order = PyTorch's attribute order, so state_dict names and order match.
  c1 = register_module<Conv2d>("c1", Conv2dOptions(3, 16, 3).padding(1), gen);
  c2 = register_module<Conv2d>("c2", Conv2dOptions(16, 32, 3).stride(2).padding(1), gen);
  c3 = register_module<Conv2d>("c3", Conv2dOptions(32, 64, 3).stride(2).padding(1), gen);
  c4 = register_module<Conv2d>("c4", Conv2dOptions(64, 64, 3).stride(2).padding(1), gen);
  score = register_module<Conv2d>("score", Conv2dOptions(64, kClasses, 1), gen);
  auto up_x2 = [&] {
    return std::make_shared<ConvTranspose2d>(
        ConvTranspose2dOptions(kClasses, kClasses, 4).stride(2).padding(1).bias(false), gen);
  };
  if (skips) {
    score3 = register_module<Conv2d>("score3", Conv2dOptions(64, kClasses, 1), gen);
    score2 = register_module<Conv2d>("score2", Conv2dOptions(32, kClasses, 1), gen);
    up2a = register_module("up2a", up_x2());
    up2b = register_module("up2b", up_x2());
    up = register_module("up", up_x2());
    init_bilinear(*up2a);
    init_bilinear(*up2b);
  } else {
    up = register_module<ConvTranspose2d>(
        "up", ConvTranspose2dOptions(kClasses, kClasses, 16).stride(8).padding(4).bias(false), gen);
  }
  init_bilinear(*up);
}

// [doc:forward]
Tensor TinyFCN::forward(const Tensor& x) {
  CONVGRAD_CHECK(x.dim() == 4 && x.size(1) == 3 && x.size(2) % 8 == 0 && x.size(3) % 8 == 0,
                 "TinyFCN: expected images (N, 3, H, W) with H and W multiples of 8, got {}",
                 shape_str(x.shape()));
  Tensor h2 = relu(c2->forward(relu(c1->forward(x))));
  Tensor h3 = relu(c3->forward(h2));
  Tensor s = score->forward(relu(c4->forward(h3)));
  if (!skips_) return up->forward(s);
  s = up2a->forward(s) + score3->forward(h3);
  s = up2b->forward(s) + score2->forward(h2);
  return up->forward(s);
}
// [/doc]

}  // namespace convgrad::fcn
