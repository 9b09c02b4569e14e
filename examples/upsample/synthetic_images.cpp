#include "synthetic_images.h"

#include <algorithm>
#include <cmath>
#include <numbers>

#include "core/factory.h"

namespace convgrad::upsample {
namespace {

constexpr float kTwoPi = 2.f * std::numbers::pi_v<float>;

uint64_t mix64(uint64_t x) {  // splitmix64
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

void random_colour(Generator& gen, float* c) {
  for (int k = 0; k < 3; ++k) c[k] = gen.uniform(0.f, 1.f);
}

void draw_shapes(Generator& gen, float* img, int64_t n) {
  const int64_t P = n * n;
  float bg[3], shade = gen.uniform(-0.2f, 0.2f);
  random_colour(gen, bg);
  for (int64_t y = 0; y < n; ++y)
    for (int64_t x = 0; x < n; ++x)
      for (int k = 0; k < 3; ++k)
        img[k * P + y * n + x] = std::clamp(bg[k] + shade * (static_cast<float>(y) / n - 0.5f), 0.f, 1.f);
  int64_t count = gen.randint(2, 6);
  for (int64_t s = 0; s < count; ++s) {
    int64_t kind = gen.randint(0, 3);
    float r = gen.uniform(0.08f, 0.25f) * n, cx = gen.uniform(0.f, n), cy = gen.uniform(0.f, n), col[3];
    random_colour(gen, col);
    for (int64_t y = 0; y < n; ++y)
      for (int64_t x = 0; x < n; ++x) {
        float dx = x - cx, dy = y - cy;
        bool in = kind == 0   ? dx * dx + dy * dy <= r * r
                  : kind == 1 ? std::abs(dx) <= r && std::abs(dy) <= r
                              : dy <= r && dy >= -r && std::abs(dx) <= (dy + r) / 2;
        if (in)
          for (int k = 0; k < 3; ++k) img[k * P + y * n + x] = col[k];
      }
  }
}

void draw_gradient(Generator& gen, float* img, int64_t n) {
  const int64_t P = n * n;
  float c0[3], c1[3], hi[3];
  random_colour(gen, c0);
  random_colour(gen, c1);
  random_colour(gen, hi);
  float a = gen.uniform(0.f, kTwoPi), ca = std::cos(a), sa = std::sin(a);
  float hx = gen.uniform(0.f, n), hy = gen.uniform(0.f, n), hr = gen.uniform(0.2f, 0.5f) * n;
  for (int64_t y = 0; y < n; ++y)
    for (int64_t x = 0; x < n; ++x) {
      float t = std::clamp(0.5f + ((x - n / 2.f) * ca + (y - n / 2.f) * sa) / n, 0.f, 1.f);
      float d2 = ((x - hx) * (x - hx) + (y - hy) * (y - hy)) / (hr * hr);
      float h = 0.6f * std::exp(-d2);
      for (int k = 0; k < 3; ++k) {
        float v = c0[k] * (1 - t) + c1[k] * t;
        img[k * P + y * n + x] = std::clamp(v * (1 - h) + hi[k] * h, 0.f, 1.f);
      }
    }
}

void draw_stripes(Generator& gen, float* img, int64_t n) {
  const int64_t P = n * n;
  float c0[3], c1[3];
  random_colour(gen, c0);
  random_colour(gen, c1);
  float a = gen.uniform(0.f, kTwoPi), ca = std::cos(a), sa = std::sin(a);
  float period = gen.uniform(5.f, 16.f), phase = gen.uniform(0.f, kTwoPi);
  for (int64_t y = 0; y < n; ++y)
    for (int64_t x = 0; x < n; ++x) {
      float t = 0.5f + 0.5f * std::sin(kTwoPi * (x * ca + y * sa) / period + phase);
      for (int k = 0; k < 3; ++k) img[k * P + y * n + x] = c0[k] * (1 - t) + c1[k] * t;
    }
}

}  // namespace

const char* kind_name(ImageKind kind) {
  switch (kind) {
    case ImageKind::Shapes:
      return "shapes";
    case ImageKind::Gradient:
      return "gradient";
    case ImageKind::Stripes:
      return "stripes";
  }
  return "?";
}

void draw_image(Generator& gen, ImageKind kind, float* chw, int64_t size) {
  switch (kind) {
    case ImageKind::Shapes:
      return draw_shapes(gen, chw, size);
    case ImageKind::Gradient:
      return draw_gradient(gen, chw, size);
    case ImageKind::Stripes:
      return draw_stripes(gen, chw, size);
  }
}

Tensor make_images(uint64_t seed, uint64_t stream, int64_t start, int64_t count, int64_t size) {
  CONVGRAD_CHECK(count > 0 && size > 0, "make_images: count and size must be positive, got {} and {}", count,
                 size);
  Tensor out = empty({count, 3, size, size});
  float* p = out.data<float>();
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < count; ++i) {
    uint64_t index = static_cast<uint64_t>(start + i);
    Generator gen(mix64(mix64(mix64(seed) ^ stream) ^ index));
    draw_image(gen, static_cast<ImageKind>(index % 3), p + i * 3 * size * size, size);
  }
  return out;
}

}  // namespace convgrad::upsample
