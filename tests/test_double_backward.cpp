// Higher-order gradients: grad() and backward(create_graph), gradgradcheck on the ops with a double
// backward, the conv weight-gradient ops on every backend, the refusal of ops without one, and leaks.
#include <doctest/doctest.h>

#include <cmath>

#include "autograd/gradcheck.h"
#include "autograd/node.h"
#include "autograd/ops.h"
#include "core/backend.h"
#include "core/factory.h"
#include "core/random.h"
#include "test_util.h"

using namespace convgrad;

namespace {

Tensor leaf(const Shape& s, Generator& gen, float lo = -1.f, float hi = 1.f) {
  return convgrad::testing::leaf(uniform(s, lo, hi, gen));
}

using Fn = std::function<Tensor(const std::vector<Tensor>&)>;

void expect_gradgrad(const std::string& what, const Fn& fn, const std::vector<Tensor>& inputs,
                     GradcheckOptions o = {}) {
  INFO(what);
  GradcheckResult r = gradgradcheck(fn, inputs, o);
  INFO(r.report);
  CHECK(r.ok);
}

// Bilinear functions are exact under central differences at any step: a large one keeps float32
// rounding out of the numeric side.
GradcheckOptions bilinear() {
  GradcheckOptions o;
  o.eps = 0.5;
  o.atol = 2e-3;
  o.rtol = 1e-3;
  return o;
}

bool close(double a, double b, double tol = 1e-4) { return std::abs(a - b) <= tol * (1 + std::abs(b)); }

}  // namespace

TEST_CASE("grad returns first and second derivatives without touching grad()") {
  Tensor x = full({3}, 0.f);
  x.data<float>()[0] = 1.f, x.data<float>()[1] = -2.f, x.data<float>()[2] = 0.5f;
  x.set_requires_grad();
  Tensor y = sum(pow(x, 3.f));
  std::vector<Tensor> g = grad({y}, {x}, {}, std::nullopt, /*create_graph=*/true);
  REQUIRE(g.size() == 1);
  CHECK(g[0].requires_grad());
  CHECK_FALSE(x.grad().defined());
  std::vector<Tensor> h = grad({sum(g[0])}, {x});  // d/dx sum(3 x^2) = 6 x
  std::vector<float> gv = g[0].to_vector(), hv = h[0].to_vector(), xv = x.to_vector();
  for (size_t i = 0; i < 3; ++i) {
    CHECK(close(gv[i], 3.0 * xv[i] * xv[i]));
    CHECK(close(hv[i], 6.0 * xv[i]));
  }
  CHECK_FALSE(h[0].requires_grad());
  CHECK_FALSE(x.grad().defined());
}

TEST_CASE("grad: non-leaf inputs, several outputs, grad_outputs, unused inputs") {
  Generator gen(1);
  Tensor a = leaf({2, 3}, gen), b = leaf({2, 3}, gen), unused = leaf({2}, gen);
  Tensor m = a * b;  // a non-leaf input
  Tensor y1 = m * 2.f, y2 = sum(m + a);
  Tensor w = uniform({2, 3}, -1.f, 1.f, gen);
  std::vector<Tensor> g = grad({y1, y2}, {m, a}, {w, Tensor()});
  std::vector<float> gm = g[0].to_vector(), ga = g[1].to_vector(), wv = w.to_vector(), bv = b.to_vector();
  for (size_t i = 0; i < gm.size(); ++i) {
    CHECK(close(gm[i], 2.0 * wv[i] + 1.0));
    CHECK(close(ga[i], (2.0 * wv[i] + 1.0) * bv[i] + 1.0));
  }
  Tensor z = sum(a * b);
  CHECK_THROWS_WITH_AS(grad({z}, {a, unused}, {}, true), doctest::Contains("allow_unused"), Error);
  std::vector<Tensor> r = grad({z}, {a, unused}, {}, false, false, /*allow_unused=*/true);
  CHECK(r[0].defined());
  CHECK_FALSE(r[1].defined());
  Tensor plain = zeros({2});
  CHECK_THROWS_WITH_AS(grad({sum(a)}, {plain}), doctest::Contains("does not require grad"), Error);
}

