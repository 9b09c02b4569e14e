// Pixel shuffle / unshuffle and PReLU: PyTorch goldens (tools/gen_sr_goldens.py -> tests/data/sr/),
// independent index formulas, finite-difference gradients, the modules and argument errors.
#include <doctest/doctest.h>

#include <cmath>
#include <map>
#include <string>

#include "autograd/gradcheck.h"
#include "autograd/ops_activation.h"
#include "autograd/ops_shape.h"
#include "autograd/ops_shuffle.h"
#include "core/factory.h"
#include "core/npy.h"
#include "core/random.h"
#include "layers/activation.h"
#include "layers/pixel_shuffle.h"
#include "test_util.h"

using namespace convgrad;
using convgrad::testing::floats;
using convgrad::testing::leaf;

namespace {

std::map<std::string, Tensor> golden(const std::string& name) {
  return load_npz(std::string(CONVGRAD_TEST_DATA) + "/sr/" + name + ".npz");
}

// Goldens computed in float32 the same way: |a - b| <= 1e-5 + 1e-5 |b|, NaN fails.
void check_close(const Tensor& a, const Tensor& b) { testing::check_close(a, b, 1e-5, 1e-5); }

void check_unary_golden(const std::string& name, const std::function<Tensor(const Tensor&)>& fn) {
  INFO("golden case " << name);
  auto gd = golden(name);
  Tensor x = leaf(gd["x"]);
  Tensor y = fn(x);
  check_close(y, gd["y"]);
  y.backward(gd["g"]);
  check_close(x.grad(), gd["dx"]);
}

void check_grad(const std::function<Tensor(const std::vector<Tensor>&)>& fn, const std::vector<Tensor>& in) {
  auto r = gradcheck(fn, in);
  CHECK_MESSAGE(r.ok, r.report);
}

}  // namespace

TEST_CASE("pixel_shuffle: index formula, inverse of pixel_unshuffle, PyTorch goldens") {
  // out[n, c, h*r+i, w*r+j] = in[n, c*r*r + i*r + j, h, w], checked element by element.
  const int64_t r = 2, n = 2, c = 3, h = 2, w = 3;
  Tensor x = reshape(arange(static_cast<double>(n * c * r * r * h * w)), {n, c * r * r, h, w});
  Tensor y = pixel_shuffle(x, r);
  REQUIRE(y.shape() == Shape{n, c, h * r, w * r});
  int bad = 0;
  for (int64_t b = 0; b < n; ++b)
    for (int64_t ch = 0; ch < c; ++ch)
      for (int64_t yy = 0; yy < h * r; ++yy)
        for (int64_t xx = 0; xx < w * r; ++xx)
          bad += y.at({b, ch, yy, xx}) != x.at({b, ch * r * r + (yy % r) * r + xx % r, yy / r, xx / r});
  CHECK(bad == 0);
  CHECK(pixel_unshuffle(y, r).to_vector() == x.to_vector());
  // A non-contiguous input is read through its strides.
  Tensor xt = transpose(reshape(arange(48.0), {1, 4, 3, 4}), 2, 3);  // (1, 4, 4, 3)
  CHECK(pixel_shuffle(xt, 2).to_vector() == pixel_shuffle(clone_data(xt), 2).to_vector());

  check_unary_golden("pixel_shuffle_r2", [](const Tensor& t) { return pixel_shuffle(t, 2); });
  check_unary_golden("pixel_shuffle_r3", [](const Tensor& t) { return pixel_shuffle(t, 3); });
  check_unary_golden("pixel_shuffle_5d", [](const Tensor& t) { return pixel_shuffle(t, 2); });
  check_unary_golden("pixel_unshuffle_r2", [](const Tensor& t) { return pixel_unshuffle(t, 2); });
  check_unary_golden("pixel_unshuffle_r3", [](const Tensor& t) { return pixel_unshuffle(t, 3); });
  check_unary_golden("pixel_unshuffle_3d", [](const Tensor& t) { return pixel_unshuffle(t, 2); });
}

TEST_CASE("pixel_shuffle and pixel_unshuffle pass gradcheck; factor 1 is the identity") {
  Generator gen(3);
  check_grad([](const std::vector<Tensor>& in) { return pixel_shuffle(in[0], 2); },
             {leaf(randn({2, 8, 2, 3}, gen))});
  check_grad([](const std::vector<Tensor>& in) { return pixel_unshuffle(in[0], 3); },
             {leaf(randn({1, 2, 3, 6}, gen))});
  Tensor x = randn({1, 2, 3, 3}, gen);
  CHECK(pixel_shuffle(x, 1).to_vector() == x.to_vector());
  CHECK(pixel_unshuffle(x, 1).to_vector() == x.to_vector());
}

TEST_CASE("pixel_shuffle and pixel_unshuffle reject indivisible shapes and bad factors") {
  CHECK_THROWS_WITH_AS(
      pixel_shuffle(zeros({1, 6, 2, 2}), 2),
      doctest::Contains("6 channels, not divisible by upscale_factor^2 (upscale_factor = 2)"), Error);
  CHECK_THROWS_WITH_AS(pixel_unshuffle(zeros({1, 1, 4, 5}), 2),
                       doctest::Contains("[4, 5] of input [1, 1, 4, 5] is not divisible"), Error);
  CHECK_THROWS_WITH_AS(pixel_shuffle(zeros({4, 2}), 2), doctest::Contains("at least 3 dims"), Error);
  CHECK_THROWS_WITH_AS(pixel_shuffle(zeros({1, 4, 2, 2}), 0), doctest::Contains("must be positive"), Error);
  CHECK_THROWS_WITH_AS(pixel_unshuffle(zeros({1, 1, 2, 2}), -2), doctest::Contains("must be positive"),
                       Error);
  CHECK_THROWS_WITH_AS(pixel_shuffle(zeros({1, 4, 2, 2}), int64_t{1} << 32),
                       doctest::Contains("not divisible"), Error);
  CHECK_THROWS_AS(PixelShuffle(0), Error);
  CHECK_THROWS_AS(PixelUnshuffle(-1), Error);
}

