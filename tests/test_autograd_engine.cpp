// The reverse-pass engine on hand-written ops: ordering, accumulation, release, deep chains.
#include <doctest/doctest.h>

#include <cmath>
#include <functional>

#include "autograd/grad_mode.h"
#include "autograd/gradcheck.h"
#include "autograd/node.h"
#include "autograd/ops.h"
#include "core/factory.h"
#include "core/random.h"

using namespace convgrad;

namespace {
// y = k * x, written directly against make_result so the engine is tested on its own.
Tensor scale(const Tensor& x, float k) {
  Tensor y = clone_data(x);
  for (int64_t i = 0; i < y.numel(); ++i) y.data<float>()[i] *= k;
  return make_result(y, {x}, "scale", [k](const Tensor& g) { return std::vector<Tensor>{scale(g, k)}; });
}
// y = a + b for equal shapes.
Tensor plus(const Tensor& a, const Tensor& b) {
  Tensor y = clone_data(a);
  for (int64_t i = 0; i < y.numel(); ++i) y.data<float>()[i] += b.to_vector()[i];
  return make_result(y, {a, b}, "plus", [](const Tensor& g) { return std::vector<Tensor>{g, g}; });
}
}  // namespace

TEST_CASE("gradients accumulate over fan-out and across backward calls") {
  Tensor x = full({3}, 1.0);
  x.set_requires_grad();
  Tensor y = plus(scale(x, 2.f), scale(x, 3.f));  // dy/dx = 5
  y.backward(ones({3}));
  CHECK(x.grad().to_vector() == std::vector<float>{5, 5, 5});
  Tensor z = scale(x, 4.f);
  z.backward(ones({3}));
  CHECK(x.grad().to_vector() == std::vector<float>{9, 9, 9});
}

TEST_CASE("a diamond runs each node once, after all its consumers") {
  Tensor x = full({1}, 1.0);
  x.set_requires_grad();
  Tensor h = scale(x, 2.f);
  Tensor y = plus(scale(h, 3.f), scale(h, 5.f));  // dy/dx = 2 * (3 + 5)
  y.backward();
  CHECK(x.grad().item() == 16.f);
}

TEST_CASE("backward frees the graph unless retain_graph") {
  Tensor x = full({1}, 1.0);
  x.set_requires_grad();
  Tensor y = scale(scale(x, 2.f), 3.f);
  y.backward(Tensor(), true);
  y.backward();
  CHECK(x.grad().item() == 12.f);
  CHECK_THROWS_WITH_AS(y.backward(), doctest::Contains("retain_graph"), Error);
}

TEST_CASE("no-grad mode records nothing and detach cuts history") {
  Tensor x = full({2}, 1.0);
  x.set_requires_grad();
  {
    NoGradGuard guard;
    Tensor y = scale(x, 2.f);
    CHECK(y.is_leaf());
    CHECK_FALSE(y.requires_grad());
  }
  Tensor y = scale(x, 2.f);
  CHECK_FALSE(y.is_leaf());
  CHECK_FALSE(y.detach().requires_grad());
  CHECK_THROWS_WITH_AS(y.backward(), doctest::Contains("scalar"), Error);
  CHECK_THROWS_WITH_AS(zeros({1}).backward(), doctest::Contains("does not require grad"), Error);
}

TEST_CASE("a 100,000-op chain runs backward and is destroyed without recursion") {
  int64_t before = Node::live_count();
  {
    Tensor x = full({1}, 1.0);
    x.set_requires_grad();
    Tensor y = x;
    for (int i = 0; i < 100000; ++i) y = scale(y, 1.f);
    CHECK(Node::live_count() - before == 100000);
    y.backward();
    CHECK(x.grad().item() == 1.f);
  }
  {
    // Dropped without backward: the destructor must walk it iteratively too.
    Tensor x = full({1}, 1.0);
    x.set_requires_grad();
    Tensor y = x;
    for (int i = 0; i < 100000; ++i) y = scale(y, 1.f);
  }
  CHECK(Node::live_count() == before);
}

TEST_CASE("a finished graph releases its intermediate tensors") {
  int64_t before = Storage::live_count();
  Tensor x = full({1000}, 1.0);
  x.set_requires_grad();
  Tensor y = scale(scale(scale(x, 2.f), 2.f), 2.f);
  CHECK(Storage::live_count() - before == 4);  // x and three results
  y.backward(ones({1000}));
  // Left alive: x, its gradient and y; the two intermediates were freed by the release.
  CHECK(Storage::live_count() - before == 3);
}

