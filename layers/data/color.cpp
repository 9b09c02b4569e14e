#include "layers/data/color.h"

#include "autograd/ops_shape.h"
#include "core/factory.h"
#include "core/image_ops.h"
#include "layers/data/pairs.h"

namespace convgrad::data {
namespace {

void check_colour(const std::string& name, const Tensor& t, const char* op, bool grey_ok) {
  check(t.dtype() == DType::Float32 && t.dim() >= 3 && (t.size(-3) == 3 || (grey_ok && t.size(-3) == 1)),
        "{}: {} has {} {}; expected a float32 RGB image (3, H, W){}", op, name, dtype_name(t.dtype()),
        shape_str(t.shape()), grey_ok ? " or a grey one (1, H, W)" : "");
}

}  // namespace

ToGrayscale::ToGrayscale(int64_t num_output_channels) : channels_(num_output_channels) {
  check(channels_ == 1 || channels_ == 3, "ToGrayscale: num_output_channels must be 1 or 3, got {}", channels_);
}

Example ToGrayscale::operator()(Example ex, Generator&) const {
  pair_scale(ex, "ToGrayscale");
  const std::string name = example_name(ex);
  return map_pair(std::move(ex), [&](const Tensor& t) {
    check_colour(name, t, "ToGrayscale", true);
    Tensor grey = t.size(-3) == 1 ? t : rgb_to_grayscale(t);
    if (channels_ == 1) return grey;
    Shape shape = grey.shape();
    shape[shape.size() - 3] = 3;
    return clone_data(expand(grey, shape));
  });
}

Example RgbToY::operator()(Example ex, Generator&) const {
  pair_scale(ex, "RgbToY");
  const std::string name = example_name(ex);
  return map_pair(std::move(ex), [&](const Tensor& t) {
    check_colour(name, t, "RgbToY", false);
    return rgb_to_y(t);
  });
}

}  // namespace convgrad::data
