// interpolate: validates the options as F.interpolate does, builds one tap table per axis for the
// mode and records the separable resampling, whose adjoint is its gradient.
#include "autograd/ops_interpolate.h"

#include <cmath>
#include <memory>

#include "autograd/linear_op.h"
#include "autograd/node.h"
#include "core/factory.h"
#include "core/kernels/resample.h"
#include "core/kernels/resample_taps.h"
#include "core/operand_check.h"

namespace convgrad {

namespace {

namespace k = kernels;

bool interpolating(InterpolateMode m) {
  return m == InterpolateMode::Bilinear || m == InterpolateMode::Bicubic;
}

// Sizes beyond this are refused before any table is built (floor(in * scale) must fit int64).
constexpr double kMaxSide = 1ll << 40;

void check_options(const Shape& s, const InterpolateOptions& o) {
  const char* mode = interpolate_mode_name(o.mode());
  CONVGRAD_CHECK(s.size() == 4, "interpolate: expected a 4-D input (N, C, H, W), got shape {}", shape_str(s));
  CONVGRAD_CHECK(
      o.size().has_value() != o.scale_factor().has_value(),
      "interpolate: give exactly one of size({{H, W}}) and scale_factor(f) in InterpolateOptions (got {})",
      o.size() ? "both" : "neither");
  CONVGRAD_CHECK(
      !o.align_corners() || interpolating(o.mode()),
      "interpolate: align_corners can only be set for the interpolating modes bilinear and bicubic, "
      "not mode '{}'; leave it unset",
      mode);
  CONVGRAD_CHECK(!o.antialias() || interpolating(o.mode()),
                 "interpolate: antialias is only supported for the bilinear and bicubic modes, not '{}'",
                 mode);
  CONVGRAD_CHECK(
      !(o.recompute_scale_factor().value_or(false) && o.size()),
      "interpolate: recompute_scale_factor is not meaningful with an explicit size; drop one of them");
  CONVGRAD_CHECK(s[2] > 0 && s[3] > 0, "interpolate: input planes must be non-empty, got shape {}",
                 shape_str(s));
  if (o.scale_factor()) {
    const auto& f = *o.scale_factor();
    for (double v : f)
      CONVGRAD_CHECK(std::isfinite(v) && v > 0.0 && v * static_cast<double>(std::max(s[2], s[3])) < kMaxSide,
                     "interpolate: scale_factor [{}, {}] must be finite and positive (and the output size "
                     "representable) for input {}",
                     f[0], f[1], shape_str(s));
  }
}

}  // namespace

const char* interpolate_mode_name(InterpolateMode mode) {
  switch (mode) {
    case InterpolateMode::Nearest:
      return "nearest";
    case InterpolateMode::NearestExact:
      return "nearest-exact";
    case InterpolateMode::Bilinear:
      return "bilinear";
    case InterpolateMode::Bicubic:
      return "bicubic";
    case InterpolateMode::Area:
      return "area";
  }
  return "unknown";
}

Pair interpolate_output_size(const Shape& x_shape, const InterpolateOptions& options) {
  check_options(x_shape, options);
  Pair size;
  if (options.size()) {
    size = *options.size();
  } else {
    const auto& f = *options.scale_factor();
    for (int d = 0; d < 2; ++d)
      size[d] = static_cast<int64_t>(std::floor(static_cast<double>(x_shape[2 + d]) * f[d]));
  }
  CONVGRAD_CHECK(
      size[0] > 0 && size[1] > 0,
      "interpolate: input {} and output [{}, {}] sizes should be greater than 0; use a larger size or "
      "scale_factor",
      shape_str(x_shape), size[0], size[1]);
  return size;
}

Tensor interpolate(const Tensor& x, const InterpolateOptions& options) {
  check_operand(x, "interpolate", "input");
  const Pair out = interpolate_output_size(x.shape(), options);
  const int64_t h = x.size(2), w = x.size(3);
  // PyTorch maps positions with the user's factor unless the size was given or recomputed.
  std::array<double, 2> scale{0.0, 0.0};
  if (options.scale_factor() && !options.recompute_scale_factor().value_or(false))
    scale = *options.scale_factor();
  const bool align = options.align_corners().value_or(false);
  auto axis = [&](int64_t in, int64_t o, double sc) {
    switch (options.mode()) {
      case InterpolateMode::Nearest:
        return k::nearest_axis(in, o, sc, false);
      case InterpolateMode::NearestExact:
        return k::nearest_axis(in, o, sc, true);
      case InterpolateMode::Area:
        return k::area_axis(in, o);
      case InterpolateMode::Bilinear:
        return options.antialias() ? k::antialias_axis(in, o, align, sc, false)
                                   : k::linear_axis(in, o, align, sc);
      case InterpolateMode::Bicubic:
        return options.antialias() ? k::antialias_axis(in, o, align, sc, true)
                                   : k::cubic_axis(in, o, align, sc);
    }
    fail("interpolate: unknown mode {}", static_cast<int>(options.mode()));
  };
  // The output is allocated (and so size-checked) before the tables, which are as long as it.
  Tensor y = uninitialized({x.size(0), x.size(1), out[0], out[1]});
  // An empty output's gradient is zeros whatever x is: constant, so exact at every order.
  if (y.numel() == 0)
    return make_result(
        y, {x}, "interpolate",
        [shape = x.shape()](const Tensor&) { return std::vector<Tensor>{zeros(shape)}; },
        DoubleBackward::Supported);
  auto tables = std::make_shared<const std::array<k::ResampleAxis, 2>>(
      std::array<k::ResampleAxis, 2>{axis(h, out[0], scale[0]), axis(w, out[1], scale[1])});
  k::resample2d_forward(x, (*tables)[0], (*tables)[1], y);
  // Linear in x: recorded with its adjoint, so it differentiates to any order.
  auto pair = std::make_shared<const detail::LinearPair>(
      detail::LinearPair{[tables, out_shape = y.shape()](const Tensor& t) {
                           Tensor r = uninitialized(out_shape);
                           k::resample2d_forward(t, (*tables)[0], (*tables)[1], r);
                           return r;
                         },
                         [tables, shape = x.shape()](const Tensor& g) {
                           return k::resample2d_backward(g, (*tables)[0], (*tables)[1], shape);
                         }});
  return detail::linear_result(y, x, "interpolate", pair);
}

}  // namespace convgrad