TEST_CASE("gradcheck accepts a correct backward and reports a wrong one") {
  Tensor x = from_vector(std::vector<float>{0.5f, -1.f, 2.f}, {3});
  x.set_requires_grad();
  auto good = gradcheck([](const std::vector<Tensor>& in) { return scale(in[0], 3.f); }, {x});
  CHECK_MESSAGE(good.ok, good.report);
  auto wrong_scale = [](const Tensor& t) {
    Tensor y = clone_data(t);
    for (int64_t i = 0; i < y.numel(); ++i) y.data<float>()[i] *= 3.f;
    // Backward claims 2 instead of 3.
    return make_result(y, {t}, "bad", [](const Tensor& g) { return std::vector<Tensor>{scale(g, 2.f)}; });
  };
  auto bad = gradcheck([&](const std::vector<Tensor>& in) { return wrong_scale(in[0]); }, {x});
  CHECK_FALSE(bad.ok);
  CHECK(bad.report.find("FAILED") != std::string::npos);
  CHECK(bad.report.find("input 0") != std::string::npos);
  // A NaN gradient (what an unwritten, poisoned buffer holds) fails too; so does a NaN output.
  auto nan_grad = [](const Tensor& t) {
    return make_result(scale(t.detach(), 3.f), {t}, "nan_grad",
                       [](const Tensor& g) { return std::vector<Tensor>{scale(g, NAN)}; });
  };
  auto nan = gradcheck([&](const std::vector<Tensor>& in) { return nan_grad(in[0]); }, {x});
  CHECK_FALSE(nan.ok);
  CHECK_MESSAGE(nan.report.find("analytic nan") != std::string::npos, nan.report);
  auto nan_out = gradcheck([](const std::vector<Tensor>& in) { return scale(in[0], NAN); }, {x});
  CHECK_FALSE(nan_out.ok);
}

TEST_CASE("a producer whose consumers return no gradient is skipped without stalling the pass") {
  Tensor x = full({1}, 2.0);
  x.set_requires_grad();
  Tensor h = scale(x, 3.f);
  // "stop" passes no gradient to h; "plus" with x directly still reaches x.
  Tensor stopped =
      make_result(clone_data(h), {h}, "stop", [](const Tensor&) { return std::vector<Tensor>{Tensor()}; });
  Tensor y = plus(stopped, x);
  y.backward();
  CHECK(x.grad().item() == 1.f);
}

// docs/adding-a-layer.md justifies gradcheck's defaults (eps 1e-3, atol 1e-3, rtol 1e-2) with this
// measurement: on correct backward passes of float32 ops of the sizes gradchecks use, |analytic - numeric|
// is float32 rounding of the function values divided by 2 eps, plus the O(eps^2) truncation of the central
// difference. Each probe must pass within its bound (about twice what it needs; the oneDNN convolution,
// which sums in float32, needs most of the defaults), and a 2% error in a gradient must still fail.
TEST_CASE("gradcheck's default tolerances sit above the float32 noise of its central differences") {
  Generator gen(4);
  auto in = [&](const Shape& s) { return uniform(s, -1.f, 1.f, gen).set_requires_grad(); };
  struct Probe {
    const char* name;
    std::function<Tensor(const std::vector<Tensor>&)> fn;
    std::vector<Tensor> inputs;
    double needed;  // the largest fraction of the default tolerances the probe may need
  };
  std::vector<Probe> probes = {
      {"conv2d 3x3, 4 -> 6 channels, 7x7",
       [](const std::vector<Tensor>& t) { return conv2d(t[0], t[1], t[2], Conv2dFuncOptions().padding(1)); },
       {in({2, 4, 7, 7}), in({6, 4, 3, 3}), in({6})},
       1.0},
      {"conv_transpose2d k4 s2",
       [](const std::vector<Tensor>& t) {
         return conv_transpose2d(t[0], t[1], Tensor(), ConvTranspose2dFuncOptions().stride(2).padding(1));
       },
       {in({1, 3, 4, 4}), in({3, 2, 4, 4})},
       0.2},
      {"matmul 8x16 by 16x8",
       [](const std::vector<Tensor>& t) { return matmul(t[0], t[1]); },
       {in({8, 16}), in({16, 8})},
       0.4},
      {"batch_norm (training)",
       [](const std::vector<Tensor>& t) { return batch_norm(t[0], Tensor(), Tensor(), t[1], t[2], true); },
       {in({4, 3, 3, 3}), in({3}), in({3})},
       0.4},
      {"log_softmax over 10 classes",
       [](const std::vector<Tensor>& t) { return log_softmax(t[0], 1); },
       {in({6, 10})},
       0.3},
  };
  // The fraction of the default tolerances each probe needs: the smallest of these at which it passes.
  const GradcheckOptions defaults;
  for (Probe& p : probes) {
    GradcheckOptions abs_only;  // rtol 0, no limit: max_error is max |analytic - numeric|
    abs_only.rtol = 0;
    abs_only.atol = INFINITY;
    double needed = INFINITY;
    for (double f : {1.0, 0.8, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1, 0.05, 0.02}) {
      GradcheckOptions o;
      o.atol = defaults.atol * f;
      o.rtol = defaults.rtol * f;
      if (!gradcheck(p.fn, p.inputs, o).ok) break;
      needed = f;
    }
    MESSAGE(std::string(p.name) << ": max |analytic - numeric| "
                                << gradcheck(p.fn, p.inputs, abs_only).max_error << "; passes at " << needed
                                << " x the default tolerances");
    CHECK(needed <= p.needed);
  }
  // A backward 2% off on a gradient of order 1 exceeds atol + rtol * |numeric|.
  Tensor x = in({16});
  auto off = [](const Tensor& t) {
    return make_result(scale(t.detach(), 3.f), {t}, "off",
                       [](const Tensor& g) { return std::vector<Tensor>{scale(g, 3.f * 1.02f)}; });
  };
  CHECK_FALSE(gradcheck([&](const std::vector<Tensor>& t) { return off(t[0]); }, {x}).ok);
}
