// Image functions and transforms of the data pipeline: values against torch.rot90 / torchvision's
// definitions written out, the 8 dihedral symmetries, paired crops and the random streams.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <set>
#include <vector>

#include "layers/convgrad.h"
#include "test_util.h"

using namespace convgrad;
using namespace convgrad::data;
using convgrad::testing::max_abs_diff;

namespace {

std::vector<float> values(const Tensor& t) { return t.to_vector<float>(); }

// Box average of s x s blocks of (C, H, W): the exact "area" downscale, written independently.
Tensor box_down(const Tensor& hr, int64_t s) {
  const int64_t c = hr.size(0), h = hr.size(1) / s, w = hr.size(2) / s;
  std::vector<float> out;
  for (int64_t ch = 0; ch < c; ++ch)
    for (int64_t i = 0; i < h; ++i)
      for (int64_t j = 0; j < w; ++j) {
        double acc = 0;
        for (int64_t a = 0; a < s; ++a)
          for (int64_t b = 0; b < s; ++b) acc += hr.at<float>({ch, i * s + a, j * s + b});
        out.push_back(static_cast<float>(acc / (s * s)));
      }
  return from_vector(out, {c, h, w});
}

}  // namespace

TEST_CASE("crop, flips and rot90 give torch's values") {
  Tensor x = reshape(arange(6.0), {1, 2, 3});  // [[0 1 2] [3 4 5]]
  CHECK(values(hflip(x)) == std::vector<float>{2, 1, 0, 5, 4, 3});
  CHECK(values(vflip(x)) == std::vector<float>{3, 4, 5, 0, 1, 2});
  // torch.rot90(x, 1) = [[2 5] [1 4] [0 3]]; rot90(x, -1) = [[3 0] [4 1] [5 2]]; rot90(x, 2) reverses.
  CHECK(rot90(x, 1).shape() == Shape{1, 3, 2});
  CHECK(values(rot90(x, 1)) == std::vector<float>{2, 5, 1, 4, 0, 3});
  CHECK(values(rot90(x, -1)) == std::vector<float>{3, 0, 4, 1, 5, 2});
  CHECK(values(rot90(x, 3)) == values(rot90(x, -1)));
  CHECK(values(rot90(x, 2)) == std::vector<float>{5, 4, 3, 2, 1, 0});
  CHECK(values(rot90(x, 4)) == values(x));
  CHECK(values(crop(x, 0, 1, 2, 2)) == std::vector<float>{1, 2, 4, 5});
  CHECK_THROWS_AS(crop(x, 1, 0, 2, 1), Error);  // rows [1, 3) leave the 2-row image
  CHECK_THROWS_AS(hflip(arange(3.0)), Error);   // 1-D is not an image
  // int64 maps (segmentation targets) move the same way.
  Tensor labels = from_vector(std::vector<int64_t>{0, 1, 2, 3, 4, 5}, {2, 3});
  CHECK(rot90(labels, 1).to_vector<int64_t>() == std::vector<int64_t>{2, 5, 1, 4, 0, 3});
}

TEST_CASE("center_crop places the window as torchvision, halves rounded to even") {
  Tensor x = reshape(arange(70.0), {1, 7, 10});
  // torchvision: top = round((7 - 4) / 2) = round(1.5) = 2, left = round((10 - 5) / 2) = round(2.5) = 2.
  CHECK(values(center_crop(x, 4, 5)) == values(crop(x, 2, 2, 4, 5)));
  // round((7 - 2) / 2) = 2, round((10 - 3) / 2) = round(3.5) = 4.
  CHECK(values(center_crop(x, 2, 3)) == values(crop(x, 2, 4, 2, 3)));
  Generator g(0);
  Example ex;
  ex.input = x;
  CHECK(values(CenterCrop(4, 5)(ex, g).input) == values(crop(x, 2, 2, 4, 5)));
  CHECK_THROWS_AS(center_crop(x, 8, 2), Error);
}

TEST_CASE("the 8 dihedral transforms are distinct and each is undone by dihedral_inverse") {
  Generator g(3);
  Tensor x = rand({2, 5, 5}, g);
  Tensor r = rand({1, 3, 4}, g);  // not square: odd k swap H and W
  std::set<std::vector<float>> seen;
  for (int64_t k = 0; k < 8; ++k) {
    INFO("k = " << k);
    Tensor y = dihedral(x, k);
    seen.insert(values(y));
    CHECK(values(dihedral_inverse(y, k)) == values(x));
    CHECK(values(dihedral_inverse(dihedral(r, k), k)) == values(r));
    CHECK(dihedral(r, k).shape() == (k % 2 == 0 ? Shape{1, 3, 4} : Shape{1, 4, 3}));
  }
  CHECK(seen.size() == 8);
  CHECK(values(dihedral(x, 0)) == values(x));
  CHECK(values(dihedral(x, 4)) == values(hflip(x)));
  CHECK(values(dihedral(x, 6)) == values(vflip(x)));  // hflip then a half turn is vflip
  CHECK_THROWS_AS(dihedral(x, 8), Error);
  // RandomDihedral reaches all 8 and draws them about equally often.
  std::vector<int> counts(8, 0);
  Generator pick(11);
  Example ex;
  ex.input = x;
  for (int i = 0; i < 800; ++i) {
    auto out = values(RandomDihedral()(ex, pick).input);
    for (int64_t k = 0; k < 8; ++k)
      if (out == values(dihedral(x, k))) ++counts[static_cast<size_t>(k)];
  }
  for (int c : counts) CHECK((c > 60 && c < 140));
}

