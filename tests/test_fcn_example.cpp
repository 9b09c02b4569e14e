// The FCN example's building blocks: data recipe, metrics, model shapes, pictures, progress text.
#include <doctest/doctest.h>

// examples/fcn/CMakeLists.txt links this test to the example's library (and its include paths);
// with -DCONVGRAD_BUILD_EXAMPLES=OFF there is nothing to test.
#if !__has_include("shapes_data.h")
TEST_CASE("fcn example: not built (CONVGRAD_BUILD_EXAMPLES=OFF)" * doctest::skip()) {}
#else

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <set>

#include "autograd/grad_mode.h"
#include "canvas.h"
#include "core/factory.h"
#include "metrics.h"
#include "plot.h"
#include "png_io.h"
#include "progress.h"
#include "shapes_data.h"
#include "tensor_image.h"
#include "tiny_fcn.h"
#include "train.h"
#include "visuals.h"

using namespace convgrad;
using namespace convgrad::fcn;

// Measured by the test below; examples/fcn/check_training.cmake uses the same number.
constexpr double kHeldoutBackgroundRate = 0.8824;

TEST_CASE("shapes data: shapes, value ranges, labels and reproducibility") {
  ShapesDataset data(7, 1, 100);
  Batch b = data.batch(0, 16);
  CHECK(b.images.shape() == Shape{16, 3, 64, 64});
  CHECK(b.labels.shape() == Shape{16, 64, 64});
  CHECK(b.labels.dtype() == DType::Int64);
  auto px = b.images.to_vector<float>();
  for (float v : px) REQUIRE((v >= 0.f && v <= 1.f));
  std::set<int64_t> seen;
  int64_t foreground = 0;
  for (int64_t l : b.labels.to_vector<int64_t>()) {
    REQUIRE((l >= 0 && l < kClasses));
    seen.insert(l);
    foreground += l != 0;
  }
  CHECK(seen.size() == 4);  // 16 images with 1-4 shapes each: every class appears
  // Shapes of radius 4-12 cover a real but minor part of the pixels.
  double frac = static_cast<double>(foreground) / (16 * 64 * 64);
  CHECK(frac > 0.03);
  CHECK(frac < 0.6);

  // Image i is the same whichever batch it is drawn in (it has its own seed).
  Batch again = data.batch(5, 3);
  auto a = again.images.to_vector<float>();
  CHECK(std::equal(a.begin(), a.end(), px.begin() + 5 * 3 * 64 * 64));
  // Wrapping around the set size, and another seed/stream giving other images.
  Batch wrapped = data.batch(99, 2);
  CHECK(wrapped.labels.to_vector<int64_t>()[64 * 64 + 100] == b.labels.to_vector<int64_t>()[100]);
  CHECK(ShapesDataset(7, 2, 100).image_seed(0) != data.image_seed(0));
  CHECK(ShapesDataset(8, 1, 100).image_seed(0) != data.image_seed(0));
}

