#include "core/kernels/pad.h"

#include <algorithm>

#include "core/factory.h"
#include "core/threading.h"

namespace convgrad::kernels {

namespace {

// Sizes of the padded view: `outer` leading elements (the unpadded dimensions flattened), then the
// padded dimensions with their input and output extents.
struct PadView {
  int64_t outer = 1;
  std::vector<int64_t> in, out;
  int64_t in_plane = 1, out_plane = 1;  // elements per outer index
  int64_t rows = 1;                     // out_plane / last output extent
};

PadView pad_view(const Shape& input_shape, const std::vector<PadMap>& maps) {
  PadView v;
  const size_t k = maps.size(), r = input_shape.size();
  for (size_t d = 0; d < r - k; ++d) v.outer *= input_shape[d];
  for (size_t d = 0; d < k; ++d) {
    v.in.push_back(input_shape[r - k + d]);
    v.out.push_back(static_cast<int64_t>(maps[d].size()));
    v.in_plane *= v.in.back();
    v.out_plane *= v.out.back();
    if (d + 1 < k) v.rows *= v.out.back();
  }
  return v;
}

// The input offset (inside one plane) of output row `row` (all padded dimensions but the last),
// or -1 when any of its indices falls on a constant position.
int64_t source_row(const PadView& v, const std::vector<PadMap>& maps, int64_t row) {
  const size_t k = maps.size();
  int64_t offset = 0, stride = v.in[k - 1];
  for (size_t d = k - 1; d-- > 0;) {
    const int64_t o = row % v.out[d];
    row /= v.out[d];
    const int64_t i = maps[d][static_cast<size_t>(o)];
    if (i < 0) return -1;
    offset += i * stride;
    stride *= v.in[d];
  }
  return offset;
}

}  // namespace

const char* pad_mode_name(PadMode mode) {
  switch (mode) {
    case PadMode::Constant:
      return "constant";
    case PadMode::Reflect:
      return "reflect";
    case PadMode::Replicate:
      return "replicate";
    case PadMode::Circular:
      return "circular";
  }
  return "?";
}

PadMap pad_axis_map(PadMode mode, int64_t size, int64_t before, int64_t after) {
  // In 128 bits: pads near +-2^63 with a small output are valid, and o - before must not wrap.
  using Wide = __int128;
  const int64_t out = size + before + after;
  PadMap map(static_cast<size_t>(std::max<int64_t>(out, 0)));
  // Circular wraps the input left after cropping: [crop_lo, size - crop_hi).
  const Wide crop_lo = std::max<Wide>(-Wide{before}, 0);
  const Wide kept = Wide{size} - crop_lo - std::max<Wide>(-Wide{after}, 0);
  const Wide lead = std::max<Wide>(before, 0);
  for (int64_t o = 0; o < out; ++o) {
    Wide i = Wide{o} - before;
    switch (mode) {
      case PadMode::Constant:
        if (i < 0 || i >= size) i = -1;
        break;
      case PadMode::Reflect:
        if (i < 0) i = -i;
        if (i >= size) i = 2 * Wide{size - 1} - i;
        break;
      case PadMode::Replicate:
        i = std::clamp<Wide>(i, 0, size - 1);
        break;
      case PadMode::Circular:
        i = crop_lo + (((Wide{o} - lead) % kept) + kept) % kept;
        break;
    }
    map[static_cast<size_t>(o)] = static_cast<int64_t>(i);
  }
  return map;
}

namespace {

// Calls f(plane, row, source) for every output row of every outer plane, where `source` is the offset
// of the input row it reads within the plane (negative: a row of pure padding). Threads split over
// planes; every input element an output row reads lies in the same plane, so no two threads ever
// touch one element (the backward's accumulation relies on it).
template <class F>
void for_each_row(const PadView& v, const std::vector<PadMap>& maps, F f) {
#pragma omp parallel for num_threads(get_num_threads()) schedule(static)
  for (int64_t p = 0; p < v.outer; ++p)
    for (int64_t row = 0; row < v.rows; ++row) f(p, row, source_row(v, maps, row));
}

}  // namespace

void pad_forward(const Tensor& x, const std::vector<PadMap>& maps, float value, Tensor& out) {
  Tensor xc = contiguous_data(x);
  const PadView v = pad_view(x.shape(), maps);
  const PadMap& last = maps.back();
  const int64_t width = v.out[maps.size() - 1];
  const float* src = xc.data<float>();
  float* dst = out.data<float>();
  for_each_row(v, maps, [&](int64_t p, int64_t row, int64_t s) {
    float* o = dst + p * v.out_plane + row * width;
    if (s < 0) {
      std::fill(o, o + width, value);
      return;
    }
    const float* in = src + p * v.in_plane + s;
    for (int64_t j = 0; j < width; ++j) {
      const int64_t i = last[static_cast<size_t>(j)];
      o[j] = i < 0 ? value : in[i];
    }
  });
}

// The adjoint of the forward: several output elements may read one input element (reflect, replicate,
// circular), so their gradients add up there.
Tensor pad_backward(const Tensor& grad_out, const Shape& input_shape, const std::vector<PadMap>& maps) {
  Tensor gc = contiguous_data(grad_out);
  Tensor grad_in = zeros(input_shape);
  const PadView v = pad_view(input_shape, maps);
  const PadMap& last = maps.back();
  const int64_t width = v.out[maps.size() - 1];
  const float* go = gc.data<float>();
  float* gi = grad_in.data<float>();
  for_each_row(v, maps, [&](int64_t p, int64_t row, int64_t s) {
    if (s < 0) return;
    const float* g = go + p * v.out_plane + row * width;
    float* in = gi + p * v.in_plane + s;
    for (int64_t j = 0; j < width; ++j) {
      const int64_t i = last[static_cast<size_t>(j)];
      if (i >= 0) in[i] += g[j];
    }
  });
  return grad_in;
}

}  // namespace convgrad::kernels
