// Pooling, batch norm, dropout and bilinear upsampling: hand-computed values, PyTorch goldens
// (tools/gen_nn_goldens.py -> tests/data/nn/), finite-difference gradients and argument errors.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <string>

#include "autograd/gradcheck.h"
#include "autograd/ops_nn.h"
#include "core/factory.h"
#include "core/npy.h"
#include "core/random.h"
#include "test_util.h"

using namespace convgrad;
using convgrad::testing::check_close;
using convgrad::testing::floats;
using convgrad::testing::leaf;

namespace {

// tests/data/nn/<name>.npy, written by tools/gen_nn_goldens.py.
Tensor golden(const std::string& name) {
  return load_npy(std::string(CONVGRAD_TEST_DATA) + "/nn/" + name + ".npy");
}

// Runs fn on a fresh leaf copy of the golden input, backpropagates the golden gy and compares y and gx.
template <class Fn>
void check_golden_case(const std::string& name, Fn fn) {
  INFO("case " << name);
  Tensor x = leaf(golden(name + "_x"));
  Tensor y = fn(x);
  check_close(y, golden(name + "_y"));
  y.backward(golden(name + "_gy"));
  check_close(x.grad(), golden(name + "_gx"));
}

}  // namespace

TEST_CASE("max_pool2d: hand-computed values, argmax routing and -inf padding") {
  Tensor x = leaf(floats({1, 5, 2, 0, 3, 4, 8, 7, 9, 6, 1, 2, 0, 3, 4, 11}, {1, 1, 4, 4}));
  Tensor y = max_pool2d(x, {2, 2});  // stride 0 means the kernel
  CHECK(y.shape() == Shape{1, 1, 2, 2});
  CHECK(y.to_vector() == std::vector<float>{5, 8, 9, 11});
  y.backward(floats({1, 2, 3, 4}, {1, 1, 2, 2}));
  CHECK(x.grad().to_vector() == std::vector<float>{0, 1, 0, 0, 0, 0, 2, 0, 3, 0, 0, 0, 0, 0, 0, 4});

  // All-negative input: the padding must never win (it is -inf, not 0).
  Tensor neg = floats({-1, -2, -3, -4}, {1, 2, 2});  // (C, H, W) is accepted too
  Tensor yn = max_pool2d(neg, {3, 3}, {1, 1}, {1, 1});
  CHECK(yn.shape() == Shape{1, 2, 2});
  CHECK(yn.to_vector() == std::vector<float>{-1, -1, -1, -1});

  // Ties: the whole gradient goes to the first maximum in row-major order.
  Tensor t = leaf(ones({1, 1, 2, 2}));
  max_pool2d(t, {2, 2}).backward(full({1, 1, 1, 1}, 3.0));
  CHECK(t.grad().to_vector() == std::vector<float>{3, 0, 0, 0});

  // NaN propagates (like PyTorch) and its gradient goes to the NaN.
  Tensor xn = leaf(floats({1, NAN, 5, 2}, {1, 1, 2, 2}));
  Tensor yn2 = max_pool2d(xn, {2, 2});
  CHECK(std::isnan(yn2.item()));
  yn2.backward(ones({1, 1, 1, 1}));
  CHECK(xn.grad().to_vector() == std::vector<float>{0, 1, 0, 0});
}

TEST_CASE("avg_pool2d counts the padding in the divisor (count_include_pad)") {
  Tensor x = leaf(ones({1, 1, 2, 2}));
  Tensor y = avg_pool2d(x, {2, 2}, {1, 1}, {1, 1});
  CHECK(y.shape() == Shape{1, 1, 3, 3});
  CHECK(y.to_vector() == std::vector<float>{0.25f, 0.5f, 0.25f, 0.5f, 1.f, 0.5f, 0.25f, 0.5f, 0.25f});
  y.backward(ones({1, 1, 3, 3}));
  // Each input pixel lies in four windows, each passing 1/4 back.
  CHECK(x.grad().to_vector() == std::vector<float>{1, 1, 1, 1});
}

