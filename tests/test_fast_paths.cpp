// The training step's fast paths against the general ones: vectorised exp/log against libm, flat
// contiguous elementwise loops against the strided walk, in-place gradients against fresh buffers, the
// fused cross entropy against a float64 reference, and Adam's vector lanes against its scalar tail.
// Sizes cross the OpenMP thresholds and every check runs at 1 and 2 threads.
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "autograd/ops_math.h"
#include "core/factory.h"
#include "core/kernels/elementwise.h"
#include "core/kernels/fast_math.h"
#include "core/kernels/relu.h"
#include "core/random.h"
#include "core/threading.h"
#include "layers/loss.h"
#include "layers/optim.h"
#include "test_util.h"

using namespace convgrad;
using convgrad::testing::at_1_and_2_threads;
namespace k = convgrad::kernels;

namespace {

const float kInf = std::numeric_limits<float>::infinity();
const float kNaN = std::numeric_limits<float>::quiet_NaN();

// The same values as `t` in a non-contiguous layout: a transposed copy viewed back (2-D tensors).
Tensor strided_copy(const Tensor& t) {
  const int64_t r = t.size(0), c = t.size(1);
  std::vector<float> v = t.to_vector<float>(), tr(v.size());
  for (int64_t i = 0; i < r; ++i)
    for (int64_t j = 0; j < c; ++j) tr[j * r + i] = v[i * c + j];
  Tensor base = from_vector(tr, {c, r});
  return as_strided(base, {r, c}, {1, r}, 0);
}

// Bit-for-bit equality (NaNs equal to NaNs).
void check_same(const Tensor& a, const Tensor& b) {
  REQUIRE(a.shape() == b.shape());
  std::vector<float> va = a.to_vector<float>(), vb = b.to_vector<float>();
  size_t bad = 0;
  for (size_t i = 0; i < va.size(); ++i)
    if (!(va[i] == vb[i] || (std::isnan(va[i]) && std::isnan(vb[i])))) ++bad;
  CHECK_MESSAGE(bad == 0, bad, " of ", va.size(), " elements differ");
}

// Random values with negatives, zeros, a NaN and infinities sprinkled in.
Tensor test_values(const Shape& shape, uint64_t seed) {
  Generator gen(seed);
  Tensor t = randn(shape, gen);
  float* p = t.data<float>();
  const int64_t n = t.numel();
  for (int64_t i = 0; i < n; i += 97) p[i] = 0.f;
  p[n / 3] = kNaN;
  p[n / 2] = kInf;
  p[n - 1] = -kInf;
  return t;
}

}  // namespace

TEST_CASE("exp_nonpositive and log_normal agree with libm to a few ulp") {
  double worst_exp = 0;
  int log_failures = 0;
  for (int i = 0; i <= 200000; ++i) {
    const float x = -87.f * static_cast<float>(i) / 200000.f;
    const double want = std::exp(static_cast<double>(x));
    const double err = std::abs(k::exp_nonpositive(x) - want) / want;
    if (!(err <= worst_exp)) worst_exp = std::isnan(err) ? INFINITY : err;  // NaN counts as the worst
  }
  for (int i = 0; i <= 200000; ++i) {
    // 1 .. 1e6 (log-sum-exp's range and beyond), and values below 1 down to 1e-37.
    const float hi = std::exp(13.8f * static_cast<float>(i) / 200000.f),
                lo = std::exp(-85.f * static_cast<float>(i) / 200000.f);
    for (float x : {hi, lo}) {
      const double want = std::log(static_cast<double>(x));
      if (!(std::abs(k::log_normal(x) - want) <= 4e-7 * std::abs(want) + 1e-7) && ++log_failures < 5)
        FAIL_CHECK("log_normal(" << x << ") = " << k::log_normal(x) << " vs " << want);
    }
  }
  CHECK(worst_exp < 4e-7);
  CHECK(log_failures == 0);
  CHECK(k::exp_nonpositive(0.f) == 1.f);
  CHECK(k::exp_nonpositive(-kInf) == 0.f);
  CHECK(k::exp_nonpositive(-100.f) == 0.f);
  CHECK(std::isnan(k::exp_nonpositive(kNaN)));
  CHECK(k::log_normal(1.f) == 0.f);
  CHECK(k::log_normal(kInf) == kInf);
  CHECK(std::isnan(k::log_normal(kNaN)));
  CHECK(k::log_normal(2.f) == doctest::Approx(std::log(2.0)).epsilon(1e-7));
  CHECK(k::log_normal(4.f) == doctest::Approx(std::log(4.0)).epsilon(1e-7));
}

