// Losses against PyTorch goldens (tools/gen_train_goldens.py -> tests/data/train/), plus gradcheck,
// numerical stability, the error messages, and the speed of the fused cross entropy.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>

#include "autograd/gradcheck.h"
#include "core/factory.h"
#include "core/npy.h"
#include "core/random.h"
#include "layers/loss.h"

using namespace convgrad;

namespace {
using Golden = std::map<std::string, Tensor>;

Golden golden(const std::string& name) {
  return load_npz(std::string(CONVGRAD_TEST_DATA) + "/train/" + name + ".npz");
}

// A fresh leaf holding a golden's values.
Tensor leaf(const Tensor& t) {
  Tensor x = clone_data(t);
  x.set_requires_grad();
  return x;
}

void check_close(const Tensor& got, const Tensor& want, const std::string& what, double rtol = 1e-5,
                 double atol = 1e-6) {
  REQUIRE_MESSAGE(got.defined(), what, " is undefined");
  REQUIRE_MESSAGE(got.shape() == want.shape(), what, ": shape ", shape_str(got.shape()),
                  " != ", shape_str(want.shape()));
  auto g = got.to_vector<double>(), w = want.to_vector<double>();
  for (size_t i = 0; i < g.size(); ++i)
    CHECK_MESSAGE(std::abs(g[i] - w[i]) <= atol + rtol * std::abs(w[i]), what, "[", i, "]: ", g[i],
                  " != ", w[i]);
}

Reduction parse(const std::string& name) {
  return name == "none" ? Reduction::None : name == "sum" ? Reduction::Sum : Reduction::Mean;
}

void backward_like_golden(const Tensor& out, const Golden& gd) {
  if (out.dim() == 0)
    out.backward();
  else
    out.backward(gd.at("upstream"));
}
}  // namespace

TEST_CASE("cross_entropy matches PyTorch for (N, C) and (N, C, H, W), all reductions") {
  for (std::string red : {"mean", "sum", "none"}) {
    CAPTURE(red);
    Golden g = golden("ce_nc_" + red);
    Tensor x = leaf(g.at("logits"));
    Tensor out = cross_entropy(x, g.at("target"), CrossEntropyOptions().reduction(parse(red)));
    check_close(out, g.at("out"), "ce_nc out");
    backward_like_golden(out, g);
    check_close(x.grad(), g.at("grad_logits"), "ce_nc grad");

    Golden g4 = golden("ce_nchw_" + red);
    Tensor x4 = leaf(g4.at("logits"));
    auto opts = CrossEntropyOptions().reduction(parse(red)).ignore_index(255).weight(g4.at("weight"));
    Tensor out4 = cross_entropy(x4, g4.at("target"), opts);
    check_close(out4, g4.at("out"), "ce_nchw out");
    backward_like_golden(out4, g4);
    check_close(x4.grad(), g4.at("grad_logits"), "ce_nchw grad");
  }
}

TEST_CASE("cross_entropy is stable for logits of +-1e4") {
  Golden g = golden("ce_huge");
  Tensor x = leaf(g.at("logits"));
  Tensor out = cross_entropy(x, g.at("target"));
  CHECK(std::isfinite(out.item()));
  check_close(out, g.at("out"), "huge out");
  out.backward();
  check_close(x.grad(), g.at("grad_logits"), "huge grad");
}

TEST_CASE("cross_entropy gradcheck with weights and ignore_index") {
  Generator gen(3);
  Tensor x = randn({2, 3, 2, 2}, gen);
  x.set_requires_grad();
  Tensor target = from_vector(std::vector<int64_t>{0, 2, 1, -1, 1, 1, 0, 2}, {2, 2, 2});
  Tensor w = tensor({0.5f, 2.f, 1.f});
  for (Reduction r : {Reduction::Mean, Reduction::Sum, Reduction::None}) {
    auto opts = CrossEntropyOptions().ignore_index(-1).weight(w).reduction(r);
    auto res =
        gradcheck([&](const std::vector<Tensor>& in) { return cross_entropy(in[0], target, opts); }, {x});
    CHECK_MESSAGE(res.ok, res.report);
  }
}

TEST_CASE("cross_entropy: ignored samples, hand-computed values") {
  // Two classes with logits (0, log 3): p = (1/4, 3/4); loss for class 1 is -log(3/4).
  Tensor x = from_vector(std::vector<float>{0.f, std::log(3.f), 5.f, 5.f}, {2, 2});
  x.set_requires_grad();
  Tensor t = from_vector(std::vector<int64_t>{1, -100}, {2});
  Tensor out = cross_entropy(x, t);
  CHECK(out.item() == doctest::Approx(-std::log(0.75)).epsilon(1e-6));
  out.backward();
  // softmax - onehot, to float32 rounding of the vectorised exp.
  auto g = x.grad().to_vector();
  std::vector<float> expected{0.25f, -0.25f, 0.f, 0.f};
  for (size_t i = 0; i < g.size(); ++i) CHECK(g[i] == doctest::Approx(expected[i]).epsilon(1e-6));
  // All targets ignored: the mean is 0/0 = NaN, as in PyTorch.
  Tensor all = from_vector(std::vector<int64_t>{-100, -100}, {2});
  CHECK(std::isnan(cross_entropy(x.detach(), all).item()));
  CHECK(cross_entropy(x.detach(), all, CrossEntropyOptions().reduction(Reduction::Sum)).item() == 0.f);
  // A NaN logit (of either sign) makes its sample's loss NaN, as in PyTorch; -inf logits (masking) are fine.
  float nan = std::numeric_limits<float>::quiet_NaN(), inf = std::numeric_limits<float>::infinity();
  Tensor z = from_vector(std::vector<float>{0.f, std::copysign(nan, -1.f), 1.f, 2.f, nan, 0.f}, {3, 2});
  auto per = cross_entropy(z, from_vector(std::vector<int64_t>{0, 0, 1}, {3}),
                           CrossEntropyOptions().reduction(Reduction::None))
                 .to_vector();
  CHECK(std::isnan(per[0]));
  CHECK(per[1] == doctest::Approx(std::log1p(std::exp(1.0))));
  CHECK(std::isnan(per[2]));
  Tensor masked = from_vector(std::vector<float>{0.f, -inf, 3.f, -inf}, {2, 2});
  masked.set_requires_grad();
  Tensor ml = cross_entropy(masked, from_vector(std::vector<int64_t>{0, 1}, {2}),
                            CrossEntropyOptions().reduction(Reduction::None));
  CHECK(ml.to_vector() == std::vector<float>{0.f, inf});
  ml.backward(from_vector(std::vector<float>{1.f, 0.f}, {2}));
  CHECK(masked.grad().to_vector() == std::vector<float>{0.f, 0.f, 0.f, 0.f});
}

