#include "core/kernels/resample_taps.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace convgrad::kernels {

namespace {

// A table with a fixed number of taps per output; add() appends one tap to the current output.
struct Builder {
  ResampleAxis a;
  Builder(int64_t in, int64_t out) {
    a.in = in;
    a.out = out;
    a.start.reserve(static_cast<size_t>(out + 1));
    a.start.push_back(0);
  }
  void add(int64_t index, float weight) {
    a.index.push_back(index);
    a.weight.push_back(weight);
  }
  void next() { a.start.push_back(static_cast<int64_t>(a.index.size())); }
  // A table copies when every output reads exactly its own index with weight 1.
  ResampleAxis done() {
    bool id = a.in == a.out;
    for (int64_t o = 0; id && o < a.out; ++o)
      id = a.start[o + 1] == a.start[o] + 1 && a.index[a.start[o]] == o && a.weight[a.start[o]] == 1.f;
    a.identity = id;
    return std::move(a);
  }
};

// PyTorch's compute_scales_value: 1 / scale when the user gave one, else in / out (as float).
float scales_value(double scale, int64_t in, int64_t out) {
  return scale > 0.0 ? static_cast<float>(1.0 / scale) : static_cast<float>(in) / static_cast<float>(out);
}

// area_pixel_compute_scale: (in - 1) / (out - 1) with align_corners, else scales_value.
float pixel_scale(int64_t in, int64_t out, bool align_corners, double scale) {
  if (align_corners) return out > 1 ? static_cast<float>(in - 1) / static_cast<float>(out - 1) : 0.f;
  return scales_value(scale, in, out);
}

// area_pixel_compute_source_index: the source coordinate of output o (clamped at 0 unless cubic).
float source_index(float scale, int64_t o, bool align_corners, bool cubic) {
  if (align_corners) return scale * static_cast<float>(o);
  const float src = static_cast<float>(static_cast<double>(scale) * (static_cast<double>(o) + 0.5) - 0.5);
  return (!cubic && src < 0.f) ? 0.f : src;
}

float cubic1(float x, float a) { return ((a + 2.f) * x - (a + 3.f)) * x * x + 1.f; }
float cubic2(float x, float a) { return ((a * x - 5.f * a) * x + 8.f * a) * x - 4.f * a; }

}  // namespace

ResampleAxis nearest_axis(int64_t in, int64_t out, double scale, bool exact) {
  Builder b(in, out);
  const float s = scales_value(scale, in, out);
  for (int64_t o = 0; o < out; ++o) {
    int64_t src;
    if (exact) {
      src = static_cast<int64_t>(std::floor(static_cast<float>((static_cast<double>(o) + 0.5) * s)));
    } else if (out == in) {
      src = o;
    } else if (out == 2 * in) {
      src = o >> 1;
    } else {
      src = static_cast<int64_t>(std::floor(static_cast<float>(o) * s));
    }
    b.add(std::clamp<int64_t>(src, 0, in - 1), 1.f);
    b.next();
  }
  return b.done();
}

ResampleAxis linear_axis(int64_t in, int64_t out, bool align_corners, double scale) {
  Builder b(in, out);
  const float s = pixel_scale(in, out, align_corners, scale);
  for (int64_t o = 0; o < out; ++o) {
    if (out == in) {  // PyTorch copies when the size does not change
      b.add(o, 1.f);
    } else {
      const float real = source_index(s, o, align_corners, false);
      const int64_t i0 = std::min(static_cast<int64_t>(real), in - 1);
      const int64_t i1 = i0 + (i0 < in - 1 ? 1 : 0);
      const float l1 = std::clamp(real - static_cast<float>(i0), 0.f, 1.f);
      b.add(i0, 1.f - l1);
      b.add(i1, l1);
    }
    b.next();
  }
  return b.done();
}

ResampleAxis cubic_axis(int64_t in, int64_t out, bool align_corners, double scale) {
  Builder b(in, out);
  const float s = pixel_scale(in, out, align_corners, scale);
  constexpr float A = -0.75f;
  for (int64_t o = 0; o < out; ++o) {
    const float real = source_index(s, o, align_corners, true);
    const int64_t i = std::min(static_cast<int64_t>(std::floor(real)), in - 1);
    const float t = std::clamp(real - static_cast<float>(i), 0.f, 1.f);
    const float c[4] = {cubic2(t + 1.f, A), cubic1(t, A), cubic1(1.f - t, A), cubic2(2.f - t, A)};
    for (int64_t j = 0; j < 4; ++j) b.add(std::clamp<int64_t>(i - 1 + j, 0, in - 1), c[j]);
    b.next();
  }
  return b.done();
}

ResampleAxis area_axis(int64_t in, int64_t out) {
  Builder b(in, out);
  for (int64_t o = 0; o < out; ++o) {
    const int64_t lo = (o * in) / out, hi = ((o + 1) * in + out - 1) / out;
    const float w = 1.f / static_cast<float>(hi - lo);
    for (int64_t i = lo; i < hi; ++i) b.add(i, w);
    b.next();
  }
  return b.done();
}

ResampleAxis antialias_axis(int64_t in, int64_t out, bool align_corners, double scale, bool cubic) {
  Builder b(in, out);
  if (in == out) {  // PyTorch skips an axis whose size does not change
    for (int64_t o = 0; o < out; ++o) {
      b.add(o, 1.f);
      b.next();
    }
    return b.done();
  }
  const float s = pixel_scale(in, out, align_corners, scale);
  const float taps = cubic ? 4.f : 2.f;
  const float support = s >= 1.f ? taps * 0.5f * s : taps * 0.5f;
  const float invscale = s >= 1.f ? 1.f / s : 1.f;
  auto filter = [cubic](float x) {
    x = std::fabs(x);
    if (!cubic) return x < 1.f ? 1.f - x : 0.f;
    constexpr float a = -0.5f;
    return x < 1.f ? cubic1(x, a) : x < 2.f ? cubic2(x, a) : 0.f;
  };
  std::vector<float> w;
  for (int64_t o = 0; o < out; ++o) {
    const float center = static_cast<float>(static_cast<double>(s) * (static_cast<double>(o) + 0.5));
    const int64_t lo =
        std::max<int64_t>(static_cast<int64_t>(static_cast<double>(center - support) + 0.5), 0);
    const int64_t hi =
        std::min<int64_t>(static_cast<int64_t>(static_cast<double>(center + support) + 0.5), in);
    w.clear();
    float total = 0.f;
    for (int64_t i = lo; i < hi; ++i) {
      const float x =
          static_cast<float>((static_cast<float>(i) - center + 0.5) * static_cast<double>(invscale));
      w.push_back(filter(x));
      total += w.back();
    }
    for (int64_t i = lo; i < hi; ++i) {
      const float wi = w[static_cast<size_t>(i - lo)];
      b.add(i, total != 0.f ? wi / total : wi);
    }
    b.next();
  }
  return b.done();
}

}  // namespace convgrad::kernels