TEST_CASE("paired crops: the low-res crop is the downscale of the high-res crop") {
  Generator g(7);
  Tensor hr = rand({3, 32, 40}, g);
  Example pair;
  pair.input = box_down(hr, 2);  // (3, 16, 20)
  pair.target = hr;
  std::set<std::pair<float, float>> corners;
  for (uint64_t seed = 0; seed < 20; ++seed) {
    Generator gen(seed);
    Example out = Compose({RandomCrop(6), RandomDihedral(), RandomHorizontalFlip()})(pair, gen);
    REQUIRE(out.input.shape() == Shape{3, 6, 6});
    REQUIRE(out.target.shape() == Shape{3, 12, 12});
    CHECK(max_abs_diff(out.input, box_down(out.target, 2)) <= 1e-6);
    corners.insert({out.input.at<float>({0, 0, 0}), out.target.at<float>({0, 0, 0})});
  }
  CHECK(corners.size() >= 15);  // the crops land in many places
  // A scale-3 pair and a centre crop keep the alignment too.
  Example p3;
  p3.target = rand({1, 18, 27}, g);
  p3.input = box_down(p3.target, 3);
  Example c = CenterCrop(4)(p3, g);
  CHECK(max_abs_diff(c.input, box_down(c.target, 3)) <= 1e-6);
  // A target that is not an integer multiple of the input is refused.
  Example odd;
  odd.input = rand({1, 4, 4}, g);
  odd.target = rand({1, 10, 8}, g);
  CHECK_THROWS_AS(RandomCrop(2)(odd, g), Error);
}

TEST_CASE("random transforms are a function of the generator's stream") {
  Generator g(1);
  Tensor x = rand({3, 20, 20}, g);
  Example ex;
  ex.input = x;
  Transform t = Compose({RandomCrop(8), RandomRotation90(), RandomVerticalFlip(), RandomHorizontalFlip(0.5)});
  Generator a(42), b(42), c(43);
  auto ya = values(t(ex, a).input), yb = values(t(ex, b).input), yc = values(t(ex, c).input);
  CHECK(ya == yb);
  CHECK(ya != yc);
  CHECK(values(x) == values(ex.input));  // the source is never modified
  Generator p(5);
  CHECK(values(RandomHorizontalFlip(1.0)(ex, p).input) == values(hflip(x)));
  CHECK(values(RandomVerticalFlip(0.0)(ex, p).input) == values(x));
  CHECK(values(apply(RandomHorizontalFlip(1.0), x, p)) == values(hflip(x)));
  Example small;
  small.input = rand({3, 1, 1}, g);
  small.path = "tiny.png";
  try {
    RandomCrop(4)(small, p);
    FAIL("a crop larger than the image must throw");
  } catch (const Error& e) {
    CHECK(std::string(e.what()).find("tiny.png is 1x1, smaller than the 4x4 crop") != std::string::npos);
  }
}

TEST_CASE("Normalize subtracts the mean and divides by the std per channel") {
  Tensor x = reshape(arange(8.0), {2, 2, 2});
  Generator g(0);
  Example ex;
  ex.input = x;
  ex.target = x;
  Example out = Normalize({1.f, 2.f}, {2.f, 4.f})(ex, g);
  const std::vector<float> want{-0.5f, 0.f, 0.5f, 1.f, 0.5f, 0.75f, 1.f, 1.25f};
  CHECK(values(out.input) == want);
  CHECK(values(out.target) == want);
  CHECK_THROWS_AS(Normalize({0.f, 0.f, 0.f}, {1.f, 1.f, 1.f})(ex, g), Error);  // 2 channels, 3 values
  CHECK_THROWS_AS(Normalize({0.f}, {0.f}), Error);
}

