// Colour conversions against their formulas (NumPy), PSNR against scikit-image and its closed form, SSIM
// against scikit-image's structural_similarity (tools/gen_image_metric_goldens.py).
#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include "core/factory.h"
#include "core/image_ops.h"
#include "core/npy.h"
#include "test_util.h"

using namespace convgrad;
using convgrad::testing::max_abs_diff;

namespace {
const std::string kData = std::string(CONVGRAD_TEST_DATA) + "/image_ops/";

// (N, C, H, W) from N images of one shape.
Tensor batch(const std::vector<Tensor>& images) {
  std::vector<float> v;
  for (const Tensor& t : images) {
    auto x = t.to_vector();
    v.insert(v.end(), x.begin(), x.end());
  }
  Shape s = images[0].shape();
  s.insert(s.begin(), static_cast<int64_t>(images.size()));
  return from_vector(v, s);
}

Tensor scaled(const Tensor& t, float s) {
  auto v = t.to_vector();
  for (float& x : v) x *= s;
  return from_vector(v, t.shape());
}

std::map<std::string, Tensor>& goldens() {
  static auto g = load_npz(kData + "metrics.npz");
  return g;
}
// A double stored as two float32 (hi, lo) with hi + lo == value (.npz floats load as float32).
double golden(const std::string& name) {
  const Tensor& t = goldens().at(name);
  return static_cast<double>(t.at({0})) + static_cast<double>(t.at({1}));
}
}  // namespace

TEST_CASE("rgb_to_ycbcr, rgb_to_y and rgb_to_grayscale match their formulas") {
  const Tensor& a = goldens().at("a");
  CHECK(max_abs_diff(rgb_to_ycbcr(a), goldens().at("ycbcr_a")) <= 1e-6);
  CHECK(max_abs_diff(rgb_to_grayscale(a), goldens().at("grey_a")) <= 1e-6);
  std::vector<float> ycc = rgb_to_ycbcr(a).to_vector(), y = rgb_to_y(a).to_vector();
  CHECK(rgb_to_y(a).shape() == Shape{1, 24, 30});
  CHECK(max_abs_diff(rgb_to_y(a), from_vector(std::vector<float>(ycc.begin(), ycc.begin() + 24 * 30),
                                              {1, 24, 30})) <= 1e-7);
  // White and black hit the ends of the studio range: Y 16..235, chroma 128 (in /255 units).
  Tensor wb = from_vector(std::vector<float>{1, 0, 1, 0, 1, 0}, {3, 1, 2});
  std::vector<float> want = {235.f / 255, 16.f / 255, 128.f / 255, 128.f / 255, 128.f / 255, 128.f / 255};
  CHECK(max_abs_diff(rgb_to_ycbcr(wb), from_vector(want, {3, 1, 2})) <= 1e-6);
  CHECK(max_abs_diff(rgb_to_grayscale(wb), from_vector(std::vector<float>{1, 0}, {1, 1, 2})) <= 1e-6);
  // The inverse, and batches give each image's result.
  CHECK(max_abs_diff(ycbcr_to_rgb(rgb_to_ycbcr(a)), a) <= 2e-6);
  const Tensor& c = goldens().at("c");
  Tensor both = rgb_to_ycbcr(batch({a, c}));
  CHECK(both.shape() == Shape{2, 3, 24, 30});
  CHECK(max_abs_diff(both, batch({rgb_to_ycbcr(a), rgb_to_ycbcr(c)})) == 0.0);
  CHECK(max_abs_diff(rgb_to_grayscale(batch({a, c})), batch({rgb_to_grayscale(a), rgb_to_grayscale(c)})) ==
        0.0);
  CHECK_THROWS_WITH_AS(rgb_to_y(zeros({4, 2, 2})), doctest::Contains("(3, H, W)"), Error);
  CHECK_THROWS_WITH_AS(rgb_to_ycbcr(zeros({3, 2, 2}, DType::Int64)), doctest::Contains("int64"), Error);
  CHECK_THROWS_AS(ycbcr_to_rgb(zeros({2, 2})), Error);
}

