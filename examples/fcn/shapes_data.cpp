#include "shapes_data.h"

#include <algorithm>
#include <cmath>
#include <numbers>

#include "core/factory.h"

namespace convgrad::fcn {
namespace {

// splitmix64: turns consecutive integers into well-mixed, independent-looking seeds.
uint64_t mix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

// Adds N(0, sigma^2) noise to v[0..n) and clips to [0, 1]. Box-Muller yields two normals per pair of
// uniforms (Generator::normal keeps one): the noise is most of the cost of drawing an image.
void add_noise_and_clip(Generator& gen, float* v, int64_t n, float sigma) {
  constexpr float kTwoPi = 2.f * std::numbers::pi_v<float>;
  for (int64_t i = 0; i < n; i += 2) {
    float u1 = gen.uniform(0.f, 1.f) + 0x1p-25f;  // in (0, 1]: log stays finite
    float u2 = gen.uniform(0.f, 1.f);
    float r = sigma * std::sqrt(-2.f * std::log(u1));
    v[i] = std::clamp(v[i] + r * std::cos(kTwoPi * u2), 0.f, 1.f);
    if (i + 1 < n) v[i + 1] = std::clamp(v[i + 1] + r * std::sin(kTwoPi * u2), 0.f, 1.f);
  }
}

}  // namespace

const char* class_name(int64_t cls) {
  static const char* names[kClasses] = {"background", "disk", "square", "triangle"};
  CONVGRAD_CHECK(cls >= 0 && cls < kClasses, "class_name: class {} is outside [0, {})", cls, kClasses);
  return names[cls];
}

void draw_shapes_image(Generator& gen, float* image, int64_t* labels) {
  constexpr int64_t S = kImageSize, P = S * S;
  const float size = static_cast<float>(S);
  // Background: a linear blend between colours c0 and c1 along direction a, t normalised to [0, 1].
  float c0[3], c1[3];
  for (float& c : c0) c = gen.uniform(0.f, 1.f);
  for (float& c : c1) c = gen.uniform(0.f, 1.f);
  float a = gen.uniform(0.f, 2.f * std::numbers::pi_v<float>);
  float ca = std::cos(a), sa = std::sin(a);
  float t_min = 1e30f, t_max = -1e30f;
  for (int64_t y = 0; y < S; ++y)
    for (int64_t x = 0; x < S; ++x) {
      float t = (x * ca + y * sa) / size;
      image[y * S + x] = t;
      t_min = std::min(t_min, t);
      t_max = std::max(t_max, t);
    }
  for (int64_t i = 0; i < P; ++i) {
    float t = (image[i] - t_min) / (t_max - t_min + 1e-6f);
    for (int c = 0; c < 3; ++c) image[c * P + i] = c0[c] * (1 - t) + c1[c] * t;
    labels[i] = 0;
  }
  // 1-4 shapes; each paints its pixels with one colour and its class.
  int64_t count = gen.randint(1, 5);
  for (int64_t s = 0; s < count; ++s) {
    int64_t cls = gen.randint(1, kClasses);
    float r = gen.uniform(4.f, 12.f);
    float cx = gen.uniform(r, size - r), cy = gen.uniform(r, size - r);
    float colour[3];
    for (float& c : colour) c = gen.uniform(0.f, 1.f);
    for (int64_t y = 0; y < S; ++y)
      for (int64_t x = 0; x < S; ++x) {
        float dx = x - cx, dy = y - cy;
        bool inside = false;
        if (cls == 1) {
          inside = dx * dx + dy * dy <= r * r;
        } else if (cls == 2) {
          inside = std::abs(dx) <= r && std::abs(dy) <= r;
        } else {  // upward triangle, apex at (cx, cy - r), base on y = cy + r
          inside = y <= cy + r && y >= cy - r && std::abs(dx) <= (y - (cy - r)) / 2;
        }
        if (!inside) continue;
        for (int c = 0; c < 3; ++c) image[c * P + y * S + x] = colour[c];
        labels[y * S + x] = cls;
      }
  }
  add_noise_and_clip(gen, image, 3 * P, 0.05f);
}

ShapesDataset::ShapesDataset(uint64_t seed, uint64_t stream, int64_t size)
    : seed_(seed), stream_(stream), size_(size) {
  CONVGRAD_CHECK(size > 0, "ShapesDataset: size must be positive, got {}", size);
}

uint64_t ShapesDataset::image_seed(int64_t index) const {
  return mix64(mix64(mix64(seed_) ^ stream_) ^ static_cast<uint64_t>(index));
}

Batch ShapesDataset::batch(int64_t start, int64_t count) const {
  CONVGRAD_CHECK(count > 0, "ShapesDataset::batch: count must be positive, got {}", count);
  constexpr int64_t P = kImageSize * kImageSize;
  Batch b{empty({count, 3, kImageSize, kImageSize}), empty({count, kImageSize, kImageSize}, DType::Int64)};
  float* images = b.images.data<float>();
  int64_t* labels = b.labels.data<int64_t>();
  // Every image has its own generator, so the result does not depend on the thread count.
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < count; ++i) {
    int64_t index = ((start + i) % size_ + size_) % size_;
    Generator gen(image_seed(index));
    draw_shapes_image(gen, images + i * 3 * P, labels + i * P);
  }
  return b;
}

}  // namespace convgrad::fcn