TEST_CASE("Resize and MakeLowResPair: sizes as torchvision, values as F.interpolate") {
  Generator g(2);
  Example ex;
  ex.input = rand({3, 30, 40}, g);
  // torchvision: the short edge becomes 20, the long one int(20 * 40 / 30) = 26.
  CHECK(Resize(20)(ex, g).input.shape() == Shape{3, 20, 26});
  CHECK(Resize(12, 7)(ex, g).input.shape() == Shape{3, 12, 7});
  // Area downscaling by an integer factor is the box average.
  CHECK(max_abs_diff(Resize(15, 20).mode(InterpolateMode::Area)(ex, g).input, box_down(ex.input, 2)) <= 1e-6);
  // A pair keeps its scale: the target goes to twice the new input size.
  Example pair;
  pair.input = rand({1, 6, 8}, g);
  pair.target = rand({1, 12, 16}, g);
  Example r = Resize(3, 4)(pair, g);
  CHECK(r.input.shape() == Shape{1, 3, 4});
  CHECK(r.target.shape() == Shape{1, 6, 8});
  // F.interpolate(x, size=(2, 2), mode="bicubic", antialias=True) on x = arange(16) / 15, x[0, 0] = 1,
  // from PyTorch 1.13.
  std::vector<float> v(16);
  for (int i = 0; i < 16; ++i) v[static_cast<size_t>(i)] = static_cast<float>(i) / 15.f;
  v[0] = 1.f;
  Example photo;
  photo.input = from_vector(v, {1, 4, 4});
  Example lr = MakeLowResPair(2)(photo, g);
  CHECK(lr.target.to_vector<float>() == v);
  const std::vector<float> torch_bicubic{0.4059775471687317f, 0.3002970814704895f, 0.6655863523483276f,
                                         0.8057908415794373f};
  CHECK(max_abs_diff(lr.input, from_vector(torch_bicubic, {1, 2, 2})) <= 1e-6);
  const std::vector<float> torch_bilinear{0.4217687249183655f, 0.34285715222358704f, 0.6571428775787354f,
                                          0.761904776096344f};
  CHECK(max_abs_diff(MakeLowResPair(2).mode(InterpolateMode::Bilinear)(photo, g).input,
                     from_vector(torch_bilinear, {1, 2, 2})) <= 1e-6);
  // Odd sizes lose their last row / column first ("modcrop"); the area pair is the exact box average.
  Example odd;
  odd.input = rand({3, 11, 13}, g);
  Example p = MakeLowResPair(2).mode(InterpolateMode::Area)(odd, g);
  CHECK(p.target.to_vector<float>() == crop(odd.input, 0, 0, 10, 12).to_vector<float>());
  CHECK(max_abs_diff(p.input, box_down(p.target, 2)) <= 1e-6);
  // Bicubic overshoot is clamped to [0, 1] unless asked otherwise.
  Example edge;
  edge.input = from_vector(std::vector<float>{0, 0, 1, 1, 0, 0, 1, 1, 0, 0, 1, 1, 0, 0, 1, 1}, {1, 4, 4});
  Tensor clamped = MakeLowResPair(2).antialias(false)(edge, g).input;
  Tensor raw = MakeLowResPair(2).antialias(false).clamp(false)(edge, g).input;
  const auto cv = clamped.to_vector<float>(), rv = raw.to_vector<float>();
  CHECK(*std::min_element(rv.begin(), rv.end()) < 0.f);  // the cubic kernel overshoots at a step
  CHECK(*std::min_element(cv.begin(), cv.end()) == 0.f);
  CHECK_THROWS_AS(MakeLowResPair(2)(lr, g), Error);  // already a pair
  // int64 maps resize with nearest only.
  Tensor labels = from_vector(std::vector<int64_t>{0, 1, 2, 3}, {2, 2});
  CHECK(resize(labels, 4, 4, InterpolateMode::Nearest).to_vector<int64_t>() ==
        std::vector<int64_t>{0, 0, 1, 1, 0, 0, 1, 1, 2, 2, 3, 3, 2, 2, 3, 3});
  CHECK_THROWS_AS(resize(labels, 4, 4, InterpolateMode::Bilinear), Error);
}
TEST_CASE("ToGrayscale and RgbToY change input and target") {
  Generator g(0);
  Example ex;
  ex.input = from_vector(std::vector<float>{1, 0, 0, 1, 0, 1}, {3, 1, 2});  // pixels (1,0,0) red, (0,1,1)
  ex.target = ones({3, 2, 4});                                              // white, twice the input's size
  Example grey = ToGrayscale()(ex, g);
  CHECK(grey.input.shape() == Shape{1, 1, 2});
  CHECK(std::abs(grey.input.at<float>({0, 0, 0}) - 0.299f) < 1e-6);
  CHECK(std::abs(grey.input.at<float>({0, 0, 1}) - (0.587f + 0.114f)) < 1e-6);
  Example grey3 = ToGrayscale(3)(ex, g);
  CHECK(grey3.input.shape() == Shape{3, 1, 2});
  CHECK(select(grey3.input, 0, 2).to_vector<float>() == select(grey.input, 0, 0).to_vector<float>());
  Example y = RgbToY()(ex, g);
  CHECK(y.target.shape() == Shape{1, 2, 4});
  CHECK(std::abs(y.target.at<float>({0, 0, 0}) - 235.f / 255.f) <
        1e-6);  // white: Y = 235 in 8-bit studio swing
  CHECK(std::abs(y.input.at<float>({0, 0, 0}) - (16.f + 65.481f) / 255.f) < 1e-6);
  Example one;
  one.input = rand({1, 2, 2}, g);
  CHECK(ToGrayscale()(one, g).input.to_vector<float>() == one.input.to_vector<float>());  // already grey
  CHECK_THROWS_AS(RgbToY()(one, g), Error);
}
