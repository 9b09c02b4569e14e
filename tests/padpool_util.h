// Shared by the pad / pooling / padding-mode tests: golden files of tests/data/padpool/ and a
// NaN-safe comparison.
#pragma once

#include <doctest/doctest.h>

#include <cmath>
#include <map>
#include <string>

#include "core/factory.h"
#include "core/npy.h"

namespace padpool {

using convgrad::Tensor;
using Golden = std::map<std::string, Tensor>;

inline Golden golden(const std::string& name) {
  return convgrad::load_npz(std::string(CONVGRAD_TEST_DATA) + "/padpool/" + name + ".npz");
}

/// A float32 leaf copy of `t` that records gradients.
inline Tensor leaf(const Tensor& t) {
  Tensor c = convgrad::clone_data(t);
  c.set_requires_grad();
  return c;
}

/// Same shape, and every |a - b| <= atol + rtol * |b| (a NaN anywhere fails).
inline void check_close(const Tensor& a, const Tensor& b, const std::string& what, double rtol = 1e-5,
                        double atol = 1e-6) {
  REQUIRE_MESSAGE(a.defined(), what << " is undefined");
  REQUIRE_MESSAGE(a.shape() == b.shape(), what << ": shape " << convgrad::shape_str(a.shape()) << " vs "
                                               << convgrad::shape_str(b.shape()));
  const auto va = a.to_vector<double>(), vb = b.to_vector<double>();
  for (size_t i = 0; i < va.size(); ++i) {
    const double err = std::abs(va[i] - vb[i]);
    if (!(err <= atol + rtol * std::abs(vb[i]))) {
      FAIL_CHECK(what << ": element " << i << " is " << va[i] << ", expected " << vb[i]);
      return;
    }
  }
}

/// The int64 array `key` of a golden as a vector.
inline std::vector<int64_t> ints(const Golden& g, const std::string& key) {
  return g.at(key).to_vector<int64_t>();
}

}  // namespace padpool
