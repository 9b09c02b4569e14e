// Shared helpers of the tests/test_conv_*.cpp executables: a naive oracle straight from the definition
// of a convolution, and tolerance checks.
#pragma once

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "core/conv_geometry.h"
#include "core/tensor.h"

namespace convgrad::testing {

/// Forward, backward-data and backward-weights of one convolution, in double, by enumerating every
/// (n, o, oh, ow, c, kh, kw) whose tap lands inside the input: y += x w; dx += dy w; dw += dy x.
struct Oracle {
  std::vector<double> y, dx, dw;
  Oracle(const ConvShapes& s, const std::vector<float>& x, const std::vector<float>& w,
         const std::vector<float>& dy) {
    const int64_t N = s.src[0], C = s.src[1], H = s.src[2], W = s.src[3];
    const int64_t O = s.dst[1], OH = s.dst[2], OW = s.dst[3], KH = s.wei[2], KW = s.wei[3];
    const int64_t g = s.params.groups, Cg = C / g, Og = O / g;
    y.assign(N * O * OH * OW, 0.0);
    dx.assign(N * C * H * W, 0.0);
    dw.assign(O * Cg * KH * KW, 0.0);
    for (int64_t n = 0; n < N; ++n)
      for (int64_t o = 0; o < O; ++o)
        for (int64_t oh = 0; oh < OH; ++oh)
          for (int64_t ow = 0; ow < OW; ++ow)
            for (int64_t c = 0; c < Cg; ++c)
              for (int64_t kh = 0; kh < KH; ++kh)
                for (int64_t kw = 0; kw < KW; ++kw) {
                  int64_t ih = oh * s.params.stride[0] - s.params.pad_begin[0] + kh * s.params.dilation[0];
                  int64_t iw = ow * s.params.stride[1] - s.params.pad_begin[1] + kw * s.params.dilation[1];
                  if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
                  int64_t xi = ((n * C + (o / Og) * Cg + c) * H + ih) * W + iw;
                  int64_t wi = ((o * Cg + c) * KH + kh) * KW + kw;
                  int64_t yi = ((n * O + o) * OH + oh) * OW + ow;
                  y[yi] += double(x[xi]) * w[wi];
                  dx[xi] += double(dy[yi]) * w[wi];
                  dw[wi] += double(dy[yi]) * x[xi];
                }
  }
};

/// max |got - want| <= rtol * max |want| + atol, every element finite (NaN-prefilled outputs catch
/// unwritten elements).
inline void check_close(const Tensor& got, const std::vector<double>& want, const std::string& what,
                        double rtol = 1e-5, double atol = 1e-6) {
  std::vector<float> g = got.to_vector();
  REQUIRE_MESSAGE(g.size() == want.size(), what);
  double max_ref = 0, max_diff = 0;
  int64_t worst = -1;
  for (size_t i = 0; i < g.size(); ++i) {
    max_ref = std::max(max_ref, std::abs(want[i]));
    double d = std::isfinite(g[i]) ? std::abs(g[i] - want[i]) : INFINITY;
    if (d > max_diff || worst < 0) max_diff = d, worst = int64_t(i);
  }
  double tol = rtol * max_ref + atol;
  CHECK_MESSAGE(max_diff <= tol, what << ": max |diff| " << max_diff << " at " << worst << " (got "
                                      << (worst >= 0 ? g[worst] : 0.f) << ", want "
                                      << (worst >= 0 ? want[worst] : 0.) << "), tolerance " << tol);
}

/// The float values of a tensor as doubles.
inline std::vector<double> as_double(const Tensor& t) {
  std::vector<float> v = t.to_vector();
  return std::vector<double>(v.begin(), v.end());
}

}  // namespace convgrad::testing