TEST_CASE("cross_entropy errors name the problem") {
  Tensor x = zeros({2, 3, 4});
  Tensor t = from_vector(std::vector<int64_t>{0, 1, 2, 0, 1, 7, 0, 1}, {2, 4});
  CHECK_THROWS_WITH_AS(cross_entropy(x, t),
                       doctest::Contains("target value 7 at index [1, 1] is out of range for 3 "
                                         "classes"),
                       Error);
  CHECK_THROWS_WITH_AS(cross_entropy(x, zeros({2, 4})), doctest::Contains("must be an int64 tensor"), Error);
  CHECK_THROWS_WITH_AS(
      cross_entropy(x, zeros({2, 3}, DType::Int64)),
      doctest::Contains("target shape [2, 3] does not match logits [2, 3, 4] (expected [2, 4])"), Error);
  CHECK_THROWS_WITH_AS(cross_entropy(zeros({3}), zeros({3}, DType::Int64)), doctest::Contains("(N, C)"),
                       Error);
  CHECK_THROWS_WITH_AS(cross_entropy(x, zeros({2, 4}, DType::Int64), CrossEntropyOptions().weight(ones({2}))),
                       doctest::Contains("weight has shape [2], expected [3]"), Error);
}

// Its speed is bench/opbench's business; here the gradient of a segmentation-sized batch.
TEST_CASE("cross_entropy on (32, 4, 64, 64): the gradient of each pixel sums to zero over the classes") {
  Generator gen(0);
  Tensor x = randn({32, 4, 64, 64}, gen);
  x.set_requires_grad();
  Tensor t = randint(0, 4, {32, 64, 64}, gen);
  cross_entropy(x, t).backward();
  // Softmax minus one-hot, divided by the pixel count: sums to zero, and the target's entry is negative.
  for (int64_t n : {0, 5, 31}) {
    double s = 0;
    for (int64_t c = 0; c < 4; ++c) s += x.grad().at({n, c, 10, 20});
    CHECK(std::abs(s) < 1e-9);
    const int64_t target = static_cast<int64_t>(t.at({n, 10, 20}));
    CHECK(x.grad().at({n, target, 10, 20}) < 0.f);
  }
}

TEST_CASE("mse_loss matches PyTorch in both arguments") {
  for (std::string red : {"mean", "sum", "none"}) {
    CAPTURE(red);
    Golden g = golden("mse_" + red);
    Tensor x = leaf(g.at("input")), t = leaf(g.at("target"));
    Tensor out = mse_loss(x, t, parse(red));
    check_close(out, g.at("out"), "mse out");
    backward_like_golden(out, g);
    check_close(x.grad(), g.at("grad_input"), "mse grad input");
    check_close(t.grad(), g.at("grad_target"), "mse grad target");
  }
  CHECK_THROWS_WITH_AS(mse_loss(zeros({2, 3}), zeros({3})),
                       doctest::Contains("input shape [2, 3] and target shape [3]"), Error);
}

TEST_CASE("binary_cross_entropy_with_logits matches PyTorch, with and without pos_weight") {
  for (std::string red : {"mean", "sum", "none"}) {
    CAPTURE(red);
    Golden g = golden("bce_" + red);
    Tensor x = leaf(g.at("input")), t = leaf(g.at("target"));
    Tensor out = binary_cross_entropy_with_logits(x, t, parse(red), g.at("pos_weight"));
    check_close(out, g.at("out"), "bce out");
    backward_like_golden(out, g);
    check_close(x.grad(), g.at("grad_input"), "bce grad input");
    check_close(t.grad(), g.at("grad_target"), "bce grad target", 1e-5, 1e-5);
  }
  Golden g = golden("bce_nopw_mean");
  Tensor x = leaf(g.at("input"));
  Tensor out = binary_cross_entropy_with_logits(x, g.at("target"));
  check_close(out, g.at("out"), "bce (no pos_weight) out");
  out.backward();
  check_close(x.grad(), g.at("grad_input"), "bce (no pos_weight) grad");
  CHECK_THROWS_WITH_AS(
      binary_cross_entropy_with_logits(zeros({2, 3}), zeros({2, 3}), Reduction::Mean, ones({2})),
      doctest::Contains("pos_weight shape [2]"), Error);
  auto res = gradcheck(
      [](const std::vector<Tensor>& in) {
        return binary_cross_entropy_with_logits(in[0], in[1], Reduction::Sum, tensor({2.f, 0.5f}));
      },
      {leaf(tensor({{0.3f, -1.2f}, {2.f, 0.1f}})), leaf(tensor({{0.2f, 0.9f}, {0.5f, 1.f}}))});
  CHECK_MESSAGE(res.ok, res.report);
}