TEST_CASE("psnr matches scikit-image and the closed form") {
  const Tensor &a = goldens().at("a"), &b = goldens().at("b"), &c = goldens().at("c"), &d = goldens().at("d");
  CHECK(std::fabs(psnr(a, b) - golden("psnr")) <= 1e-10);
  CHECK(std::fabs(psnr(a, b, PsnrOptions().border(4)) - golden("psnr_border4")) <= 1e-10);
  CHECK(std::fabs(psnr(a, b, PsnrOptions().border(4).y_channel(true)) - golden("psnr_y_border4")) <= 1e-10);
  // A batch reports the mean of its images' values.
  CHECK(std::fabs(psnr(batch({a, c}), batch({b, d})) - (golden("psnr") + golden("psnr_cd")) / 2) <= 1e-10);
  // Closed form: a uniform error e gives 10 log10(range^2 / e^2).
  CHECK(std::fabs(psnr(zeros({3, 4, 5}), full({3, 4, 5}, 0.1)) - 20.0) <= 1e-5);
  CHECK(std::fabs(psnr(zeros({3, 4, 5}), full({3, 4, 5}, 25.5), PsnrOptions().data_range(255)) - 20.0) <=
        1e-5);
  CHECK(std::fabs(psnr(zeros({1, 4, 4}), full({1, 4, 4}, 0.5), PsnrOptions().data_range(2.0)) -
                  10 * std::log10(16.0)) <= 1e-9);
  // The border is really cropped: errors only on the edge vanish.
  Tensor edge = zeros({1, 6, 6});
  edge.data<float>()[0] = 1.0f;
  CHECK(psnr(zeros({1, 6, 6}), edge, PsnrOptions().border(1)) == std::numeric_limits<double>::infinity());
  CHECK(std::fabs(psnr(zeros({1, 6, 6}), edge) - 10 * std::log10(36.0)) <= 1e-9);
  CHECK(psnr(a, a) == std::numeric_limits<double>::infinity());
}

TEST_CASE("ssim matches scikit-image's structural_similarity (Gaussian window, sigma 1.5)") {
  const Tensor &a = goldens().at("a"), &b = goldens().at("b"), &c = goldens().at("c"), &d = goldens().at("d");
  CHECK(std::fabs(ssim(a, b) - golden("ssim")) <= 1e-12);
  CHECK(std::fabs(ssim(a, b, SsimOptions().border(3)) - golden("ssim_border3")) <= 1e-12);
  CHECK(std::fabs(ssim(a, b, SsimOptions().y_channel(true)) - golden("ssim_y")) <= 1e-12);
  CHECK(std::fabs(ssim(a, b, SsimOptions().y_channel(true).border(2)) - golden("ssim_y_border2")) <= 1e-12);
  CHECK(std::fabs(ssim(c, d) - golden("ssim_cd")) <= 1e-12);
  std::vector<float> va = a.to_vector(), vb = b.to_vector();
  Tensor ga = from_vector(std::vector<float>(va.begin(), va.begin() + 720), {1, 24, 30});
  Tensor gb = from_vector(std::vector<float>(vb.begin(), vb.begin() + 720), {1, 24, 30});
  CHECK(std::fabs(ssim(ga, gb) - golden("ssim_grey")) <= 1e-12);
  CHECK(std::fabs(ssim(scaled(a, 255), scaled(b, 255), SsimOptions().data_range(255)) - golden("ssim_255")) <=
        1e-12);
  CHECK(std::fabs(ssim(batch({a, c}), batch({b, d})) - (golden("ssim") + golden("ssim_cd")) / 2) <= 1e-12);
  CHECK(std::fabs(ssim(a, a) - 1.0) <= 1e-12);
  CHECK(ssim(a, b) < ssim(a, a));
}

TEST_CASE("metrics refuse mismatched, too small, non-finite or non-RGB input") {
  Tensor x = zeros({3, 12, 12});
  CHECK_THROWS_WITH_AS(psnr(x, zeros({3, 12, 13})), doctest::Contains("same shape"), Error);
  CHECK_THROWS_WITH_AS(ssim(x, zeros({3, 12, 12}), SsimOptions().border(1)),
                       doctest::Contains("does not fit"), Error);
  CHECK_THROWS_WITH_AS(psnr(x, x, PsnrOptions().border(6)), doctest::Contains("leaves nothing"), Error);
  CHECK_THROWS_WITH_AS(psnr(zeros({1, 4, 4}), zeros({1, 4, 4}), PsnrOptions().y_channel(true)),
                       doctest::Contains("y_channel needs RGB"), Error);
  CHECK_THROWS_WITH_AS(psnr(x, x, PsnrOptions().data_range(0)), doctest::Contains("data_range"), Error);
  Tensor nan = zeros({3, 12, 12});
  nan.data<float>()[7] = NAN;
  CHECK_THROWS_WITH_AS(psnr(x, nan), doctest::Contains("finite"), Error);
  CHECK_THROWS_WITH_AS(ssim(nan, x), doctest::Contains("finite"), Error);
  CHECK_THROWS_AS(psnr(zeros({5}), zeros({5})), Error);
}
