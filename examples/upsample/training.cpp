#include "training.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>

#include "autograd/grad_mode.h"
#include "autograd/ops_nn.h"
#include "autograd/ops_shape.h"
#include "canvas.h"
#include "layers/loss.h"
#include "layers/lr_scheduler.h"
#include "layers/optim.h"
#include "png_io.h"
#include "synthetic_images.h"
#include "tensor_image.h"

namespace convgrad::upsample {
namespace {

using example::Image;

// One row per image: low-res input | nearest | bilinear | trained | original, with PSNRs underneath.
Image comparison_strip(const Tensor& lr, const std::vector<std::pair<std::string, Tensor>>& columns,
                       const Tensor& hr, int rows) {
  constexpr int kCell = 128, kGap = 6, kMargin = 10, kLabel = 12;
  const int cols = static_cast<int>(columns.size()) + 2;
  const int header = example::text_height() + 6;
  Image strip(2 * kMargin + cols * kCell + (cols - 1) * kGap,
              2 * kMargin + header + rows * (kCell + kLabel + kGap));
  const example::Rgb text{30, 30, 30};
  auto title = [&](int col, const std::string& s) {
    int x = kMargin + col * (kCell + kGap);
    example::draw_text(strip, x + (kCell - example::text_width(s)) / 2, kMargin, s, text);
  };
  title(0, "low-res input");
  for (size_t k = 0; k < columns.size(); ++k) title(static_cast<int>(k) + 1, columns[k].first);
  title(cols - 1, "original");
  for (int r = 0; r < rows; ++r) {
    int y = kMargin + header + r * (kCell + kLabel + kGap);
    auto cell = [&](int col, const Tensor& batch, int factor) {
      strip.paste(example::image_from_tensor(select(batch, 0, r)).scaled(factor),
                  kMargin + col * (kCell + kGap), y);
    };
    cell(0, lr, 4);
    for (size_t k = 0; k < columns.size(); ++k) {
      cell(static_cast<int>(k) + 1, columns[k].second, 2);
      double p = psnr(slice(columns[k].second, 0, r, r + 1), slice(hr, 0, r, r + 1));
      std::string s = fmt::format("{:.1f} dB", p);
      int x = kMargin + (static_cast<int>(k) + 1) * (kCell + kGap);
      example::draw_text(strip, x + (kCell - example::text_width(s)) / 2, y + kCell + 3, s, text);
    }
    cell(cols - 1, hr, 2);
  }
  return strip;
}

}  // namespace

Tensor heldout_images(const RunConfig& c) { return make_images(c.seed, 2, 0, c.eval_images); }

double train_upsampler(Upsampler& model, const RunConfig& c, const std::string& tag) {
  Adam opt(model.parameters(), AdamOptions(c.lr));
  CosineAnnealingLR schedule(opt, c.steps);
  const auto t0 = std::chrono::steady_clock::now();
  double recent = 0;
  for (int64_t step = 0; step < c.steps; ++step) {
    Tensor hr = make_images(c.seed, 1, step * c.batch, c.batch);
    Tensor lr;
    {
      NoGradGuard no_grad;
      lr = downsample_x2(hr);
    }
    opt.zero_grad();
    Tensor loss = mse_loss(model.forward(lr), hr);
    loss.backward();
    opt.step();
    schedule.step();
    recent += loss.item<float>();
    if ((step + 1) % 100 == 0 || step + 1 == c.steps) {
      int64_t n = (step + 1) % 100 == 0 ? 100 : (step + 1) % 100;
      double mse = recent / n;
      double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      fmt::print("  [{}] step {}/{}  mse {:.5f} ({:.2f} dB on training batches)  {:.1f} s\n", tag, step + 1,
                 c.steps, mse, 10 * std::log10(1 / mse), s);
      std::fflush(stdout);
      recent = 0;
    }
  }
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

int run_super_resolution(const RunConfig& c) {
  Generator gen(c.seed);
  Upsampler model({}, gen);
  Tensor hr = heldout_images(c);
  Tensor lr, nearest, bilinear, zero_padded, interp, before;
  {
    NoGradGuard no_grad;
    lr = downsample_x2(hr);
    nearest = upsample_nearest_x2(lr);
    bilinear = upsample_bilinear_tconv_x2(lr);
    zero_padded = upsample_bilinear_tconv_x2(lr, false);
    interp = upsample_bilinear2d(lr, {hr.size(2), hr.size(3)});
    before = model.forward(lr);
  }
  fmt::print("x2 super-resolution of {} held-out 64x64 images (shapes, gradients, stripes), {} threads\n",
             c.eval_images, c.threads);
  // The edge-padded bilinear transposed conv must BE bilinear interpolation: check it, do not assume it.
  double max_diff = 0;
  {
    std::vector<float> a = bilinear.to_vector<float>(), b = interp.to_vector<float>();
    for (size_t i = 0; i < a.size(); ++i)
      max_diff = std::max(max_diff, static_cast<double>(std::abs(a[i] - b[i])));
  }
  fmt::print("bilinear transposed conv vs upsample_bilinear2d: max difference {:.2e} ({})\n", max_diff,
             max_diff < 1e-5 ? "equal" : "DIFFERENT");
  CONVGRAD_CHECK(max_diff < 1e-5,
                 "upsample: the bilinear transposed conv differs from upsample_bilinear2d by {}", max_diff);
  fmt::print("untrained model = bilinear transposed conv: {:.2f} dB vs {:.2f} dB\n", psnr(before, hr),
             psnr(bilinear, hr));
  fmt::print("training {} steps x batch {} (Adam lr {}, cosine decay)\n", c.steps, c.batch, c.lr);
  double seconds = train_upsampler(model, c, "upsampler");
  Tensor trained;
  {
    NoGradGuard no_grad;
    trained = model.forward(lr);
  }
  struct Row {
    const char* name;
    Tensor out;
  };
  std::vector<Row> rows = {{"nearest (k2 s2 all-ones transposed conv)", nearest},
                           {"bilinear, k4 s2 p1 zero-padded (dark frame)", zero_padded},
                           {"bilinear (k4 s2 transposed conv, edge-padded)", bilinear},
                           {"  same: upsample_bilinear2d", interp},
                           {"trained Conv/ConvTranspose model", trained}};
  fmt::print("\nPSNR in dB over the held-out set (from its mean squared error; higher is better)\n");
  fmt::print("{:<48} {:>8} {:>8} {:>8} {:>8}\n", "method", "all", "shapes", "gradient", "stripes");
  for (const Row& r : rows) {
    std::vector<double> m = mse_per_image(r.out, hr);
    double kind_sum[3] = {0, 0, 0}, all = 0;
    int kind_n[3] = {0, 0, 0};
    for (size_t i = 0; i < m.size(); ++i) kind_sum[i % 3] += m[i], ++kind_n[i % 3], all += m[i];
    auto kind = [&](int k) { return kind_n[k] ? psnr_from_mse(kind_sum[k] / kind_n[k]) : 0.0; };
    fmt::print("{:<48} {:>8.2f} {:>8.2f} {:>8.2f} {:>8.2f}\n", r.name, psnr_from_mse(all / m.size()), kind(0),
               kind(1), kind(2));
  }
  double gain = psnr(trained, hr) - psnr(bilinear, hr);
  fmt::print("training took {:.1f} s; the trained model is {:+.2f} dB over bilinear upsampling\n", seconds,
             gain);
  std::string path = (std::filesystem::path(c.out) / "upsample_comparison.png").string();
  int show = static_cast<int>(std::min<int64_t>(4, hr.size(0)));
  example::write_png(path, comparison_strip(slice(lr, 0, 0, show),
                                            {{"nearest", slice(nearest, 0, 0, show)},
                                             {"bilinear", slice(bilinear, 0, 0, show)},
                                             {"trained", slice(trained, 0, 0, show)}},
                                            slice(hr, 0, 0, show), show));
  fmt::print("wrote {}\n", path);
  if (!(gain > 0)) {
    fmt::print(stderr, "upsample: the trained model did not beat bilinear upsampling (try more --steps)\n");
    return 1;
  }
  return 0;
}

}  // namespace convgrad::upsample