TEST_CASE("backward(create_graph) accumulates gradients with history") {
  Generator gen(2);
  Tensor x = leaf({4}, gen);
  Tensor y = sum(x * x * x);
  y.backward(Tensor(), std::nullopt, /*create_graph=*/true);
  Tensor gx = x.grad();
  REQUIRE(gx.defined());
  CHECK(gx.requires_grad());
  std::vector<Tensor> h = grad({sum(gx)}, {x});
  std::vector<float> hv = h[0].to_vector(), xv = x.to_vector();
  for (size_t i = 0; i < xv.size(); ++i) CHECK(close(hv[i], 6.0 * xv[i]));
  x.set_grad(Tensor());  // breaks the leaf -> grad -> graph -> leaf cycle
}

TEST_CASE("create_graph through an op without a double backward is an error") {
  Generator gen(3);
  Tensor x = leaf({2, 3, 4}, gen);
  // A user's op whose closure computes with plain values: make_result's default marks it Unsupported.
  auto twice = [](const Tensor& t) {
    return make_result(t.detach() * 2.f, {t}, "my_twice",
                       [](const Tensor& g) { return std::vector<Tensor>{g * 2.f}; });
  };
  Tensor y = sum(twice(x * x));
  CHECK_THROWS_WITH_AS(grad({y}, {x}, {}, std::nullopt, true), doctest::Contains("my_twice"), Error);
  // Without create_graph the same graph differentiates as before: d/dx sum(2 x^2) = 4 x.
  Tensor y2 = sum(twice(x * x));
  Tensor gx = grad({y2}, {x})[0];
  CHECK(gx.to_vector()[5] == doctest::Approx(4 * x.to_vector()[5]));
}

TEST_CASE("gradients with history free their graphs") {
  const int64_t before = Node::live_count();
  {
    Generator gen(4);
    Tensor x = leaf({1, 2, 5, 5}, gen), w = leaf({3, 2, 3, 3}, gen);
    Tensor y = sum(tanh(conv2d(x, w)));
    std::vector<Tensor> g = grad({y}, {x, w}, {}, std::nullopt, true);
    Tensor penalty = sum(g[0] * g[0]) + sum(g[1] * g[1]);
    penalty.backward();
    CHECK(w.grad().defined());
    // backward(create_graph) into a leaf: reset grad() once used to release the graph it references.
    Tensor z = sum(x * x);
    z.backward(Tensor(), std::nullopt, true);
    x.set_grad(Tensor());
  }
  CHECK(Node::live_count() == before);
}