TEST_CASE("shapes data: the drawing rules of each class") {
  // Images with a single shape (the draw count is replayed from the image's generator: 3 + 3 background
  // colour draws, the angle, then the count), one per class, must be that shape on the label map: checked
  // from the label pixels alone (bounding box, fill ratio, row widths) and by the colour of the fill.
  bool found[kClasses] = {false, false, false, false};
  for (uint64_t seed = 0; seed < 400 && !(found[1] && found[2] && found[3]); ++seed) {
    Generator replay(seed);
    for (int k = 0; k < 7; ++k) replay.uniform(0.f, 1.f);
    if (replay.randint(1, 5) != 1) continue;
    Generator gen(seed);
    std::vector<float> img(3 * 64 * 64);
    std::vector<int64_t> lab(64 * 64);
    draw_shapes_image(gen, img.data(), lab.data());
    int64_t cls = 0, area = 0, x0 = 64, x1 = -1, y0 = 64, y1 = -1;
    std::vector<int64_t> row_width(64, 0);
    for (int64_t y = 0; y < 64; ++y)
      for (int64_t x = 0; x < 64; ++x)
        if (int64_t l = lab[y * 64 + x]; l != 0) {
          REQUIRE((cls == 0 || l == cls));  // one shape: one class
          cls = l, ++area, ++row_width[y];
          x0 = std::min(x0, x), x1 = std::max(x1, x), y0 = std::min(y0, y), y1 = std::max(y1, y);
        }
    REQUIRE(cls > 0);
    if (found[cls]) continue;
    found[cls] = true;
    CAPTURE(seed);
    CAPTURE(cls);
    const double w = double(x1 - x0 + 1), h = double(y1 - y0 + 1), fill = area / (w * h);
    CHECK(w >= 8);  // radius 4-12: 8 to 25 pixels across
    CHECK(w <= 25);
    if (cls == 1) {  // disk: as wide as high, pi/4 of its box
      CHECK(std::abs(w - h) <= 1);
      CHECK(std::abs(fill - M_PI / 4) < 0.08);
    } else if (cls == 2) {          // square: fills its box
      CHECK(std::abs(w - h) <= 1);  // the centre is not on the pixel grid: one row or column more
      CHECK(fill == 1.0);
    } else {  // upward triangle: half its box, rows widening downwards
      CHECK(std::abs(w - h) <= 2);
      CHECK(std::abs(fill - 0.5) < 0.1);
      for (int64_t y = y0 + 1; y <= y1; ++y) CHECK(row_width[y] >= row_width[y - 1]);
      CHECK(row_width[y1] > 3 * row_width[y0]);
    }
    // The shape's pixels share one colour up to the noise (sigma 0.05), unlike the background gradient.
    double sum = 0, sq = 0;
    for (size_t i = 0; i < lab.size(); ++i)
      if (lab[i] == cls) sum += img[i], sq += img[i] * img[i];
    CHECK(sq / area - (sum / area) * (sum / area) < 0.01);
  }
  for (int64_t cls = 1; cls < kClasses; ++cls)
    CHECK_MESSAGE(found[cls], "no single-shape image of class " << cls);
}

TEST_CASE(
    "shapes data: the held-out set of examples/fcn (seed 0, stream 2, 512 images) is 88.24% background") {
  // examples/fcn/check_training.cmake requires a short training run to beat predicting background
  // everywhere on this set; the rate it uses is this one.
  ShapesDataset heldout(0, 2, 512);
  int64_t background = 0, total = 0;
  for (int64_t start = 0; start < 512; start += 64)
    for (int64_t l : heldout.batch(start, 64).labels.to_vector<int64_t>()) background += l == 0, ++total;
  const double rate = double(background) / double(total);
  MESSAGE("held-out background rate: " << rate);
  CHECK(std::abs(rate - kHeldoutBackgroundRate) < 0.00005);  // the rate to fcn's 4 printed decimals
}

TEST_CASE("confusion matrix: hand-computed accuracy and IoU") {
  ConfusionMatrix cm(3);
  // truth:      0 0 1 1 2 2
  // prediction: 0 1 1 1 2 0
  cm.add(from_vector(std::vector<int64_t>{0, 1, 1, 1, 2, 0}, {6}),
         from_vector(std::vector<int64_t>{0, 0, 1, 1, 2, 2}, {6}));
  CHECK(cm.total() == 6);
  CHECK(cm.pixel_accuracy() == doctest::Approx(4.0 / 6));
  auto iou = cm.iou();
  CHECK(iou[0] == doctest::Approx(1.0 / 3));  // tp 1, fp 1 (truth 2), fn 1
  CHECK(iou[1] == doctest::Approx(2.0 / 3));  // tp 2, fp 1
  CHECK(iou[2] == doctest::Approx(1.0 / 2));  // tp 1, fn 1
  CHECK(cm.mean_iou() == doctest::Approx((1.0 / 3 + 2.0 / 3 + 0.5) / 3));
  // A class absent from truth and predictions is skipped in the mean.
  ConfusionMatrix two(3);
  two.add(from_vector(std::vector<int64_t>{0, 1}, {2}), from_vector(std::vector<int64_t>{0, 1}, {2}));
  CHECK(std::isnan(two.iou()[2]));
  CHECK(two.mean_iou() == doctest::Approx(1.0));
  CHECK_THROWS_AS(
      cm.add(from_vector(std::vector<int64_t>{3}, {1}), from_vector(std::vector<int64_t>{0}, {1})), Error);
}

TEST_CASE("predict_classes takes the first largest score per pixel") {
  // logits (1, 3, 1, 2): pixel 0 scores (0, 2, 1) -> 1; pixel 1 ties (5, 5, 0) -> 0.
  Tensor logits = from_vector(std::vector<float>{0.f, 5.f, 2.f, 5.f, 1.f, 0.f}, {1, 3, 1, 2});
  CHECK(predict_classes(logits).to_vector<int64_t>() == std::vector<int64_t>{1, 0});
}