TEST_CASE("unary ops and their gradients: flat contiguous loops give the strided walk's values") {
  at_1_and_2_threads([] {
    Tensor x = test_values({300, 211}, 1), g = test_values({300, 211}, 2);  // 63k elements: above the split
    Tensor xs = strided_copy(x), gs = strided_copy(g);
    REQUIRE(!xs.is_contiguous());
    for (k::UnaryOp op : {k::UnaryOp::Neg, k::UnaryOp::Exp, k::UnaryOp::Log, k::UnaryOp::Sqrt,
                          k::UnaryOp::Pow, k::UnaryOp::Abs, k::UnaryOp::Relu, k::UnaryOp::LeakyRelu,
                          k::UnaryOp::Sigmoid, k::UnaryOp::Tanh, k::UnaryOp::Clamp}) {
      CAPTURE(k::unary_op_name(op));
      const k::UnaryParams p{op == k::UnaryOp::Clamp ? -0.5f : 3.f, 0.7f};
      Tensor y = k::unary(op, x, p), ys = k::unary(op, xs, p);
      check_same(y, ys);
      Tensor gx = k::unary_backward(op, g, x, y, p), gxs = k::unary_backward(op, gs, xs, ys, p);
      check_same(gx, gxs);
      // In place over a gradient the caller owns: same values, written into that buffer.
      Tensor own = clone_data(g);
      Tensor gi = k::unary_backward(op, own, x, y, p, true);
      CHECK(gi.is_same(own));
      check_same(gi, gx);
    }
  });
}

TEST_CASE("relu's gradient reads only its output and gives the input rule's values") {
  Tensor x = test_values({70000}, 3), g = test_values({70000}, 4);
  CHECK(k::unary_backward_reads(k::UnaryOp::Relu) == k::UnarySaved::Output);
  CHECK(k::unary_backward_reads(k::UnaryOp::Log) == k::UnarySaved::Input);
  Tensor y = k::unary(k::UnaryOp::Relu, x);
  Tensor gx = k::unary_backward(k::UnaryOp::Relu, g, Tensor(), y);
  std::vector<float> vx = x.to_vector<float>(), vg = g.to_vector<float>(), got = gx.to_vector<float>();
  size_t bad = 0;
  for (size_t i = 0; i < vx.size(); ++i) {
    const float want = vx[i] > 0.f ? vg[i] : 0.f;
    if (!(got[i] == want || (std::isnan(got[i]) && std::isnan(want)))) ++bad;
  }
  CHECK(bad == 0);
  CHECK_THROWS_AS(k::unary_backward(k::UnaryOp::Log, g, Tensor(), y), Error);  // log needs x
}

