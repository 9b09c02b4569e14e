// Random tensors from an explicitly seeded generator.
#pragma once

#include <cstdint>
#include <mutex>
#include <random>

#include "core/tensor.h"

namespace convgrad {

/// A seeded pseudo-random source (mt19937_64); the same seed gives the same tensors.
/// Thread-safe: every draw (uniform, normal, randint, fill_*, seed) holds the generator's own lock, so
/// threads sharing one generator (the default one included) each get distinct numbers of one stream, never
/// the same numbers and never a torn state. Which thread gets which numbers then depends on timing: for
/// reproducible results, give each thread its own Generator. A fill_* call draws all its numbers under
/// one lock, so a tensor's values are consecutive numbers of the stream.
class Generator {
 public:
  /// A generator started from `seed`.
  explicit Generator(uint64_t seed = 0) : engine_(seed) {}
  /// A generator in the same state as `other` (the two then give the same numbers).
  Generator(const Generator& other);
  Generator& operator=(const Generator& other);
  /// Restarts from `seed`.
  void seed(uint64_t seed);
  /// One uniform float in [lo, hi).
  float uniform(float lo = 0.f, float hi = 1.f);
  /// One standard-normal float.
  float normal(float mean = 0.f, float stddev = 1.f);
  /// One integer in [lo, hi).
  int64_t randint(int64_t lo, int64_t hi);
  /// Writes `n` integers in [lo, hi) to `out`: the same numbers as n calls of randint(lo, hi).
  void fill_randint(int64_t* out, int64_t n, int64_t lo, int64_t hi);
  /// Writes `n` uniform floats in [lo, hi) to `out`: the same numbers as n calls of uniform(lo, hi).
  void fill_uniform(float* out, int64_t n, float lo = 0.f, float hi = 1.f);
  /// Writes `n` normal floats to `out`: the same numbers as n calls of normal(mean, stddev).
  void fill_normal(float* out, int64_t n, float mean = 0.f, float stddev = 1.f);
  /// The underlying engine, for std distributions. Not locked: only for a generator one thread uses.
  std::mt19937_64& engine() { return engine_; }

 private:
  mutable std::mutex mutex_;
  std::mt19937_64 engine_;
};

/// The process-wide generator used when none is passed (thread-safe, like every Generator).
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
