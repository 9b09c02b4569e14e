#include "core/memory_format.h"

#include <algorithm>
#include <array>

#include "core/error.h"

namespace convgrad {

namespace {
// The order of the dims of a channels-last tensor from the innermost out.
constexpr std::array<int, 4> kChannelsLastOrder = {1, 3, 2, 0};
}  // namespace

const char* memory_format_name(MemoryFormat format) {
  switch (format) {
    case MemoryFormat::Contiguous:
      return "contiguous_format";
    case MemoryFormat::ChannelsLast:
      return "channels_last";
    case MemoryFormat::Preserve:
      return "preserve_format";
  }
  return "unknown";
}

MemoryFormat parse_memory_format(const std::string& name) {
  if (name == "contiguous_format" || name == "contiguous" || name == "nchw") return MemoryFormat::Contiguous;
  if (name == "channels_last" || name == "nhwc") return MemoryFormat::ChannelsLast;
  fail(
      "memory format '{}' is not known; expected contiguous_format (or contiguous, nchw) or channels_last "
      "(or nhwc)",
      name);
}

Shape strides_for(const Shape& shape, MemoryFormat format) {
  if (format == MemoryFormat::Contiguous) return contiguous_strides(shape);
  CONVGRAD_CHECK(format == MemoryFormat::ChannelsLast,
                 "strides_for: preserve_format names no layout by itself; pass contiguous_format or "
                 "channels_last");
  CONVGRAD_CHECK(shape.size() == 4,
                 "channels_last: expected a 4-D (N, C, H, W) shape, got {} ({} dims); use contiguous_format "
                 "for other ranks",
                 shape_str(shape), shape.size());
  shape_numel(shape);  // throws on negative sizes
  Shape strides(4, 0);
  int64_t stride = 1;
  for (int d : kChannelsLastOrder) {
    strides[d] = stride;
    // As contiguous_strides: only a zero-size shape can overflow here, and none of its elements is
    // ever addressed, so the strides from here outwards stay 0.
    if (stride != 0 && __builtin_mul_overflow(stride, std::max<int64_t>(shape[d], 1), &stride)) stride = 0;
  }
  return strides;
}

bool strides_match(const Shape& shape, const Shape& strides, MemoryFormat format) {
  if (format == MemoryFormat::Contiguous) {
    int64_t expected = 1;
    for (int64_t i = static_cast<int64_t>(shape.size()) - 1; i >= 0; --i) {
      if (shape[i] == 1) continue;
      if (strides[i] != expected) return false;
      expected *= shape[i];
    }
    return true;
  }
  if (format != MemoryFormat::ChannelsLast || shape.size() != 4) return false;
  int64_t expected = 1;
  for (int d : kChannelsLastOrder) {
    if (shape[d] == 1) continue;
    if (strides[d] != expected) return false;
    expected *= shape[d];
  }
  return true;
}

MemoryFormat format_of_strides(const Shape& shape, const Shape& strides) {
  if (shape.size() != 4 || strides[1] == 0) return MemoryFormat::Contiguous;
  // PyTorch's is_channels_last_strides_2d: strides must not decrease along C, W, H, N; ties that
  // cannot tell the two formats apart read as Contiguous, the default.
  int64_t min = 0;
  for (int d : kChannelsLastOrder) {
    if (strides[d] < min) return MemoryFormat::Contiguous;
    if (d == 0 && min == strides[1]) return MemoryFormat::Contiguous;
    min = strides[d];
    if (shape[d] > 1) min *= shape[d];
  }
  return MemoryFormat::ChannelsLast;
}

}  // namespace convgrad