TEST_CASE("gradgradcheck: elementwise, unary, reductions, shapes, matmul, softmax") {
  Generator gen(5);
  Tensor a = leaf({2, 3}, gen), b = leaf({2, 3}, gen, 0.5f, 1.5f), c = leaf({3}, gen);
  Tensor pos = leaf({2, 3}, gen, 0.5f, 2.f);
  expect_gradgrad("add/sub broadcast", [](auto& t) { return (t[0] + t[2]) * (t[0] - t[2]); }, {a, b, c});
  expect_gradgrad("mul", [](auto& t) { return t[0] * t[1] * t[0]; }, {a, b});
  expect_gradgrad("div", [](auto& t) { return t[0] / t[1]; }, {a, b});
  expect_gradgrad("neg, clone", [](auto& t) { return clone(-t[0]) * t[0]; }, {a});
  expect_gradgrad("exp, log, sqrt", [](auto& t) { return exp(t[0]) + log(t[1]) * sqrt(t[1]); }, {a, pos});
  expect_gradgrad("pow", [](auto& t) { return pow(t[0], 3.f); }, {pos});
  expect_gradgrad("sigmoid, tanh", [](auto& t) { return sigmoid(t[0]) * tanh(t[0]); }, {a});
  expect_gradgrad("relu, leaky_relu, abs (times x)",
                  [](auto& t) { return (relu(t[0]) + leaky_relu(t[0], 0.2f) + abs(t[0])) * t[0]; }, {a});
  expect_gradgrad("clamp (times x)", [](auto& t) { return clamp(t[0], -0.5f, 0.5f) * t[0]; }, {a});
  expect_gradgrad("maximum, minimum", [](auto& t) { return maximum(t[0], t[1]) * minimum(t[0], t[1]); },
                  {a, b});
  expect_gradgrad("where", [](auto& t) { return where(gt(t[0], zeros({})), t[0] * t[0], t[1] * t[0]); },
                  {a, b});
  expect_gradgrad("sum, mean",
                  [](auto& t) { return sum(t[0] * t[0], {1}, true) * mean(t[0] * t[0], {0}, true); }, {a});
  expect_gradgrad("reshape, transpose, permute",
                  [](auto& t) {
                    return transpose(reshape(t[0], {3, 2}), 0, 1) * permute(t[0], {0, 1}) * t[0];
                  },
                  {a});
  expect_gradgrad("unsqueeze, squeeze, expand, flatten",
                  [](auto& t) {
                    return flatten(squeeze(unsqueeze(t[0], 0), 0)) * flatten(expand(t[1], {2, 3}));
                  },
                  {a, c});
  Tensor m = leaf({3, 4}, gen), v = leaf({4}, gen);
  expect_gradgrad("matmul", [](auto& t) { return matmul(t[0], t[1]) * matmul(t[0], t[1]); }, {a, m});
  expect_gradgrad("matmul, vector", [](auto& t) { return matmul(t[0], t[1]); }, {m, v});
  expect_gradgrad("softmax", [](auto& t) { return softmax(t[0], 1); }, {a});
  expect_gradgrad("log_softmax", [](auto& t) { return log_softmax(t[0], 0); }, {a});
  expect_gradgrad("sum_to", [](auto& t) { return sum_to(t[0] * t[0], {3}); }, {a});
  // The winners are distinct by far more than the finite-difference step, so the argmax is stable.
  Tensor spread = convgrad::testing::floats({0.1f, -0.7f, 0.9f, 0.4f, 0.8f, -0.3f}, {2, 3});
  spread.set_requires_grad();
  expect_gradgrad("max, min along a dim (times x)",
                  [](auto& t) { return max(t[0], 1, true) * t[0] + min(t[0], 0) * t[0]; }, {spread});
  expect_gradgrad("max, min of all (times x)", [](auto& t) { return (max(t[0]) - min(t[0])) * t[0]; },
                  {spread});
}

TEST_CASE("gradgradcheck: prelu with one slope and one slope per channel") {
  Generator gen(8);
  // Inputs kept away from 0 (the kink) by more than the finite-difference step.
  Tensor x = convgrad::testing::floats({0.6f, -0.4f, 0.3f, -0.9f, 0.5f, -0.2f, 0.7f, -0.6f}, {1, 2, 2, 2});
  x.set_requires_grad();
  Tensor one = leaf({1}, gen, 0.1f, 0.4f), per = leaf({2}, gen, 0.1f, 0.4f);
  expect_gradgrad("prelu, one slope (times x)", [](auto& t) { return prelu(t[0], t[1]) * t[0]; }, {x, one});
  expect_gradgrad("prelu, per channel (times x)", [](auto& t) { return prelu(t[0], t[1]) * t[0] * t[1]; },
                  {x, per});
  Tensor flat = convgrad::testing::floats({0.6f, -0.4f, 0.3f}, {3});
  flat.set_requires_grad();
  expect_gradgrad("prelu, 1-D input", [](auto& t) { return prelu(t[0], t[1]) * t[0]; }, {flat, one});
}

TEST_CASE("gradgradcheck: dropout keeps its mask at every order") {
  Generator gen(6);
  Tensor x = leaf({4, 5}, gen);
  Generator drop(7);
  expect_gradgrad("dropout",
                  [&](auto& t) {
                    Generator g = drop;
                    return dropout(t[0] * t[0], 0.4f, true, g);
                  },
                  {x});
}

