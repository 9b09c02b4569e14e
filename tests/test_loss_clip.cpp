// l1_loss, smooth_l1_loss (and their modules) and clip_grad_norm_ against PyTorch goldens
// (tools/gen_loss_clip_goldens.py -> tests/data/loss/, tests/data/clip/), gradcheck and errors.
#include <doctest/doctest.h>

#include <cmath>
#include <map>
#include <string>

#include "autograd/gradcheck.h"
#include "core/factory.h"
#include "core/npy.h"
#include "core/random.h"
#include "layers/clip_grad.h"
#include "layers/loss.h"

using namespace convgrad;

namespace {

std::map<std::string, Tensor> golden(const std::string& path) {
  return load_npz(std::string(CONVGRAD_TEST_DATA) + "/" + path + ".npz");
}

Tensor floats(const std::vector<float>& values, const Shape& shape) { return from_vector(values, shape); }

Tensor leaf(const Tensor& t) {
  Tensor x = clone_data(t);
  x.set_requires_grad();
  return x;
}

// Shapes equal and every |a - b| <= 1e-5 * max(1, |b|); NaN fails.
void check_close(const Tensor& a, const Tensor& b, const std::string& what) {
  REQUIRE_MESSAGE(a.defined(), what << " is undefined");
  REQUIRE_MESSAGE(a.shape() == b.shape(),
                  what << ": " << shape_str(a.shape()) << " vs " << shape_str(b.shape()));
  std::vector<float> va = a.to_vector(), vb = b.to_vector();
  for (size_t i = 0; i < va.size(); ++i)
    if (!(std::fabs(va[i] - vb[i]) <= 1e-5f * std::max(1.f, std::fabs(vb[i])))) {
      CHECK_MESSAGE(false, what << "[" << i << "]: got " << va[i] << ", expected " << vb[i]);
      return;
    }
}

Reduction parse(const std::string& name) {
  return name == "none" ? Reduction::None : name == "sum" ? Reduction::Sum : Reduction::Mean;
}

void check_loss_golden(const std::string& name,
                       const std::function<Tensor(const Tensor&, const Tensor&)>& fn) {
  INFO("golden case " << name);
  auto gd = golden("loss/" + name);
  Tensor a = leaf(gd["a"]), b = leaf(gd["b"]);
  Tensor y = fn(a, b);
  check_close(y, gd["y"], "loss");
  y.backward(gd["g"]);
  check_close(a.grad(), gd["da"], "d input");
  check_close(b.grad(), gd["db"], "d target");
}

}  // namespace

TEST_CASE("l1_loss and smooth_l1_loss match PyTorch for every reduction and beta, 0 included") {
  for (std::string red : {"mean", "sum", "none"}) {
    const Reduction r = parse(red);
    check_loss_golden("l1_" + red, [r](const Tensor& a, const Tensor& b) { return l1_loss(a, b, r); });
    for (auto [tag, beta] : {std::pair{"1", 1.0}, {"0_5", 0.5}, {"0", 0.0}, {"2_5", 2.5}})
      check_loss_golden(
          std::string("smooth_l1_b") + tag + "_" + red,
          [r, beta = beta](const Tensor& a, const Tensor& b) { return smooth_l1_loss(a, b, r, beta); });
  }
}

TEST_CASE("l1_loss and smooth_l1_loss: hand values, gradcheck, errors") {
  Tensor x = leaf(floats({0, 2, -3, 0.5f}, {4}));
  Tensor t = floats({0, 0, 0, 0}, {4});
  // |d| = 0, 2, 3, 0.5; smooth (beta 1): 0, 1.5, 2.5, 0.125.
  CHECK(l1_loss(x, t, Reduction::Sum).item() == 5.5f);
  CHECK(smooth_l1_loss(x, t, Reduction::None).to_vector() == std::vector<float>{0, 1.5f, 2.5f, 0.125f});
  Tensor y = smooth_l1_loss(x, t, Reduction::Mean);
  CHECK(y.item() == doctest::Approx(4.125 / 4).epsilon(1e-6));
  y.backward();
  CHECK(x.grad().to_vector() == std::vector<float>{0, 0.25f, -0.25f, 0.125f});

  // beta = 0: L1 values, but PyTorch's derivative where input == target is -1 for both arguments.
  Tensor xe = leaf(floats({0.5f, 1}, {2})), te = leaf(floats({0.5f, 0}, {2}));
  Tensor ye = smooth_l1_loss(xe, te, Reduction::Sum, 0.0);
  CHECK(ye.item() == 1.f);
  ye.backward();
  CHECK(xe.grad().to_vector() == std::vector<float>{-1, 1});
  CHECK(te.grad().to_vector() == std::vector<float>{-1, -1});

  Generator gen(4);
  Tensor a = leaf(randn({3, 4}, gen)), b = leaf(randn({3, 4}, gen));
  for (double beta : {0.7, 0.0}) {
    auto r = gradcheck(
        [beta](const std::vector<Tensor>& in) { return smooth_l1_loss(in[0], in[1], Reduction::Mean, beta); },
        {a, b});
    CHECK_MESSAGE(r.ok, r.report);
  }
  auto r =
      gradcheck([](const std::vector<Tensor>& in) { return l1_loss(in[0], in[1], Reduction::None); }, {a, b});
  CHECK_MESSAGE(r.ok, r.report);

  CHECK_THROWS_WITH_AS(l1_loss(zeros({2, 3}), zeros({3})),
                       doctest::Contains("input shape [2, 3] and target shape [3] must match"), Error);
  CHECK_THROWS_WITH_AS(smooth_l1_loss(zeros({2}), zeros({2}), Reduction::Mean, -1.0),
                       doctest::Contains("beta must be a finite number >= 0"), Error);
  CHECK_THROWS_WITH_AS(smooth_l1_loss(zeros({2}), Tensor()), doctest::Contains("target is undefined"), Error);
  // The mean over no elements is 0, as for the other losses.
  CHECK(l1_loss(zeros({0}), zeros({0})).item() == 0.f);
}

