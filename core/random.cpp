#include "core/random.h"

#include <cmath>

#include "core/factory.h"

namespace convgrad {

float Generator::uniform(float lo, float hi) {
  // 24 random bits give every float in [0, 1) with equal spacing, independent of the library.
  float u = static_cast<float>(engine_() >> 40) * (1.0f / 16777216.0f);
  return lo + (hi - lo) * u;
}

float Generator::normal(float mean, float stddev) {
  // Box-Muller on two uniforms: the same numbers on every standard library.
  double u1 = (static_cast<double>(engine_() >> 11) + 1.0) * (1.0 / 9007199254740993.0);
  double u2 = static_cast<double>(engine_() >> 11) * (1.0 / 9007199254740992.0);
  double z = std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
  return mean + stddev * static_cast<float>(z);
}

int64_t Generator::randint(int64_t lo, int64_t hi) {
  check(hi > lo, "randint: empty range [{}, {})", lo, hi);
  uint64_t span = static_cast<uint64_t>(hi - lo);
  return lo + static_cast<int64_t>(engine_() % span);
}

Generator& default_generator() {
  static Generator gen(0);
  return gen;
}

void manual_seed(uint64_t seed) { default_generator().seed(seed); }

Tensor uniform(const Shape& shape, float lo, float hi, Generator& gen) {
  Tensor t = uninitialized(shape);
  float* p = t.data<float>();
  for (int64_t i = 0, n = t.numel(); i < n; ++i) p[i] = gen.uniform(lo, hi);
  return t;
}

Tensor rand(const Shape& shape, Generator& gen) { return uniform(shape, 0.f, 1.f, gen); }

Tensor randn(const Shape& shape, Generator& gen) {
  Tensor t = uninitialized(shape);
  float* p = t.data<float>();
  for (int64_t i = 0, n = t.numel(); i < n; ++i) p[i] = gen.normal();
  return t;
}

Tensor randint(int64_t lo, int64_t hi, const Shape& shape, Generator& gen) {
  Tensor t = uninitialized(shape, DType::Int64);
  int64_t* p = t.data<int64_t>();
  for (int64_t i = 0, n = t.numel(); i < n; ++i) p[i] = gen.randint(lo, hi);
  return t;
}

}  // namespace convgrad