TEST_CASE("gradgradcheck: linear layout ops (pooling, resampling, padding, shuffles) and batch_norm") {
  Generator gen(10);
  Tensor x = leaf({2, 4, 5, 6}, gen);
  // Linear ops times x: the product makes the second derivative non-zero in x.
  auto times_x = [](auto op) { return [op](auto& t) { return op(t[0] * t[0]); }; };
  expect_gradgrad(
      "avg_pool2d (options)",
      times_x([](const Tensor& v) { return avg_pool2d(v, AvgPool2dOptions(3).stride(2).padding(1)); }), {x});
  expect_gradgrad("avg_pool2d (pairs)", times_x([](const Tensor& v) {
                    return avg_pool2d(v, Pair{2, 2});
                  }),
                  {x});
  expect_gradgrad("upsample_bilinear2d", times_x([](const Tensor& v) {
                    return upsample_bilinear2d(v, Pair{7, 9});
                  }),
                  {x});
  expect_gradgrad(
      "interpolate bicubic", times_x([](const Tensor& v) {
        return interpolate(v, InterpolateOptions().size(Pair{8, 4}).mode(InterpolateMode::Bicubic));
      }),
      {x});
  expect_gradgrad("pad reflect", times_x([](const Tensor& v) {
                    return pad(v, {2, 1, 1, 2}, PadMode::Reflect);
                  }),
                  {x});
  expect_gradgrad("pad constant (and crop)", times_x([](const Tensor& v) {
                    return pad(v, {1, -2, 0, 1}, 3.f);
                  }),
                  {x});
  // Max pooling: distinct values 1/240 apart, so a step of eps never changes a window's winner.
  Tensor distinct = zeros({2, 4, 5, 6});
  for (int64_t i = 0; i < 240; ++i)
    distinct.data<float>()[i] = static_cast<float>((i * 97) % 240) / 240.f - 0.5f;
  distinct.set_requires_grad();
  expect_gradgrad("max_pool2d (options)",
                  [](auto& t) {
                    Tensor m = max_pool2d(t[0], MaxPool2dOptions(3).stride(2).padding(1));
                    return m * m;
                  },
                  {distinct});
  expect_gradgrad("max_pool2d (pairs)",
                  [](auto& t) {
                    Tensor m = max_pool2d(t[0], Pair{2, 3});
                    return m * m;
                  },
                  {distinct});
  expect_gradgrad("slice, select",
                  times_x([](const Tensor& v) { return slice(select(v, 1, 2), 2, 1, 6, 2); }), {x});
  expect_gradgrad("concat, stack", times_x([](const Tensor& v) {
                    return stack({concat({v, v * 2.f}, 1), concat({v * v, v}, 1)}, 0);
                  }),
                  {x});
  expect_gradgrad("logsumexp", [](auto& t) { return logsumexp(t[0] * t[0], 1, false); }, {x});
  expect_gradgrad("pixel_shuffle, pixel_unshuffle",
                  times_x([](const Tensor& v) { return pixel_unshuffle(pixel_shuffle(v, 2), 1) * 2.f; }),
                  {x});
  Tensor w = leaf({4}, gen), b = leaf({4}, gen);
  Tensor rm = zeros({4}), rv = ones({4});
  GradcheckOptions o;
  o.eps = 1e-2;  // float32 normalisation: a larger step keeps rounding below the tolerance
  o.atol = 5e-3;
  expect_gradgrad(
      "batch_norm training", [&](auto& t) { return batch_norm(t[0], rm, rv, t[1], t[2], true, 0.1f, 1e-5f); },
      {x, w, b}, o);
  Tensor rv2 = uniform({4}, 0.5f, 2.f, gen);
  expect_gradgrad(
      "batch_norm eval (times x)",
      [&](auto& t) { return batch_norm(t[0], rm, rv2, t[1], t[2], false, 0.1f, 1e-5f) * t[0]; }, {x, w, b},
      o);
}

TEST_CASE("grad w.r.t. a non-leaf leaves the graph below it usable") {
  Generator gen(11);
  Tensor x = leaf({3}, gen);
  Tensor h = exp(x);
  Tensor gh = grad({sum(h * h)}, {h})[0];  // retain_graph false: only the nodes above h are freed
  CHECK(allclose(gh, 2.f * h.detach(), 1e-6, 1e-6));
  sum(h).backward();
  CHECK(allclose(x.grad(), exp(x.detach()), 1e-6, 1e-6));
}