TEST_CASE("pooling matches PyTorch goldens") {
  check_golden_case("maxpool_a", [](const Tensor& x) { return max_pool2d(x, {3, 3}, {2, 2}, {1, 1}); });
  check_golden_case("maxpool_b", [](const Tensor& x) { return max_pool2d(x, {2, 3}, {1, 2}, {1, 0}); });
  check_golden_case("maxpool_c", [](const Tensor& x) { return max_pool2d(x, {2, 2}); });
  check_golden_case("avgpool_a", [](const Tensor& x) { return avg_pool2d(x, {3, 3}, {2, 2}, {1, 1}); });
  check_golden_case("avgpool_b", [](const Tensor& x) { return avg_pool2d(x, {3, 2}, {1, 2}, {1, 1}); });
}

TEST_CASE("pooling gradients pass gradcheck") {
  Generator gen(7);
  // A random permutation scaled apart keeps every window's maximum unique by a wide margin.
  Tensor x = randn({2, 2, 5, 6}, gen);
  std::vector<float> v = x.to_vector();
  for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<float>((i * 37) % v.size()) * 0.1f + 0.01f * v[i];
  Tensor xm = leaf(from_vector(v, x.shape()));
  auto r = gradcheck(
      [](const std::vector<Tensor>& in) {
        return max_pool2d(in[0], {3, 2}, {2, 1}, {1, 1});
      },
      {xm});
  CHECK_MESSAGE(r.ok, r.report);
  Tensor xa = leaf(randn({2, 2, 5, 6}, gen));
  r = gradcheck(
      [](const std::vector<Tensor>& in) {
        return avg_pool2d(in[0], {3, 3}, {2, 2}, {1, 1});
      },
      {xa});
  CHECK_MESSAGE(r.ok, r.report);
}

TEST_CASE("pooling rejects bad arguments with an Error") {
  Tensor x = zeros({1, 1, 4, 4});
  CHECK_THROWS_WITH_AS(max_pool2d(x, {3, 3}, {1, 1}, {2, 2}), doctest::Contains("at most half"), Error);
  CHECK_THROWS_WITH_AS(avg_pool2d(x, {5, 5}), doctest::Contains("larger than the padded input"), Error);
  CHECK_THROWS_WITH_AS(max_pool2d(zeros({4, 4}), {2, 2}), doctest::Contains("[4, 4]"), Error);
  CHECK_THROWS_AS(max_pool2d(x, {0, 2}), Error);
  CHECK_THROWS_AS(avg_pool2d(x, {2, 2}, {-1, 1}), Error);
  CHECK_THROWS_AS(max_pool2d(zeros({1, 1, 4, 4}, DType::Int64), {2, 2}), Error);
  CHECK_THROWS_AS(max_pool2d(Tensor(), {2, 2}), Error);
}

TEST_CASE("batch_norm: hand-computed training step, running stats and eval") {
  Tensor x = floats({1, 2, 3, 4}, {4, 1});
  Tensor rm = zeros({1}), rv = ones({1});
  Tensor y = batch_norm(x, rm, rv, Tensor(), Tensor(), true, 0.1f, 0.f);
  // Batch mean 2.5, biased variance 1.25 normalise; the unbiased 5/3 feeds running_var.
  const float s = 1.f / std::sqrt(1.25f);
  check_close(y, floats({-1.5f * s, -0.5f * s, 0.5f * s, 1.5f * s}, {4, 1}));
  CHECK(rm.item() == doctest::Approx(0.25));
  CHECK(rv.item() == doctest::Approx(0.9 + 0.1 * 5.0 / 3.0));

  // Eval uses the running statistics and leaves them alone.
  Tensor w = full({1}, 2.0), b = full({1}, 1.0);
  Tensor ye = batch_norm(x, rm, rv, w, b, false);
  const float inv = 1.f / std::sqrt(rv.item() + 1e-5f);
  check_close(ye, floats({(1 - 0.25f) * inv * 2 + 1, (2 - 0.25f) * inv * 2 + 1, (3 - 0.25f) * inv * 2 + 1,
                          (4 - 0.25f) * inv * 2 + 1},
                         {4, 1}));
  CHECK(rm.item() == doctest::Approx(0.25));
}