TEST_CASE("TinyFCN: output shapes, parameter names and the bilinear start") {
  Generator gen(0);
  TinyFCN plain(false, gen), skips(true, gen);
  NoGradGuard no_grad;
  Tensor x = rand({2, 3, 64, 64}, gen);
  CHECK(plain.forward(x).shape() == Shape{2, 4, 64, 64});
  CHECK(skips.forward(x).shape() == Shape{2, 4, 64, 64});
  CHECK(plain.parameters().size() == 11);  // 5 convs with bias + up
  CHECK(skips.parameters().size() == 17);  // + score3, score2 (with bias), up2a, up2b
  CHECK(plain.up->weight.shape() == Shape{4, 4, 16, 16});
  // k16 bilinear profile: f = 8, c = 7.5, filt[7] = (1 - 0.5/8)^2 on the diagonal, zero off it.
  CHECK(plain.up->weight.at<float>({1, 1, 7, 7}) == doctest::Approx(0.9375 * 0.9375));
  CHECK(plain.up->weight.at<float>({1, 2, 7, 7}) == 0.f);
  // Bilinear upsampling of a constant score map is constant away from the border.
  Tensor s = full({1, 4, 8, 8}, 2.0);
  Tensor up = plain.up->forward(s);
  CHECK(up.at<float>({0, 3, 30, 33}) == doctest::Approx(2.0));
  CHECK_THROWS_AS(plain.forward(rand({1, 3, 60, 60}, gen)), Error);
}

// Pixels of `img` that are not white, and how many of them are grey levels (neither white nor black).
struct Ink {
  int drawn = 0, grey = 0;
  int x_min = 1 << 30, x_max = -1, y_min = 1 << 30, y_max = -1;
};
Ink ink(const example::Image& img) {
  Ink r;
  for (int y = 0; y < img.height(); ++y)
    for (int x = 0; x < img.width(); ++x) {
      const example::Rgb c = img.get(x, y);
      if (c == example::Rgb{255, 255, 255}) continue;
      ++r.drawn;
      r.grey += c != example::Rgb{0, 0, 0};
      r.x_min = std::min(r.x_min, x), r.x_max = std::max(r.x_max, x);
      r.y_min = std::min(r.y_min, y), r.y_max = std::max(r.y_max, y);
    }
  return r;
}

TEST_CASE("pictures: text from a real font, anti-aliased and mixed case, inside its box") {
  // A proportional font: 'W' is wider than 'i'; lower case is not upper case.
  CHECK(example::text_width("WWWW") > 2 * example::text_width("iiii"));
  CHECK(example::text_width("abc") > 0);
  CHECK(example::text_width("") == 0);
  CHECK(example::text_height() >= 10);
  CHECK(example::text_height(24) > example::text_height(12));
  auto drawn = [](const std::string& s) {
    example::Image img(80, 30, {255, 255, 255});
    example::draw_text(img, 5, 6, s, {0, 0, 0});
    return img;
  };
  const example::Image upper = drawn("Abc"), lower = drawn("abc");
  CHECK(upper.bytes() != lower.bytes());
  const Ink a = ink(upper);
  CHECK(a.drawn > 30);
  CHECK(a.grey > 10);  // anti-aliased edges: grey levels between black and white
  // Every drawn pixel lies in the box that text_width and text_height promise from the top-left (5, 6).
  CHECK(a.x_min >= 5 - 1);
  CHECK(a.x_max <= 5 + example::text_width("Abc"));
  CHECK(a.y_min >= 6);
  CHECK(a.y_max < 6 + example::text_height());
  // Drawing outside the image is clipped, never an error; the colour is the one asked for.
  example::Image small(10, 10, {255, 255, 255});
  example::draw_text(small, -20, -20, "clipped", {0, 0, 0});
  example::draw_text(small, 200, 3, "clipped", {0, 0, 0});
  CHECK(ink(small).drawn == 0);
  example::Image red(40, 20, {255, 255, 255});
  example::draw_text(red, 2, 2, "H", {200, 0, 0}, 16);
  bool saw_red = false;
  for (int y = 0; y < 20; ++y)
    for (int x = 0; x < 40; ++x) saw_red |= red.get(x, y) == example::Rgb{200, 0, 0};
  CHECK(saw_red);
}

