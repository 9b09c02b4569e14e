// gradgradcheck on every loss, over every reduction: cross_entropy (class weights, ignore_index),
// mse_loss, l1_loss, smooth_l1_loss and binary_cross_entropy_with_logits (pos_weight).
#include <doctest/doctest.h>

#include <cmath>
#include <functional>

#include "autograd/gradcheck.h"
#include "autograd/node.h"
#include "autograd/ops.h"
#include "core/factory.h"
#include "core/random.h"
#include "layers/loss.h"
#include "test_util.h"

using namespace convgrad;

namespace {

Tensor leaf(const Shape& s, Generator& gen, float lo = -1.f, float hi = 1.f) {
  return convgrad::testing::leaf(uniform(s, lo, hi, gen));
}

using Fn = std::function<Tensor(const std::vector<Tensor>&)>;

void expect_gradgrad(const std::string& what, const Fn& fn, const std::vector<Tensor>& inputs) {
  INFO(what);
  GradcheckResult r = gradgradcheck(fn, inputs);
  INFO(r.report);
  CHECK(r.ok);
}

}  // namespace

TEST_CASE("gradgradcheck: cross_entropy and mse_loss") {
  Generator gen(12);
  Tensor logits = leaf({3, 4, 2, 2}, gen), target = zeros({3, 2, 2}, DType::Int64);
  int64_t* t = target.data<int64_t>();
  for (int64_t i = 0; i < target.numel(); ++i) t[i] = (i * 7) % 5 == 4 ? -100 : (i * 7) % 4;  // some ignored
  Tensor class_weight = uniform({4}, 0.5f, 2.f, gen);
  for (Reduction r : {Reduction::Mean, Reduction::Sum, Reduction::None}) {
    INFO(reduction_name(r));
    auto opts = CrossEntropyOptions().reduction(r).weight(class_weight);
    expect_gradgrad("cross_entropy (weighted, ignore_index)",
                    [&](auto& v) { return cross_entropy(v[0], target, opts); }, {logits});
  }
  // The fast path (a reduced loss with grad mode on) and the general path agree under create_graph too.
  Tensor logits2 = leaf({5, 3}, gen), target2 = zeros({5}, DType::Int64);
  for (int64_t i = 0; i < 5; ++i) target2.data<int64_t>()[i] = i % 3;
  expect_gradgrad("cross_entropy 2-D", [&](auto& v) { return cross_entropy(v[0], target2); }, {logits2});
  Tensor a = leaf({2, 3}, gen), b = leaf({2, 3}, gen);
  for (Reduction r : {Reduction::Mean, Reduction::Sum, Reduction::None})
    expect_gradgrad("mse_loss", [r](auto& v) { return mse_loss(v[0] * v[0], v[1], r); }, {a, b});
}

TEST_CASE("gradgradcheck: l1_loss, smooth_l1_loss and binary_cross_entropy_with_logits") {
  Generator gen(13);
  // The differences a^2 - b sit 0.1 or more from the kinks of l1 (0) and smooth_l1 (+-beta = 0.5), two
  // inside beta and four outside; the squares make the second derivative depend on the input.
  Tensor a = leaf({2, 3}, gen), b = leaf({2, 3}, gen);
  const float offsets[6] = {0.2f, -0.3f, 0.9f, -1.2f, 0.7f, -0.65f};
  float *pa = a.data<float>(), *pb = b.data<float>();
  for (int64_t i = 0; i < 6; ++i) pb[i] = pa[i] * pa[i] - offsets[i];
  Tensor logits = leaf({2, 3}, gen), probs = uniform({2, 3}, 0.1f, 0.9f, gen);
  probs.set_requires_grad();
  Tensor pos_weight = uniform({3}, 0.5f, 2.f, gen);
  for (Reduction r : {Reduction::Mean, Reduction::Sum, Reduction::None}) {
    INFO(reduction_name(r));
    expect_gradgrad("l1_loss", [r](auto& v) { return l1_loss(v[0] * v[0], v[1], r); }, {a, b});
    expect_gradgrad("smooth_l1_loss", [r](auto& v) { return smooth_l1_loss(v[0] * v[0], v[1], r, 0.5); },
                    {a, b});
    expect_gradgrad("binary_cross_entropy_with_logits",
                    [&, r](auto& v) { return binary_cross_entropy_with_logits(v[0], v[1], r, pos_weight); },
                    {logits, probs});
  }
  // At x = 0 the target's second derivative uses the true slope of log(1 + e^-x) there, -1/2.
  Tensor x0 = zeros({1}), t0 = full({1}, 0.25);
  x0.set_requires_grad();
  t0.set_requires_grad();
  Tensor gt = grad({binary_cross_entropy_with_logits(x0, t0, Reduction::Sum, full({1}, 2.0))}, {t0}, {},
                   std::nullopt, true)[0];
  Tensor h = grad({sum(gt)}, {x0})[0];
  CHECK(h.item<float>() == doctest::Approx(-1.5f).epsilon(1e-6));  // d/dx ((p-1) softplus(-x) - x), p = 2
}