TEST_CASE("batch_norm rejects a NaN or out-of-range momentum and leaves the running statistics alone") {
  Tensor x = floats({1, 2, 3, 4}, {4, 1});
  Tensor rm = full({1}, 0.5), rv = full({1}, 2.0);
  for (float m : {std::nanf(""), -0.1f, 1.5f, INFINITY}) {
    CAPTURE(m);
    CHECK_THROWS_WITH_AS(batch_norm(x, rm, rv, Tensor(), Tensor(), true, m),
                         doctest::Contains("batch_norm: momentum must be a number in [0, 1], got"), Error);
    CHECK(rm.item() == 0.5f);
    CHECK(rv.item() == 2.f);
  }
  CHECK_THROWS_WITH_AS(batch_norm(x, rm, rv, Tensor(), Tensor(), true, std::nanf("")),
                       doctest::Contains("nan"), Error);
  // The ends of the range are valid: 0 keeps the statistics, 1 replaces them.
  batch_norm(x, rm, rv, Tensor(), Tensor(), true, 0.f);
  CHECK(rm.item() == 0.5f);
  batch_norm(x, rm, rv, Tensor(), Tensor(), true, 1.f);
  CHECK(rm.item() == 2.5f);
}

TEST_CASE("batch_norm: train vs eval after the running stats converge") {
  Generator gen(3);
  Tensor x = randn({4, 3, 2, 2}, gen);
  Tensor rm = zeros({3}), rv = ones({3});
  // momentum 1 copies the batch statistics: running_var becomes the unbiased variance (M = 16).
  Tensor yt = batch_norm(x, rm, rv, Tensor(), Tensor(), true, 1.f);
  Tensor ye = batch_norm(x, rm, rv, Tensor(), Tensor(), false, 1.f);
  std::vector<float> vt = yt.to_vector(), ve = ye.to_vector(), rvv = rv.to_vector();
  for (size_t i = 0; i < vt.size(); ++i) {
    const size_t c = (i / 4) % 3;
    const double biased = rvv[c] * 15.0 / 16.0;
    CHECK(ve[i] == doctest::Approx(vt[i] * std::sqrt((biased + 1e-5) / (rvv[c] + 1e-5))).epsilon(1e-4));
  }
}

TEST_CASE("batch_norm matches PyTorch goldens (values, gradients, running stats)") {
  struct Case {
    const char* name;
    bool training;
    float momentum, eps;
  };
  for (const Case& c : {Case{"bn_train4d", true, 0.1f, 1e-5f}, Case{"bn_eval4d", false, 0.1f, 1e-5f},
                        Case{"bn_train2d", true, 0.3f, 1e-3f}}) {
    const std::string n = c.name;
    INFO("case " << n);
    Tensor x = leaf(golden(n + "_x")), w = leaf(golden(n + "_w")), b = leaf(golden(n + "_b"));
    Tensor rm = golden(n + "_rm"), rv = golden(n + "_rv");
    Tensor y = batch_norm(x, rm, rv, w, b, c.training, c.momentum, c.eps);
    check_close(y, golden(n + "_y"));
    check_close(rm, golden(n + "_rm_out"));
    check_close(rv, golden(n + "_rv_out"));
    y.backward(golden(n + "_gy"));
    check_close(x.grad(), golden(n + "_gx"), 1e-4f, 1e-3f);
    check_close(w.grad(), golden(n + "_gw"), 1e-4f, 1e-4f);
    check_close(b.grad(), golden(n + "_gb"), 1e-4f, 1e-4f);
  }
}

TEST_CASE("batch_norm gradients pass gradcheck in training and eval") {
  Generator gen(11);
  Tensor x = leaf(randn({3, 2, 2, 2}, gen)), w = leaf(uniform({2}, 0.5f, 1.5f, gen));
  Tensor b = leaf(randn({2}, gen));
  auto r = gradcheck(
      [](const std::vector<Tensor>& in) { return batch_norm(in[0], Tensor(), Tensor(), in[1], in[2], true); },
      {x, w, b});
  CHECK_MESSAGE(r.ok, r.report);
  Tensor x2 = leaf(randn({5, 3}, gen)), w2 = leaf(uniform({3}, 0.5f, 1.5f, gen)), b2 = leaf(randn({3}, gen));
  r = gradcheck(
      [](const std::vector<Tensor>& in) { return batch_norm(in[0], Tensor(), Tensor(), in[1], in[2], true); },
      {x2, w2, b2});
  CHECK_MESSAGE(r.ok, r.report);
  Tensor rm = floats({0.3f, -0.2f}, {2}), rv = floats({0.8f, 1.7f}, {2});
  r = gradcheck([&](const std::vector<Tensor>& in) { return batch_norm(in[0], rm, rv, in[1], in[2], false); },
                {x, w, b});
  CHECK_MESSAGE(r.ok, r.report);
}

