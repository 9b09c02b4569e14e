#include "layers/data/pairs.h"

#include "layers/data/functional.h"

namespace convgrad::data {

std::string example_name(const Example& ex) { return ex.path.empty() ? std::string("the image") : ex.path; }

int64_t pair_scale(const Example& ex, const char* op) {
  check(ex.input.defined() && ex.input.dim() >= 2, "{}: {} has no input image (..., H, W); got {}", op,
        example_name(ex), ex.input.defined() ? shape_str(ex.input.shape()) : std::string("an undefined tensor"));
  if (!ex.target.defined()) return 0;
  const int64_t h = ex.input.size(-2), w = ex.input.size(-1);
  const int64_t th = ex.target.dim() >= 2 ? ex.target.size(-2) : 0, tw = ex.target.dim() >= 2 ? ex.target.size(-1) : 0;
  const int64_t s = h > 0 ? th / h : 0;
  check(s >= 1 && th == s * h && tw == s * w,
        "{}: {}: the target {} must be the input {} times an integer factor in height and width (a "
        "super-resolution pair) or the same size",
        op, example_name(ex), shape_str(ex.target.shape()), shape_str(ex.input.shape()));
  return s;
}

Example crop_pair(Example ex, int64_t scale, int64_t top, int64_t left, int64_t height, int64_t width) {
  ex.input = crop(ex.input, top, left, height, width);
  if (scale > 0) ex.target = crop(ex.target, scale * top, scale * left, scale * height, scale * width);
  return ex;
}

}  // namespace convgrad::data
