// Random tensors from an explicitly seeded generator.
#pragma once

#include <cstdint>
#include <random>

#include "core/tensor.h"

namespace convgrad {

/// A seeded pseudo-random source (mt19937_64); the same seed gives the same tensors.
class Generator {
 public:
  /// A generator started from `seed`.
  explicit Generator(uint64_t seed = 0) : engine_(seed) {}
  /// Restarts from `seed`.
  void seed(uint64_t seed) { engine_.seed(seed); }
  /// One uniform float in [lo, hi).
  float uniform(float lo = 0.f, float hi = 1.f);
  /// One standard-normal float.
  float normal(float mean = 0.f, float stddev = 1.f);
  /// One integer in [lo, hi).
  int64_t randint(int64_t lo, int64_t hi);
  /// The underlying engine, for std distributions.
  std::mt19937_64& engine() { return engine_; }

 private:
  std::mt19937_64 engine_;
};

/// The process-wide generator used when none is passed.
Generator& default_generator();
/// Reseeds the process-wide generator.
void manual_seed(uint64_t seed);

/// Uniform [0, 1) float32 of `shape`.
Tensor rand(const Shape& shape, Generator& gen = default_generator());
/// Standard-normal float32 of `shape`.
Tensor randn(const Shape& shape, Generator& gen = default_generator());
/// Uniform [lo, hi) float32 of `shape`.
Tensor uniform(const Shape& shape, float lo, float hi, Generator& gen = default_generator());
/// Integers in [lo, hi) as int64 of `shape`.
Tensor randint(int64_t lo, int64_t hi, const Shape& shape, Generator& gen = default_generator());

}  // namespace convgrad