TEST_CASE("L1Loss and SmoothL1Loss modules") {
  Tensor x = floats({1, -2, 0.25f}, {3}), t = zeros({3});
  L1Loss l1(L1LossOptions().reduction(Reduction::Sum));
  CHECK(l1(x, t).item() == 3.25f);
  CHECK(l1.extra_repr() == "reduction='sum'");
  SmoothL1Loss huber(SmoothL1LossOptions().beta(0.5));
  CHECK(huber(x, t).item() == doctest::Approx((0.75 + 1.75 + 0.0625) / 3).epsilon(1e-6));
  CHECK(huber.extra_repr() == "reduction='mean', beta=0.5");
  CHECK(SmoothL1Loss(SmoothL1LossOptions().beta(0)).forward(x, t).item() == l1_loss(x, t).item());
}

TEST_CASE("clip_grad_norm_ matches PyTorch for norms 2, 1, inf and 3") {
  for (const char* name : {"clip_l2", "clip_l2_no_clip", "clip_l1", "clip_inf", "clip_l3"}) {
    INFO("golden case " << name);
    auto gd = golden(std::string("clip/") + name);
    const std::map<std::string, std::pair<double, double>> args = {{"clip_l2", {1.0, 2.0}},
                                                                   {"clip_l2_no_clip", {100.0, 2.0}},
                                                                   {"clip_l1", {2.0, 1.0}},
                                                                   {"clip_inf", {0.5, INFINITY}},
                                                                   {"clip_l3", {0.7, 3.0}}};
    std::vector<Tensor> params;
    for (const char* p : {"p0", "p1", "p2"}) {
      Tensor w = zeros(gd[p].shape());
      w.set_requires_grad();
      w.set_grad(clone_data(gd[p]));
      params.push_back(w);
    }
    Tensor no_grad = zeros({4});  // skipped: no gradient
    no_grad.set_requires_grad();
    params.push_back(no_grad);
    const double norm = clip_grad_norm_(params, args.at(name).first, args.at(name).second);
    CHECK(norm == doctest::Approx(gd["norm"].item()).epsilon(1e-5));
    check_close(params[0].grad(), gd["c0"], "c0");
    check_close(params[1].grad(), gd["c1"], "c1");
    check_close(params[2].grad(), gd["c2"], "c2");
    CHECK(!no_grad.grad().defined());
  }
}

TEST_CASE("clip_grad_norm_: hand values, no gradients, non-finite norms") {
  Tensor w = zeros({2});
  w.set_requires_grad();
  w.set_grad(floats({3, 4}, {2}));
  CHECK(clip_grad_norm_({w}, 1.0) == doctest::Approx(5.0));
  // coef = 1 / (5 + 1e-6)
  CHECK(w.grad().to_vector()[0] == doctest::Approx(3.0 / (5.0 + 1e-6)).epsilon(1e-6));
  CHECK(clip_grad_norm_({zeros({3})}, 1.0) == 0.0);
  CHECK(clip_grad_norm_({}, 1.0) == 0.0);

  w.set_grad(floats({NAN, 1}, {2}));
  CHECK_THROWS_WITH_AS(clip_grad_norm_({w}, 1.0, 2.0, true), doctest::Contains("non-finite"), Error);
  CHECK(std::isnan(clip_grad_norm_({w}, 1.0)));
  CHECK(std::isnan(w.grad().to_vector()[1]));  // scaled by NaN, as PyTorch does
  w.set_grad(floats({INFINITY, 1}, {2}));
  CHECK(std::isinf(clip_grad_norm_({w}, 1.0, INFINITY)));
  CHECK_THROWS_WITH_AS(clip_grad_norm_({w}, 1.0, 0.0), doctest::Contains("norm_type must be positive"),
                       Error);
}
