#include "layers/upsample.h"

#include <cmath>

#include "autograd/ops_nn.h"

namespace convgrad {

Upsample::Upsample(const UpsampleOptions& options) : options_(options) {
  check(options.size() || options.scale_factor(),
        "Upsample: give either size({{H, W}}) or scale_factor(f) in UpsampleOptions");
  if (options.size())
    check((*options.size())[0] > 0 && (*options.size())[1] > 0, "Upsample: size ({}, {}) must be positive",
          (*options.size())[0], (*options.size())[1]);
  if (options.scale_factor())
    check((*options.scale_factor())[0] > 0 && (*options.scale_factor())[1] > 0,
          "Upsample: scale_factor ({}, {}) must be positive", (*options.scale_factor())[0],
          (*options.scale_factor())[1]);
}

Tensor Upsample::forward(const Tensor& x) {
  check(x.dim() == 4, "Upsample: expected a 4-D input (N, C, H, W), got {}", shape_str(x.shape()));
  Pair size;
  if (options_.size()) {
    size = *options_.size();
  } else {
    const auto& f = *options_.scale_factor();
    size = {static_cast<int64_t>(std::floor(static_cast<double>(x.size(2)) * f[0])),
            static_cast<int64_t>(std::floor(static_cast<double>(x.size(3)) * f[1]))};
    check(size[0] > 0 && size[1] > 0, "Upsample: scale_factor ({}, {}) turns input {} into an empty output",
          f[0], f[1], shape_str(x.shape()));
  }
  return upsample_bilinear2d(x, size);
}

std::string Upsample::extra_repr() const {
  if (options_.size()) return fmt::format("size=({}, {}), mode='bilinear'", (*options_.size())[0], (*options_.size())[1]);
  return fmt::format("scale_factor=({}, {}), mode='bilinear'", (*options_.scale_factor())[0],
                     (*options_.scale_factor())[1]);
}

}  // namespace convgrad
