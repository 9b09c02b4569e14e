#include "core/random.h"

#include <cmath>

#include "core/factory.h"

namespace convgrad {

namespace {

// The draws themselves, on an engine the caller has locked.
float draw_uniform(std::mt19937_64& e, float lo, float hi) {
  // 24 random bits give every float in [0, 1) with equal spacing, independent of the library.
  float u = static_cast<float>(e() >> 40) * (1.0f / 16777216.0f);
  return lo + (hi - lo) * u;
}

float draw_normal(std::mt19937_64& e, float mean, float stddev) {
  // Box-Muller on two uniforms: the same numbers on every standard library.
  double u1 = (static_cast<double>(e() >> 11) + 1.0) * (1.0 / 9007199254740993.0);
  double u2 = static_cast<double>(e() >> 11) * (1.0 / 9007199254740992.0);
  double z = std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
  return mean + stddev * static_cast<float>(z);
}

}  // namespace

Generator::Generator(const Generator& other) {
  std::lock_guard<std::mutex> lock(other.mutex_);
  engine_ = other.engine_;
}

Generator& Generator::operator=(const Generator& other) {
  if (this == &other) return *this;
  std::scoped_lock lock(mutex_, other.mutex_);
  engine_ = other.engine_;
  return *this;
}

void Generator::seed(uint64_t seed) {
  std::lock_guard<std::mutex> lock(mutex_);
  engine_.seed(seed);
}

float Generator::uniform(float lo, float hi) {
  std::lock_guard<std::mutex> lock(mutex_);
  return draw_uniform(engine_, lo, hi);
}

float Generator::normal(float mean, float stddev) {
  std::lock_guard<std::mutex> lock(mutex_);
  return draw_normal(engine_, mean, stddev);
}

int64_t Generator::randint(int64_t lo, int64_t hi) {
  CONVGRAD_CHECK(hi > lo, "randint: empty range [{}, {})", lo, hi);
  uint64_t span = static_cast<uint64_t>(hi - lo);
  std::lock_guard<std::mutex> lock(mutex_);
  return lo + static_cast<int64_t>(engine_() % span);
}

void Generator::fill_randint(int64_t* out, int64_t n, int64_t lo, int64_t hi) {
  if (n == 0) return;
  CONVGRAD_CHECK(hi > lo, "randint: empty range [{}, {})", lo, hi);
  uint64_t span = static_cast<uint64_t>(hi - lo);
  std::lock_guard<std::mutex> lock(mutex_);
  for (int64_t i = 0; i < n; ++i) out[i] = lo + static_cast<int64_t>(engine_() % span);
}

void Generator::fill_uniform(float* out, int64_t n, float lo, float hi) {
  std::lock_guard<std::mutex> lock(mutex_);
  for (int64_t i = 0; i < n; ++i) out[i] = draw_uniform(engine_, lo, hi);
}

void Generator::fill_normal(float* out, int64_t n, float mean, float stddev) {
  std::lock_guard<std::mutex> lock(mutex_);
  for (int64_t i = 0; i < n; ++i) out[i] = draw_normal(engine_, mean, stddev);
}

Generator& default_generator() {
  static Generator gen(0);
  return gen;
}

void manual_seed(uint64_t seed) { default_generator().seed(seed); }

Tensor uniform(const Shape& shape, float lo, float hi, Generator& gen) {
  Tensor t = uninitialized(shape);
  gen.fill_uniform(t.data<float>(), t.numel(), lo, hi);
  return t;
}

Tensor rand(const Shape& shape, Generator& gen) { return uniform(shape, 0.f, 1.f, gen); }

Tensor randn(const Shape& shape, Generator& gen) {
  Tensor t = uninitialized(shape);
  gen.fill_normal(t.data<float>(), t.numel());
  return t;
}

Tensor randint(int64_t lo, int64_t hi, const Shape& shape, Generator& gen) {
  Tensor t = uninitialized(shape, DType::Int64);
  gen.fill_randint(t.data<int64_t>(), t.numel(), lo, hi);
  return t;
}

}  // namespace convgrad
