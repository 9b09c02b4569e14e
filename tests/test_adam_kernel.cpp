// The Adam update kernel: the AVX2 loop against the plain loop that defines it, bit for bit, for every
// variant (maximize, AdamW, L2, amsgrad), every tail length and an offset start; the threaded entry
// point against the plain loop; and the plain loop against the update written out in double.
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "core/kernels/adam.h"

using namespace convgrad::kernels;

namespace {

struct State {
  std::vector<float> p, g, m, v, vmax;
};

State random_state(int64_t n, unsigned seed) {
  std::mt19937 gen(seed);
  std::normal_distribution<float> normal(0.f, 1.f);
  std::uniform_real_distribution<float> unit(0.f, 1.f);
  State s;
  for (int64_t i = 0; i < n; ++i) {
    s.p.push_back(normal(gen));
    s.g.push_back(normal(gen) * 0.1f);
    s.m.push_back(normal(gen) * 0.01f);
    s.v.push_back(unit(gen) * 1e-3f);
    s.vmax.push_back(unit(gen) * 2e-3f);
  }
  return s;
}

const AdamScalars kScalars{0.9f,
                           0.999f,
                           0.1f,
                           0.001f,
                           0.05f,
                           1e-8f,
                           1 - 0.01f * 0.05f,
                           -0.01f / 0.19f,
                           std::sqrt(1 - 0.999f * 0.999f)};

AdamVariant variant(int bits) { return {bool(bits & 8), bool(bits & 4), bool(bits & 2), bool(bits & 1)}; }

bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

// Every buffer of the two states holds the same bits.
void check_same_state(const State& a, const State& b) {
  CHECK(same_bits(a.p, b.p));
  CHECK(same_bits(a.m, b.m));
  CHECK(same_bits(a.v, b.v));
  CHECK(same_bits(a.vmax, b.vmax));
}

}  // namespace

TEST_CASE("adam: the SIMD loop matches the plain loop bit for bit, every variant and tail") {
  for (int bits = 0; bits < 16; ++bits) {
    if ((bits & 4) && (bits & 2)) continue;  // AdamW never adds the L2 term
    for (int64_t n : {1, 5, 8, 13, 16, 31, 100}) {
      for (int64_t k0 : {int64_t{0}, int64_t{3}}) {
        if (k0 >= n) continue;
        CAPTURE(bits);
        CAPTURE(n);
        CAPTURE(k0);
        State a = random_state(n, unsigned(bits * 131 + n));
        State b = a;
        for (int step = 0; step < 3; ++step) {
          adam_update_reference(kScalars, variant(bits), a.p.data(), a.g.data(), a.m.data(), a.v.data(),
                                a.vmax.data(), k0, n);
          adam_update_simd(kScalars, variant(bits), b.p.data(), b.g.data(), b.m.data(), b.v.data(),
                           b.vmax.data(), k0, n);
        }
        check_same_state(a, b);
      }
    }
  }
}

TEST_CASE("adam: the threaded update equals the plain loop over the whole tensor") {
  const int64_t n = 100003;
  for (int bits : {0, 3, 4, 9}) {
    CAPTURE(bits);
    State a = random_state(n, 7u + unsigned(bits)), b = a;
    adam_update_reference(kScalars, variant(bits), a.p.data(), a.g.data(), a.m.data(), a.v.data(),
                          a.vmax.data(), 0, n);
    adam_update(kScalars, variant(bits), b.p.data(), b.g.data(), b.m.data(), b.v.data(), b.vmax.data(), n);
    check_same_state(a, b);
  }
}

TEST_CASE("adam: the plain loop is the Adam update (each variant against a double-precision formula)") {
  const int64_t n = 64;
  for (int bits = 0; bits < 16; ++bits) {
    if ((bits & 4) && (bits & 2)) continue;
    CAPTURE(bits);
    const AdamVariant var = variant(bits);
    State s = random_state(n, 99u + unsigned(bits));
    const State before = s;
    adam_update_reference(kScalars, var, s.p.data(), s.g.data(), s.m.data(), s.v.data(), s.vmax.data(), 0, n);
    const AdamScalars& c = kScalars;
    for (int64_t k = 0; k < n; ++k) {
      double p = before.p[k], g = var.maximize ? -before.g[k] : before.g[k];
      if (var.decoupled) p *= c.decay;
      if (var.l2) g += double(c.weight_decay) * before.p[k];
      const double m = double(c.beta1) * before.m[k] + double(c.one_minus_beta1) * g;
      const double v = double(c.beta2) * before.v[k] + double(c.one_minus_beta2) * g * g;
      const double second = var.amsgrad ? std::max<double>(before.vmax[k], v) : v;
      const double want =
          p + double(c.neg_step_size) * m / (std::sqrt(second) / c.bias_correction2_sqrt + c.eps);
      CHECK(std::abs(s.p[k] - want) <= 1e-6 * (1 + std::abs(want)));
      CHECK(std::abs(s.m[k] - m) <= 1e-6 * (1e-3 + std::abs(m)));
      CHECK(std::abs(s.v[k] - v) <= 1e-6 * (1e-6 + std::abs(v)));
    }
  }
}
