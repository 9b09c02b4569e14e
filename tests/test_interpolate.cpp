// interpolate: PyTorch goldens for every mode x geometry (tools/gen_interpolate_goldens.py ->
// tests/data/interpolate/), hand-computed values, gradcheck, option errors and the Upsample layer.
#include <doctest/doctest.h>

#include <cmath>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "autograd/gradcheck.h"
#include "autograd/ops_interpolate.h"
#include "autograd/ops_nn.h"
#include "autograd/ops_shape.h"
#include "core/factory.h"
#include "core/npy.h"
#include "core/random.h"
#include "layers/upsample.h"
#include "test_util.h"

using namespace convgrad;
using convgrad::testing::floats;
using convgrad::testing::leaf;
using M = InterpolateMode;

namespace {

// Goldens computed in float32 the same way: |a - b| <= 1e-5 + 1e-5 |b|, NaN fails.
void check_close(const Tensor& a, const Tensor& b) { testing::check_close(a, b, 1e-5, 1e-5); }

// The tables of tools/gen_interpolate_goldens.py.
const std::vector<std::pair<std::string, InterpolateOptions>>& modes() {
  static const std::vector<std::pair<std::string, InterpolateOptions>> m = {
      {"nearest", InterpolateOptions().mode(M::Nearest)},
      {"nearest_exact", InterpolateOptions().mode(M::NearestExact)},
      {"bilinear", InterpolateOptions().mode(M::Bilinear).align_corners(false)},
      {"bilinear_ac", InterpolateOptions().mode(M::Bilinear).align_corners(true)},
      {"bicubic", InterpolateOptions().mode(M::Bicubic)},
      {"bicubic_ac", InterpolateOptions().mode(M::Bicubic).align_corners(true)},
      {"area", InterpolateOptions().mode(M::Area)},
      {"bilinear_aa", InterpolateOptions().mode(M::Bilinear).antialias(true)},
      {"bilinear_aa_ac", InterpolateOptions().mode(M::Bilinear).align_corners(true).antialias(true)},
      {"bicubic_aa", InterpolateOptions().mode(M::Bicubic).antialias(true)},
      {"bicubic_aa_ac", InterpolateOptions().mode(M::Bicubic).align_corners(true).antialias(true)},
  };
  return m;
}

// Sets the geometry's size arguments on a copy of the mode's options.
const std::vector<std::pair<std::string, std::function<InterpolateOptions(InterpolateOptions)>>>&
geometries() {
  static const std::vector<std::pair<std::string, std::function<InterpolateOptions(InterpolateOptions)>>> g =
      {
          {"up2", [](InterpolateOptions o) { return o.scale_factor(2.0); }},
          {"up_size",
           [](InterpolateOptions o) {
             return o.size({9, 13});
           }},
          {"down_size",
           [](InterpolateOptions o) {
             return o.size({3, 4});
           }},
          {"down2", [](InterpolateOptions o) { return o.scale_factor(0.5); }},
          {"mixed_scale",
           [](InterpolateOptions o) {
             return o.scale_factor({1.7, 0.45});
           }},
          {"mixed_recompute",
           [](InterpolateOptions o) {
             return o.scale_factor({1.7, 0.45}).recompute_scale_factor(true);
           }},
          {"big_down",
           [](InterpolateOptions o) {
             return o.size({13, 7});
           }},
      };
  return g;
}

}  // namespace

TEST_CASE("interpolate matches PyTorch for every mode, align_corners, antialias and geometry") {
  int cases = 0;
  for (const auto& [mode, mode_options] : modes())
    for (const auto& [geom, with_size] : geometries()) {
      const std::string name = mode + "_" + geom;
      INFO("golden case " << name);
      auto gd = load_npz(std::string(CONVGRAD_TEST_DATA) + "/interpolate/" + name + ".npz");
      Tensor x = leaf(gd["x"]);
      Tensor y = interpolate(x, with_size(mode_options));
      check_close(y, gd["y"]);
      y.backward(gd["g"]);
      check_close(x.grad(), gd["dx"]);
      ++cases;
    }
  CHECK(cases == 77);
}

