// The reverse-pass engine on hand-written ops: ordering, accumulation, release, deep chains.
#include <doctest/doctest.h>

#include "autograd/grad_mode.h"
#include "autograd/gradcheck.h"
#include "autograd/node.h"
#include "core/factory.h"

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
}

TEST_CASE("a producer whose consumers return no gradient is skipped without stalling the pass") {
  Tensor x = full({1}, 2.0);
  x.set_requires_grad();
  Tensor h = scale(x, 3.f);
  // "stop" passes no gradient to h; "plus" with x directly still reaches x.
  Tensor stopped = make_result(clone_data(h), {h}, "stop", [](const Tensor&) { return std::vector<Tensor>{Tensor()}; });
  Tensor y = plus(stopped, x);
  y.backward();
  CHECK(x.grad().item() == 1.f);
}
