// Post-accumulate gradient hooks (autograd/node.h): when backward calls them, what they see, under
// create_graph too, and what grad() and removal leave alone.
#include <doctest/doctest.h>

#include <vector>

#include "autograd/node.h"
#include "autograd/ops.h"
#include "core/factory.h"
#include "test_util.h"

using namespace convgrad;
using convgrad::testing::floats;
using convgrad::testing::leaf;

TEST_CASE("a hook runs after each contribution is accumulated, with the sum so far") {
  Tensor w = leaf(floats({1, 2}, {2}));
  std::vector<float> seen;  // w.grad()[1] at each call
  register_post_accumulate_grad_hook(w, [&](const Tensor& t) {
    CHECK(t.impl() == w.impl());
    seen.push_back(t.grad().data<float>()[1]);
  });
  // w used twice: d/dw sum(3w + w^2) = 3 + 2w, delivered as two contributions (3 and 2w).
  Tensor y = sum(add(mul(w, full({2}, 3.0)), pow(w, 2.0f)));
  y.backward();
  REQUIRE(seen.size() == 2);
  CHECK((seen[0] == 3.0f || seen[0] == 4.0f));  // either contribution may come first
  CHECK(seen[1] == 7.0f);
  CHECK(w.grad().data<float>()[0] == 5.0f);
}

TEST_CASE("grad() runs no hook; a removed hook runs no more") {
  Tensor w = leaf(floats({1, 2}, {2}));
  int calls = 0;
  const int64_t h = register_post_accumulate_grad_hook(w, [&](const Tensor&) { ++calls; });
  grad({sum(pow(w, 2.0f))}, {w});
  CHECK(calls == 0);
  sum(pow(w, 2.0f)).backward();
  CHECK(calls == 1);
  remove_post_accumulate_grad_hook(w, h);
  sum(pow(w, 2.0f)).backward();
  CHECK(calls == 1);
  CHECK(w.grad().data<float>()[1] == 8.0f);  // both backwards accumulated: 2 * (2w)
}

TEST_CASE("under create_graph the hook sees a gradient with history, differentiable again") {
  Tensor w = leaf(floats({1, -2}, {2}));
  Tensor seen;
  bool grad_mode_on = false;
  register_post_accumulate_grad_hook(w, [&](const Tensor& t) {
    seen = t.grad();
    grad_mode_on = GradMode::is_enabled();
  });
  backward(sum(pow(w, 3.0f)), Tensor(), false, /*create_graph=*/true);
  REQUIRE(seen.defined());
  CHECK(grad_mode_on);
  CHECK(seen.requires_grad());
  CHECK(seen.data<float>()[0] == 3.0f);  // 3 w^2
  CHECK(seen.data<float>()[1] == 12.0f);
  // d/dw sum(3 w^2) = 6 w
  Tensor gg = grad({sum(seen)}, {w})[0];
  CHECK(gg.data<float>()[0] == 6.0f);
  CHECK(gg.data<float>()[1] == -12.0f);
}

TEST_CASE("hooks need a leaf that requires grad and a callable") {
  Tensor w = leaf(floats({1}, {1}));
  CHECK_THROWS_WITH_AS(register_post_accumulate_grad_hook(mul(w, w), [](const Tensor&) {}),
                       doctest::Contains("the result of an op"), Error);
  CHECK_THROWS_WITH_AS(register_post_accumulate_grad_hook(floats({1}, {1}), [](const Tensor&) {}),
                       doctest::Contains("a leaf without requires_grad"), Error);
  CHECK_THROWS_WITH_AS(register_post_accumulate_grad_hook(w, {}), doctest::Contains("empty"), Error);
}
