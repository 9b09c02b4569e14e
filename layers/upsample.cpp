#include "layers/upsample.h"

#include <cmath>

namespace convgrad {

Upsample::Upsample(const UpsampleOptions& options) : options_(options) {
  CONVGRAD_CHECK(options.size() || options.scale_factor(),
                 "Upsample: give either size({{H, W}}) or scale_factor(f) in UpsampleOptions");
  if (options.size())
    CONVGRAD_CHECK((*options.size())[0] > 0 && (*options.size())[1] > 0,
                   "Upsample: size [{}, {}] must be positive", (*options.size())[0], (*options.size())[1]);
  if (options.scale_factor())
    CONVGRAD_CHECK((*options.scale_factor())[0] > 0 && (*options.scale_factor())[1] > 0,
                   "Upsample: scale_factor [{}, {}] must be positive", (*options.scale_factor())[0],
                   (*options.scale_factor())[1]);
  const bool interpolating =
      options.mode() == InterpolateMode::Bilinear || options.mode() == InterpolateMode::Bicubic;
  CONVGRAD_CHECK(!options.align_corners() || interpolating,
                 "Upsample: align_corners can only be set for the bilinear and bicubic modes, not '{}'",
                 interpolate_mode_name(options.mode()));
  interp_.mode(options.mode());
  if (options.size()) interp_.size(*options.size());
  if (options.scale_factor()) interp_.scale_factor(*options.scale_factor());
  if (options.align_corners()) interp_.align_corners(*options.align_corners());
  if (options.recompute_scale_factor()) interp_.recompute_scale_factor(*options.recompute_scale_factor());
}

Tensor Upsample::forward(const Tensor& x) {
  CONVGRAD_CHECK(x.dim() == 4, "Upsample: expected a 4-D input (N, C, H, W), got {}", shape_str(x.shape()));
  return interpolate(x, interp_);
}

std::string Upsample::extra_repr() const {
  std::string s = options_.size() ? fmt::format("size=({}, {})", (*options_.size())[0], (*options_.size())[1])
                                  : fmt::format("scale_factor=({}, {})", (*options_.scale_factor())[0],
                                                (*options_.scale_factor())[1]);
  s += fmt::format(", mode='{}'", interpolate_mode_name(options_.mode()));
  if (options_.align_corners())
    s += fmt::format(", align_corners={}", *options_.align_corners() ? "True" : "False");
  return s;
}

}  // namespace convgrad