TEST_CASE("interpolate: hand-computed values") {
  Tensor x = floats({0, 1, 2, 3}, {1, 1, 1, 4});
  // Nearest 4 -> 6: src = floor(o * 4/6) = 0, 0, 1, 2, 2, 3.
  CHECK(interpolate(x, InterpolateOptions().size({1, 6})).to_vector() ==
        std::vector<float>{0, 0, 1, 2, 2, 3});
  // Nearest-exact 4 -> 6: src = floor((o + 0.5) * 4/6) = 0, 1, 1, 2, 3, 3.
  CHECK(interpolate(x, InterpolateOptions().size({1, 6}).mode(M::NearestExact)).to_vector() ==
        std::vector<float>{0, 1, 1, 2, 3, 3});
  // Bilinear with align_corners 4 -> 7 on a ramp: the ramp at steps of 3/6.
  CHECK(interpolate(x, InterpolateOptions().size({1, 7}).mode(M::Bilinear).align_corners(true)).to_vector() ==
        std::vector<float>{0, 0.5f, 1, 1.5f, 2, 2.5f, 3});
  // Area 4 -> 2 averages pairs; 4 -> 3 averages the windows [0, 2), [1, 3), [2, 4).
  CHECK(interpolate(x, InterpolateOptions().size({1, 2}).mode(M::Area)).to_vector() ==
        std::vector<float>{0.5f, 2.5f});
  CHECK(interpolate(x, InterpolateOptions().size({1, 3}).mode(M::Area)).to_vector() ==
        std::vector<float>{0.5f, 1.5f, 2.5f});
  // Bicubic 2x of a constant stays constant (weights sum to 1, border clamped).
  for (float v : interpolate(full({1, 1, 3, 3}, 2.0), InterpolateOptions().scale_factor(2).mode(M::Bicubic))
                     .to_vector())
    CHECK(std::fabs(v - 2.f) <= 1e-6f);
  // Bicubic 4 -> 2: sources 0.5 and 2.5 (t = 0.5), Keys' weights with A = -0.75 are (-0.09375,
  // 0.59375, 0.59375, -0.09375) over indices clamped to [0, 3]: (0, 0, 1, 2) and (1, 2, 3, 3).
  Tensor half = interpolate(x, InterpolateOptions().size({1, 2}).mode(M::Bicubic));
  CHECK(std::fabs(half.at({0, 0, 0, 0}) - (0.59375f * 1 - 0.09375f * 2)) <= 1e-6f);
  CHECK(std::fabs(half.at({0, 0, 0, 1}) - (-0.09375f * 1 + 0.59375f * 2 + 0.59375f * 3 - 0.09375f * 3)) <=
        1e-6f);
  // Antialiased bilinear 4 -> 2: a triangle of half-width 2 around 1 and 3 (weights 1/8, 3/8, 3/8, 1/8,
  // the outer ones cut at the border and renormalised: (3*0 + 3*1 + 1*2) / 7 = 5/7).
  Tensor aa = interpolate(x, InterpolateOptions().size({1, 2}).mode(M::Bilinear).antialias(true));
  CHECK(std::fabs(aa.at({0, 0, 0, 0}) - 5.f / 7.f) <= 1e-6f);
  CHECK(std::fabs(aa.at({0, 0, 0, 1}) - (1.f * 1 + 3.f * 2 + 3.f * 3) / 7.f) <= 1e-6f);
}

TEST_CASE("interpolate gradients pass gradcheck for every mode") {
  Generator gen(5);
  for (const auto& [mode, options] : modes())
    for (Pair size : {Pair{7, 5}, Pair{3, 2}}) {
      INFO(mode << " to " << size[0] << "x" << size[1]);
      Tensor x = leaf(randn({1, 2, 4, 3}, gen));
      InterpolateOptions o = options;
      o.size(size);
      auto r = gradcheck([&](const std::vector<Tensor>& in) { return interpolate(in[0], o); }, {x});
      CHECK_MESSAGE(r.ok, r.report);
    }
}

TEST_CASE("interpolate reads non-contiguous inputs and leaves unchanged axes alone") {
  Generator gen(2);
  Tensor base = randn({1, 2, 5, 6}, gen);
  Tensor t = transpose(base, 2, 3);  // (1, 2, 6, 5), not contiguous
  auto o = InterpolateOptions().size({9, 4}).mode(M::Bicubic);
  CHECK(interpolate(t, o).to_vector() == interpolate(clone_data(t), o).to_vector());
  // Same size: nearest, bilinear and area copy.
  for (M m : {M::Nearest, M::Bilinear, M::Area})
    CHECK(interpolate(base, InterpolateOptions().size({5, 6}).mode(m)).to_vector() == base.to_vector());
}