TEST_CASE("pictures: plot ticks, anti-aliased panel, PNG round trip, prediction grid") {
  CHECK(example::nice_ticks(0, 1, 5) == std::vector<double>{0, 0.2, 0.4, 0.6000000000000001, 0.8, 1});
  CHECK(example::nice_ticks(0, 3000, 6).size() == 7);
  CHECK(example::moving_average({1, 2, 3, 4}, 2) == std::vector<double>{1, 1.5, 2.5, 3.5});
  // A diagonal line in a panel: its colour appears, with blended (anti-aliased) pixels beside it, and
  // nothing is drawn outside the panel's rectangle.
  example::Image panel(300, 220, {255, 255, 255});
  const example::Rgb blue{31, 119, 180};
  example::draw_panel(panel, 10, 10, 280, 200, {"Title", "step", std::nullopt, std::nullopt, true},
                      {{{0, 1, 2, 3}, {0, 1, 2, 3}, blue, "Series", 2}});
  int full = 0, blended = 0;
  for (int y = 0; y < panel.height(); ++y)
    for (int x = 0; x < panel.width(); ++x) {
      const example::Rgb c = panel.get(x, y);
      full += c == blue;
      // Between blue and white on every channel, not on a grey axis: a partly covered line pixel.
      blended += c != blue && c.r > blue.r && c.r < 255 && c.b > c.r && c.r != c.g;
      if (x < 10 || y < 10 || x >= 290 || y >= 210) REQUIRE(c == example::Rgb{255, 255, 255});
    }
  CHECK(full > 100);
  CHECK(blended > 50);

  example::Image img(20, 10, {255, 255, 255});
  example::draw_text(img, 1, 1, "A", {0, 0, 0});
  img.draw_line(0, 9, 19, 9, {10, 20, 30});
  auto path = (std::filesystem::temp_directory_path() / "convgrad_test_fcn.png").string();
  example::write_png(path, img);
  example::Image back = example::read_png(path);
  CHECK(back.width() == 20);
  CHECK(back.bytes() == img.bytes());
  std::filesystem::remove(path);
  CHECK_THROWS_AS(example::read_png(path), Error);
  CHECK_THROWS_AS(example::write_png("/nonexistent-dir/x.png", img), Error);

  Batch b = ShapesDataset(1, 2, 4).batch(0, 4);
  example::Image grid = prediction_grid(b.images, b.labels, b.labels);
  CHECK(grid.width() > 2 * 3 * 128);
  // The grid's first ground-truth cell shows the class colours of image 0's labels.
  const int64_t label = b.labels.at<int64_t>({0, 32, 32});
  CHECK(grid.get(10 + 2 * (128 + 4) + 64, 10 + 16 + 64) == class_palette()[label]);
  // Tensor -> picture -> tensor keeps values to 8 bits.
  std::vector<float> all = b.images.to_vector<float>();
  std::vector<float> v0(all.begin(), all.begin() + 3 * 64 * 64);
  Tensor first = from_vector(v0, {3, 64, 64});
  auto v1 = example::tensor_from_image(example::image_from_tensor(first)).to_vector<float>();
  for (size_t i = 0; i < v0.size(); ++i) REQUIRE(std::abs(v0[i] - v1[i]) <= 0.5f / 255.f + 1e-6f);
}

TEST_CASE("progress: durations and the bar text") {
  CHECK(example::format_duration(0) == "0:00");
  CHECK(example::format_duration(62.4) == "1:02");
  CHECK(example::format_duration(3725) == "1:02:05");
  example::ProgressBar p(1500, true, 100);
  const std::string metrics = step_metrics({120, 0.2134, 0.9341, 412.4});
  // 120 steps in 10 s -> 1380 left take 115 s.
  CHECK(p.bar_text(120, metrics, 10.0) ==
        "[#.......................]  120/1500  loss 0.2134  acc 0.934  412 img/s  ETA 1:55");
  // Plain lines (the output is not a terminal) keep the "step N/M  loss X" form scripts read.
  CHECK(p.line_text(120, metrics, 10.0) ==
        "step 120/1500  loss 0.2134  acc 0.934  412 img/s  elapsed 0:10  ETA 1:55");
}

#endif  // __has_include("shapes_data.h")