TEST_CASE("gradgradcheck: conv2d, conv_transpose2d and the weight-gradient ops on every backend") {
  convgrad::testing::on_every_backend([] {
    Generator gen(8);
    struct Case {
      const char* name;
      Shape x, w;
      Conv2dFuncOptions o;
    };
    for (const Case& c : std::vector<Case>{
             {"plain", {1, 2, 5, 5}, {3, 2, 3, 3}, Conv2dFuncOptions()},
             {"stride 2, padding 1, groups 2",
              {2, 4, 6, 5},
              {4, 2, 3, 2},
              Conv2dFuncOptions().stride(2).padding(1).groups(2)},
             {"dilation 2, unbatched",
              {2, 7, 6},
              {2, 2, 2, 3},
              Conv2dFuncOptions().dilation(2).padding(Pair{1, 0})},
             {"same", {1, 2, 5, 4}, {2, 2, 4, 3}, Conv2dFuncOptions().padding(PaddingMode::Same)}}) {
      INFO("conv2d " << std::string(c.name));
      Tensor x = leaf(c.x, gen), w = leaf(c.w, gen), b = leaf({c.w[0]}, gen);
      auto o = c.o;
      expect_gradgrad(
          "conv2d", [o](auto& t) { return conv2d(t[0], t[1], t[2], o); }, {x, w, b}, bilinear());
      Tensor y = conv2d(x, w, b, o).detach();
      Tensor gy = leaf(y.shape(), gen);
      expect_gradgrad(
          "conv2d_weight_grad",
          [o, ws = w.shape()](auto& t) { return conv2d_weight_grad(t[0], ws, t[1], o); }, {x, gy},
          bilinear());
      // A non-linear function around the conv: its second derivative mixes x, w and the chain rule.
      expect_gradgrad("tanh(conv2d)", [o](auto& t) { return tanh(conv2d(t[0], t[1], Tensor(), o)); }, {x, w});
    }
    struct TCase {
      const char* name;
      Shape x, w;
      ConvTranspose2dFuncOptions o;
    };
    for (const TCase& c : std::vector<TCase>{
             {"plain", {1, 2, 4, 4}, {2, 3, 3, 3}, ConvTranspose2dFuncOptions()},
             {"stride 2, output_padding 1, groups 2",
              {2, 4, 3, 4},
              {4, 2, 3, 3},
              ConvTranspose2dFuncOptions().stride(2).output_padding(1).groups(2).padding(1)},
             {"dilation 2, stride (2,1), unbatched",
              {2, 3, 3},
              {2, 2, 2, 3},
              ConvTranspose2dFuncOptions().dilation(2).stride(Pair{2, 1}).output_padding(Pair{1, 0})}}) {
      INFO("conv_transpose2d " << std::string(c.name));
      Tensor x = leaf(c.x, gen), w = leaf(c.w, gen), b = leaf({c.w[1] * c.o.groups()}, gen);
      auto o = c.o;
      expect_gradgrad(
          "conv_transpose2d", [o](auto& t) { return conv_transpose2d(t[0], t[1], t[2], o); }, {x, w, b},
          bilinear());
      Tensor y = conv_transpose2d(x, w, b, o).detach();
      Tensor gy = leaf(y.shape(), gen);
      expect_gradgrad(
          "conv_transpose2d_weight_grad",
          [o, ws = w.shape()](auto& t) { return conv_transpose2d_weight_grad(t[0], ws, t[1], o); }, {x, gy},
          bilinear());
    }
  });
}

TEST_CASE("conv2d_weight_grad equals the weight gradient of conv2d") {
  Generator gen(9);
  Tensor x = leaf({2, 4, 7, 6}, gen), w = leaf({6, 2, 3, 3}, gen);
  auto o = Conv2dFuncOptions().stride(2).padding(1).groups(2).dilation(Pair{1, 2});
  Tensor y = conv2d(x, w, Tensor(), o);
  Tensor gy = uniform(y.shape(), -1.f, 1.f, gen);
  Tensor gw = grad({y}, {w}, {gy})[0];
  CHECK(allclose(conv2d_weight_grad(x, w.shape(), gy, o), gw, 1e-5, 1e-5));
  CHECK_THROWS_WITH_AS(conv2d_weight_grad(x, w.shape(), zeros({2, 6, 3, 3}), o),
                       doctest::Contains("grad_output"), Error);
}