TEST_CASE("interpolate rejects bad options like F.interpolate") {
  Tensor x = zeros({1, 1, 4, 4});
  CHECK_THROWS_WITH_AS(interpolate(x, InterpolateOptions()), doctest::Contains("exactly one of size"), Error);
  CHECK_THROWS_WITH_AS(interpolate(x, InterpolateOptions().size({2, 2}).scale_factor(2)),
                       doctest::Contains("got both"), Error);
  CHECK_THROWS_WITH_AS(interpolate(x, InterpolateOptions().size({2, 2}).align_corners(false)),
                       doctest::Contains("align_corners can only be set"), Error);
  CHECK_THROWS_WITH_AS(interpolate(x, InterpolateOptions().size({2, 2}).mode(M::Area).antialias(true)),
                       doctest::Contains("antialias is only supported"), Error);
  CHECK_THROWS_WITH_AS(interpolate(x, InterpolateOptions().size({2, 2}).recompute_scale_factor(true)),
                       doctest::Contains("not meaningful with an explicit size"), Error);
  CHECK_THROWS_WITH_AS(interpolate(x, InterpolateOptions().scale_factor(0.1)),
                       doctest::Contains("sizes should be greater than 0"), Error);
  CHECK_THROWS_WITH_AS(interpolate(x, InterpolateOptions().scale_factor(-2)),
                       doctest::Contains("finite and positive"), Error);
  CHECK_THROWS_WITH_AS(interpolate(x, InterpolateOptions().scale_factor(NAN)),
                       doctest::Contains("finite and positive"), Error);
  CHECK_THROWS_WITH_AS(interpolate(x, InterpolateOptions().size({0, 3})), doctest::Contains("greater than 0"),
                       Error);
  CHECK_THROWS_WITH_AS(interpolate(zeros({4, 4}), InterpolateOptions().size({2, 2})),
                       doctest::Contains("expected a 4-D input"), Error);
  CHECK_THROWS_WITH_AS(interpolate(zeros({1, 1, 0, 4}), InterpolateOptions().size({2, 2})),
                       doctest::Contains("non-empty"), Error);
  CHECK_THROWS_AS(interpolate(x, InterpolateOptions().size({int64_t{1} << 40, int64_t{1} << 40})), Error);
  // An empty batch gives an empty output and a zero gradient.
  Tensor e = leaf(zeros({0, 2, 3, 3}));
  Tensor y = interpolate(e, InterpolateOptions().scale_factor(2).mode(M::Bicubic));
  CHECK(y.shape() == Shape{0, 2, 6, 6});
}

TEST_CASE("interpolate on 512x512x3: bicubic x2 gradient in the interior") {
  // No timing here (ctest's timeout is the hang guard): a test must not fail on a slow machine.
  Tensor x = leaf(randn({1, 3, 512, 512}));
  Tensor y = interpolate(x, InterpolateOptions().scale_factor(2).mode(M::Bicubic));
  y.backward(ones(y.shape()));
  // Interior gradient of an all-ones upstream: each input pixel receives 2 x 2 in total (the
  // 1-D weights over the outputs reading it sum to 2 per axis).
  CHECK(std::fabs(x.grad().at({0, 1, 200, 300}) - 4.f) <= 1e-4f);
}

TEST_CASE("Upsample takes every interpolate mode") {
  Generator gen(9);
  Tensor x = randn({1, 2, 5, 4}, gen);
  Upsample cubic(UpsampleOptions().scale_factor({1.5, 2.5}).mode(M::Bicubic).align_corners(true));
  CHECK(cubic.forward(x).to_vector() ==
        interpolate(x, InterpolateOptions().scale_factor({1.5, 2.5}).mode(M::Bicubic).align_corners(true))
            .to_vector());
  CHECK(cubic.extra_repr() == "scale_factor=(1.5, 2.5), mode='bicubic', align_corners=True");
  Upsample nearest(UpsampleOptions().size({7, 3}).mode(M::Nearest));
  CHECK(nearest.forward(x).to_vector() == interpolate(x, InterpolateOptions().size({7, 3})).to_vector());
  CHECK(nearest.extra_repr() == "size=(7, 3), mode='nearest'");
  // The default stays bilinear with align_corners = false.
  Upsample bilinear(UpsampleOptions().scale_factor(2));
  check_close(bilinear.forward(x), upsample_bilinear2d(x, {10, 8}));
  CHECK_THROWS_WITH_AS(Upsample(UpsampleOptions().scale_factor(2).mode(M::Area).align_corners(false)),
                       doctest::Contains("align_corners can only be set"), Error);
}

TEST_CASE("docs/ops.md: the interpolate example") {
  Tensor hr = randn({1, 3, 64, 48});
  // [doc:usage]
  Tensor lr =
      interpolate(hr, InterpolateOptions().scale_factor(0.5).mode(InterpolateMode::Bicubic).antialias(true));
  Tensor up = interpolate(
      lr, InterpolateOptions().size({256, 256}).mode(InterpolateMode::Bilinear).align_corners(true));
  // [/doc]
  CHECK(lr.shape() == Shape{1, 3, 32, 24});
  CHECK(up.shape() == Shape{1, 3, 256, 256});
}
