// Helpers the transforms share for input/target pairs (see transforms.h for the pairing rule);
// defined in transforms.cpp.
#pragma once

#include <cstdint>
#include <string>
#include <utility>

#include "layers/data/dataset.h"

namespace convgrad::data {

/// How messages name an example: its path, or "the image" for in-memory data.
std::string example_name(const Example& ex);

/// Checks the example's input is an image (..., H, W) and returns the integer factor s by which the
/// target is larger (target (..., s*H, s*W)); 1 for same-size pairs, 0 when there is no target.
int64_t pair_scale(const Example& ex, const char* op);

/// Crops the input at (top, left, height, width) and the target at the same place times `scale`.
Example crop_pair(Example ex, int64_t scale, int64_t top, int64_t left, int64_t height, int64_t width);

/// Applies `fn` to the input and, when there is one, to the target.
template <class Fn>
Example map_pair(Example ex, Fn fn) {
  ex.input = fn(ex.input);
  if (ex.target.defined()) ex.target = fn(ex.target);
  return ex;
}

}  // namespace convgrad::data