TEST_CASE("batch_norm: constant input stays finite, strided input, errors") {
  Tensor x = leaf(full({3, 2, 2, 2}, 3.0));
  Tensor b = floats({0.5f, -1.f}, {2});
  Tensor y = batch_norm(x, Tensor(), Tensor(), Tensor(), b, true);
  std::vector<float> vy = y.to_vector();
  for (size_t i = 0; i < vy.size(); ++i) CHECK(vy[i] == ((i / 4) % 2 == 0 ? 0.5f : -1.f));
  y.backward(randn({3, 2, 2, 2}));
  for (float g : x.grad().to_vector()) CHECK(std::isfinite(g));

  // A transposed (non-contiguous) input gives the same result as its contiguous copy.
  Tensor base = randn({3, 5});
  Tensor xt = as_strided(base, {5, 3}, {1, 5}, 0);
  check_close(batch_norm(xt, Tensor(), Tensor(), Tensor(), Tensor(), true),
              batch_norm(clone_data(xt), Tensor(), Tensor(), Tensor(), Tensor(), true));

  Tensor x4 = zeros({2, 3, 2, 2});
  CHECK_THROWS_WITH_AS(batch_norm(x4, zeros({4}), ones({4}), Tensor(), Tensor(), true),
                       doctest::Contains("3 channels"), Error);
  CHECK_THROWS_WITH_AS(batch_norm(zeros({4}), Tensor(), Tensor(), Tensor(), Tensor(), true),
                       doctest::Contains("[4]"), Error);
  CHECK_THROWS_WITH_AS(batch_norm(zeros({1, 3}), Tensor(), Tensor(), Tensor(), Tensor(), true),
                       doctest::Contains("more than one value"), Error);
  CHECK_THROWS_WITH_AS(batch_norm(x4, Tensor(), Tensor(), Tensor(), Tensor(), false),
                       doctest::Contains("eval mode"), Error);
  CHECK_THROWS_AS(batch_norm(x4, zeros({3}), Tensor(), Tensor(), Tensor(), true), Error);
  CHECK_THROWS_AS(batch_norm(x4, Tensor(), Tensor(), ones({2}), Tensor(), true), Error);
}

TEST_CASE("dropout: identity cases, mask statistics, scaling and backward") {
  Tensor x = ones({200000});
  CHECK(dropout(x, 0.f, true).is_same(x));
  CHECK(dropout(x, 0.5f, false).is_same(x));
  CHECK_THROWS_WITH_AS(dropout(x, 1.f, true), doctest::Contains("[0, 1)"), Error);
  CHECK_THROWS_AS(dropout(x, -0.1f, false), Error);
  CHECK_THROWS_AS(dropout(x, NAN, true), Error);

  Tensor xl = leaf(ones({200000}));
  Generator gen(42);
  Tensor y = dropout(xl, 0.3f, true, gen);
  std::vector<float> v = y.to_vector();
  int64_t zeros_seen = 0;
  for (float e : v) {
    if (e == 0.f)
      ++zeros_seen;
    else
      CHECK(e == 1.f / 0.7f);
  }
  CHECK(static_cast<double>(zeros_seen) / v.size() == doctest::Approx(0.3).epsilon(0.03));
  y.backward(ones({200000}));
  CHECK(xl.grad().to_vector() == v);  // x is all ones, so the gradient equals the output

  Generator g1(5), g2(5), g3(6);
  Tensor small = randn({64});
  CHECK(dropout(small, 0.5f, true, g1).to_vector() == dropout(small, 0.5f, true, g2).to_vector());
  CHECK(dropout(small, 0.5f, true, g1).to_vector() != dropout(small, 0.5f, true, g3).to_vector());

  auto r = gradcheck(
      [](const std::vector<Tensor>& in) {
        Generator g(9);  // the same mask on every evaluation
        return dropout(in[0], 0.4f, true, g);
      },
      {leaf(randn({3, 4}))});
  CHECK_MESSAGE(r.ok, r.report);
}