TEST_CASE("binary ops: flat same-shape and scalar loops give the strided walk's values") {
  at_1_and_2_threads([] {
    Tensor a = test_values({300, 211}, 5), b = test_values({300, 211}, 6);
    Tensor as = strided_copy(a), bs = strided_copy(b), s = full({}, 1.5), s11 = full({1, 1}, -2.f);
    for (k::BinaryOp op : {k::BinaryOp::Add, k::BinaryOp::Sub, k::BinaryOp::Mul, k::BinaryOp::Div,
                           k::BinaryOp::Maximum, k::BinaryOp::Minimum, k::BinaryOp::Lt}) {
      CAPTURE(k::binary_op_name(op));
      check_same(k::binary(op, a, b), k::binary(op, as, bs));
      check_same(k::binary(op, a, s), k::binary(op, as, s));
      check_same(k::binary(op, s11, b), k::binary(op, s11, bs));
    }
    // int64 takes the same flat path.
    Generator gen(9);
    Tensor ia = randint(-50, 50, {300, 211}, gen), ib = randint(-50, 50, {300, 211}, gen);
    Tensor want = k::add(strided_copy(k::cast(ia, DType::Float32)), k::cast(ib, DType::Float32));
    check_same(k::cast(k::add(ia, ib), DType::Float32), want);
  });
}

TEST_CASE("add_inplace adds any-strided sources into a contiguous buffer") {
  at_1_and_2_threads([] {
    Tensor a = test_values({300, 211}, 7), b = test_values({300, 211}, 8);
    Tensor want = k::add(a, b);
    Tensor d1 = clone_data(a), d2 = clone_data(a);
    k::add_inplace(d1, b);
    k::add_inplace(d2, strided_copy(b));
    check_same(d1, want);
    check_same(d2, want);
    CHECK_THROWS_AS(k::add_inplace(strided_copy(a), b), Error);
    CHECK_THROWS_AS(k::add_inplace(a, zeros({211, 300})), Error);
  });
}

TEST_CASE("relu with a packed mask: the same output, mask bits and gradient as the general path") {
  at_1_and_2_threads([] {
    for (int64_t n : {1, 63, 64, 65, 1000, 70001}) {  // partial words; 70,001 splits across threads
      CAPTURE(n);
      Tensor x = test_values({n}, 10 + static_cast<uint64_t>(n)), g = test_values({n}, 20);
      k::ReluMasked r = k::relu_masked(x);
      Tensor y = k::unary(k::UnaryOp::Relu, x);
      check_same(r.y, y);
      REQUIRE(r.mask.numel() == (n + 63) / 64);
      std::vector<float> vx = x.to_vector<float>();
      const int64_t* words = r.mask.data<int64_t>();
      size_t bad = 0;
      for (int64_t i = 0; i < n; ++i)
        if (((static_cast<uint64_t>(words[i / 64]) >> (i % 64)) & 1u) != (vx[i] > 0.f ? 1u : 0u)) ++bad;
      CHECK(bad == 0);
      Tensor want = k::unary_backward(k::UnaryOp::Relu, g, x, y);
      check_same(k::relu_backward_masked(g, r.mask), want);
      Tensor own = clone_data(g);
      Tensor in_place = k::relu_backward_masked(own, r.mask, true);
      CHECK(in_place.is_same(own));
      check_same(in_place, want);
    }
  });
  CHECK_THROWS_AS(k::relu_masked(strided_copy(zeros({3, 4}))), Error);
  CHECK_THROWS_AS(k::relu_backward_masked(zeros({65}), zeros({1}, DType::Int64)), Error);
}

TEST_CASE("autograd relu: the masked path (contiguous) and the general path (strided) give one gradient") {
  Tensor x = test_values({300, 211}, 30), g = test_values({300, 211}, 31);
  Tensor a = clone_data(x), b = strided_copy(x);
  a.set_requires_grad();
  b.set_requires_grad();
  Tensor ya = relu(a), yb = relu(b);
  check_same(ya, yb);
  ya.backward(g);
  yb.backward(g);
  check_same(a.grad(), b.grad());
  std::vector<float> vx = x.to_vector<float>(), vg = g.to_vector<float>(), got = a.grad().to_vector<float>();
  size_t bad = 0;
  for (size_t i = 0; i < vx.size(); ++i) {
    const float want = vx[i] > 0.f ? vg[i] : 0.f;
    if (!(got[i] == want || (std::isnan(got[i]) && std::isnan(want)))) ++bad;
  }
  CHECK(bad == 0);
}