TEST_CASE("PixelShuffle and PixelUnshuffle modules") {
  PixelShuffle up(3);
  PixelUnshuffle down(3);
  Tensor x = randn({2, 9, 2, 2});
  Tensor y = up.forward(x);
  CHECK(y.shape() == Shape{2, 1, 6, 6});
  CHECK(down.forward(y).to_vector() == x.to_vector());
  CHECK(up.parameters().empty());
  CHECK(up.extra_repr() == "upscale_factor=3");
  CHECK(down.extra_repr() == "downscale_factor=3");
}

TEST_CASE("prelu matches PyTorch goldens for per-channel and shared weights") {
  for (const char* name : {"prelu_channels", "prelu_shared", "prelu_2d", "prelu_1d"}) {
    INFO("golden case " << name);
    auto gd = golden(name);
    Tensor x = leaf(gd["a"]), w = leaf(gd["b"]);
    Tensor y = prelu(x, w);
    check_close(y, gd["y"]);
    y.backward(gd["g"]);
    check_close(x.grad(), gd["da"]);
    check_close(w.grad(), gd["db"]);
  }
}

TEST_CASE("prelu: hand values, gradcheck, gradient of one input only") {
  Tensor x = leaf(floats({-2, 3, 0, -1, 4, -5}, {1, 2, 3}));
  Tensor w = leaf(floats({0.5f, -2.f}, {2}));
  Tensor y = prelu(x, w);
  CHECK(y.to_vector() == std::vector<float>{-1, 3, 0, 2, 4, 10});
  y.backward(floats({1, 1, 1, 1, 1, 1}, {1, 2, 3}));
  CHECK(x.grad().to_vector() == std::vector<float>{0.5f, 1, 0.5f, -2, 1, -2});
  CHECK(w.grad().to_vector() == std::vector<float>{-2, -6});

  Generator gen(11);
  // Inputs kept away from the kink at 0.
  auto away = [&](const Shape& s) {
    std::vector<float> v = randn(s, gen).to_vector();
    for (float& e : v) e += e >= 0 ? 0.1f : -0.1f;
    return leaf(floats(v, s));
  };
  check_grad([](const std::vector<Tensor>& in) { return prelu(in[0], in[1]); },
             {away({2, 3, 3, 2}), leaf(floats({0.2f, -0.3f, 0.7f}, {3}))});
  check_grad([](const std::vector<Tensor>& in) { return prelu(in[0], in[1]); },
             {away({2, 3, 2}), leaf(floats({0.4f}, {1}))});

  Tensor xo = leaf(floats({-1, 2}, {1, 2}));
  Tensor wf = floats({0.5f}, {1});  // a constant weight: only dx
  prelu(xo, wf).backward(floats({1, 1}, {1, 2}));
  CHECK(xo.grad().to_vector() == std::vector<float>{0.5f, 1});
  CHECK(!wf.grad().defined());
  // NaN stays NaN (the negative branch multiplies it), as in PyTorch.
  CHECK(std::isnan(prelu(floats({NAN}, {1}), wf).item()));
}

TEST_CASE("prelu rejects mismatched weights") {
  CHECK_THROWS_WITH_AS(prelu(zeros({2, 3, 4}), zeros({2})),
                       doctest::Contains("weight has 2 elements but the input [2, 3, 4] has 3 channels"),
                       Error);
  CHECK_THROWS_WITH_AS(prelu(zeros({2, 3}), zeros({3, 1})), doctest::Contains("scalar or a 1-D tensor"),
                       Error);
  CHECK_THROWS_WITH_AS(prelu(zeros({2, 3}), Tensor()), doctest::Contains("weight is an undefined"), Error);
  CHECK_THROWS_AS(PReLU(PReLUOptions().num_parameters(0)), Error);
}

TEST_CASE("PReLU module: parameter `weight` of shape (num_parameters,), init, state dict") {
  PReLU shared;
  CHECK(shared.weight.shape() == Shape{1});
  CHECK(shared.weight.to_vector() == std::vector<float>{0.25f});
  PReLU per(PReLUOptions().num_parameters(3).init(0.1f));
  auto named = per.named_parameters();
  REQUIRE(named.size() == 1);
  CHECK(named[0].first == "weight");
  CHECK(named[0].second.shape() == Shape{3});
  REQUIRE(per.state_dict().size() == 1);
  CHECK(per.state_dict()[0].first == "weight");
  CHECK(per.extra_repr() == "num_parameters=3");
  Tensor x = floats({-1, -1, -1, 2, 2, 2}, {2, 3});
  CHECK(per.forward(x).to_vector() == std::vector<float>{-0.1f, -0.1f, -0.1f, 2, 2, 2});
  Tensor y = per.forward(x);
  y.backward(ones({2, 3}));
  CHECK(per.weight.grad().to_vector() == std::vector<float>{-1, -1, -1});
  CHECK_THROWS_AS(per.forward(zeros({2, 4})), Error);
}