TEST_CASE("upsample_bilinear2d: half-pixel centres, clamped edges, backward") {
  Tensor x = leaf(floats({0, 1}, {1, 1, 1, 2}));
  Tensor y = upsample_bilinear2d(x, {1, 4});
  // Output column o samples input (o + 0.5) / 2 - 0.5, clamped to [0, 1].
  check_close(y, floats({0.f, 0.25f, 0.75f, 1.f}, {1, 1, 1, 4}), 1e-7f, 0.f);
  y.backward(ones({1, 1, 1, 4}));
  check_close(x.grad(), floats({2.f, 2.f}, {1, 1, 1, 2}), 1e-6f, 0.f);

  Tensor z = randn({2, 3, 4, 5});
  check_close(upsample_bilinear2d(z, {4, 5}), z, 0.f, 0.f);  // same size is the identity

  CHECK_THROWS_WITH_AS(upsample_bilinear2d(zeros({3, 4, 4}), {8, 8}), doctest::Contains("[3, 4, 4]"), Error);
  CHECK_THROWS_AS(upsample_bilinear2d(z, {0, 8}), Error);
}

TEST_CASE("upsample_bilinear2d matches PyTorch goldens and gradcheck") {
  check_golden_case("upsample_a", [](const Tensor& x) { return upsample_bilinear2d(x, {9, 13}); });
  check_golden_case("upsample_b", [](const Tensor& x) { return upsample_bilinear2d(x, {4, 6}); });
  check_golden_case("upsample_c", [](const Tensor& x) { return upsample_bilinear2d(x, {8, 8}); });
  check_golden_case("upsample_d", [](const Tensor& x) { return upsample_bilinear2d(x, {7, 2}); });
  auto r = gradcheck(
      [](const std::vector<Tensor>& in) {
        return upsample_bilinear2d(in[0], {5, 7});
      },
      {leaf(randn({1, 2, 3, 4}))});
  CHECK_MESSAGE(r.ok, r.report);
}

// At FCN sizes (their speed is bench/opbench's business): every gradient element written, with the values
// the adjoint of each op gives for an all-ones upstream gradient.
TEST_CASE("FCN-sized tensors: forward and backward give the adjoints' values") {
  Generator gen(1);
  Tensor w = leaf(ones({64})), b = leaf(zeros({64}));
  Tensor rm = zeros({64}), rv = ones({64});
  Tensor gy_pool = ones({32, 64, 8, 8}), gy_full = ones({32, 64, 16, 16}), gy_up = ones({32, 64, 32, 32});
  auto grad_of = [&](const std::function<Tensor(const Tensor&)>& f, const Tensor& gy) {
    Tensor x = leaf(randn({32, 64, 16, 16}, gen));
    f(x).backward(gy);
    return x.grad().to_vector<double>();
  };
  auto count = [](const std::vector<double>& v, double value) {
    return std::count_if(v.begin(), v.end(), [&](double e) { return e == value; });
  };
  const int64_t n = 32 * 64 * 16 * 16;
  // Max pooling routes each window's gradient to one element: a quarter are 1, the rest 0.
  auto g_max = grad_of([](const Tensor& x) { return max_pool2d(x, {2, 2}); }, gy_pool);
  CHECK(count(g_max, 1.0) == n / 4);
  CHECK(count(g_max, 0.0) == n - n / 4);
  // Average pooling spreads it evenly.
  CHECK(count(grad_of([](const Tensor& x) { return avg_pool2d(x, {2, 2}); }, gy_pool), 0.25) == n);
  // Batch norm in training: a constant upstream gradient is removed by the mean subtraction.
  auto g_bn = grad_of([&](const Tensor& x) { return batch_norm(x, rm, rv, w, b, true); }, gy_full);
  CHECK(std::all_of(g_bn.begin(), g_bn.end(), [](double e) { return std::abs(e) < 1e-4; }));
  // Bilinear x2: each output's weights sum to 1, so the gradient of each plane sums to its 32 x 32 outputs.
  auto g_up = grad_of([](const Tensor& x) { return upsample_bilinear2d(x, {32, 32}); }, gy_up);
  for (int64_t plane : {int64_t(0), int64_t(32 * 64 - 1)}) {
    double s = 0;
    for (int64_t i = 0; i < 256; ++i) s += g_up[plane * 256 + i];
    CHECK(s == doctest::Approx(1024.0).epsilon(1e-6));
  }
  // Dropout p = 0.5: the gradient is the mask scaled by 2, about half of each.
  auto g_drop = grad_of([&](const Tensor& x) { return dropout(x, 0.5f, true, gen); }, gy_full);
  const auto kept = count(g_drop, 2.0), dropped = count(g_drop, 0.0);
  CHECK(kept + dropped == n);
  CHECK(std::abs(double(kept) / n - 0.5) < 0.01);
}
