#include "checkerboard.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "autograd/grad_mode.h"
#include "autograd/ops_conv.h"
#include "autograd/ops_shape.h"
#include "canvas.h"
#include "core/factory.h"
#include "core/print.h"
#include "png_io.h"
#include "tensor_image.h"

namespace convgrad::upsample {
namespace {

using example::Image;

// The flat-grey response of a model (1, 3, 64, 64).
Tensor flat_response(Upsampler& model) {
  NoGradGuard no_grad;
  return model.forward(full({1, 3, 32, 32}, 0.5));
}

// Contrast-stretches the deviations of `t` (1, 3, H, W) from its per-channel interior mean by `gain`.
Tensor stretched(const Tensor& t, double gain) {
  std::vector<float> v = t.to_vector<float>();
  const int64_t h = t.size(2), w = t.size(3), p = h * w;
  for (int64_t c = 0; c < 3; ++c) {
    double mean = 0;
    for (int64_t y = 4; y < h - 4; ++y)
      for (int64_t x = 4; x < w - 4; ++x) mean += v[c * p + y * w + x];
    mean /= static_cast<double>((h - 8) * (w - 8));
    for (int64_t i = 0; i < p; ++i) v[c * p + i] = static_cast<float>(0.5 + (v[c * p + i] - mean) * gain);
  }
  return from_vector(v, {3, h, w});
}

void print_tap_counts() {
  fmt::print(
      "A transposed conv with stride s pastes one kernel copy per input pixel, s pixels apart. An output\n"
      "pixel therefore sums as many kernel taps as copies overlap it. All-ones kernels on an all-ones\n"
      "4x4 input count those taps:\n\n");
  Tensor x = ones({1, 1, 4, 4});
  Tensor k3 = conv_transpose2d(x, ones({1, 1, 3, 3}), Tensor(),
                               ConvTranspose2dFuncOptions().stride(2).padding(1).output_padding(1));
  Tensor k4 =
      conv_transpose2d(x, ones({1, 1, 4, 4}), Tensor(), ConvTranspose2dFuncOptions().stride(2).padding(1));
  fmt::print(
      "kernel 3, stride 2 (3 % 2 != 0): rows and columns alternate 1 and 2 taps -> 1, 2, 4 pattern\n{}\n\n",
      select(select(k3, 0, 0), 0, 0));
  fmt::print("kernel 4, stride 2 (4 % 2 == 0): every interior pixel gets 2 x 2 = 4 taps -> flat\n{}\n\n",
             select(select(k4, 0, 0), 0, 0));
  fmt::print(
      "With k3 s2 only a kernel whose taps cancel the uneven counts is flat (e.g. the 1-D profile\n"
      "[0.5, 1, 0.5]); with k4 s2 every output pixel gets 2 x 2 taps, so smooth kernels such as bilinear\n"
      "are flat. Learned kernels satisfy neither by themselves (Odena et al., \"Deconvolution and\n"
      "Checkerboard Artifacts\", Distill 2016); a bilinear start, or resizing before a convolution,\n"
      "keeps the output flat.\n\n");
}

}  // namespace

double flat_ripple(Upsampler& model) {
  // The mean of each of the four pixel phases (row and column parity) of the interior: a stride-2
  // checkerboard makes them differ, a flat output has them equal. Returns max - min, averaged over channels.
  Tensor out = flat_response(model);
  std::vector<float> v = out.to_vector<float>();
  const int64_t h = out.size(2), w = out.size(3), p = h * w;
  double total = 0;
  for (int64_t c = 0; c < 3; ++c) {
    double sum[4] = {0, 0, 0, 0};
    int64_t n[4] = {0, 0, 0, 0};
    for (int64_t y = 4; y < h - 4; ++y)
      for (int64_t x = 4; x < w - 4; ++x) {
        int phase = static_cast<int>((y % 2) * 2 + x % 2);
        sum[phase] += v[c * p + y * w + x];
        ++n[phase];
      }
    double lo = 1e30, hi = -1e30;
    for (int k = 0; k < 4; ++k) lo = std::min(lo, sum[k] / n[k]), hi = std::max(hi, sum[k] / n[k]);
    total += hi - lo;
  }
  return total / 3;
}

int run_checkerboard(const RunConfig& c) {
  print_tap_counts();
  Tensor hr = heldout_images(c), lr;
  {
    NoGradGuard no_grad;
    lr = downsample_x2(hr);
  }
  fmt::print("Training three upsamplers with {} steps each:\n", c.steps);
  struct Variant {
    std::string name;
    UpsamplerOptions options;
    std::unique_ptr<Upsampler> model;
    double psnr = 0, ripple_init = 0, ripple = 0;
    Tensor sample, flat;
  };
  std::vector<Variant> variants;
  variants.push_back({"k4 s2, random init", {32, 4, false}, nullptr, 0, 0, 0, Tensor(), Tensor()});
  variants.push_back({"k3 s2, random init", {32, 3, false}, nullptr, 0, 0, 0, Tensor(), Tensor()});
  variants.push_back(
      {"k4 s2 + bilinear skip (default)", {32, 4, true}, nullptr, 0, 0, 0, Tensor(), Tensor()});
  for (Variant& v : variants) {
    Generator gen(c.seed);
    v.model = std::make_unique<Upsampler>(v.options, gen);
    v.ripple_init = flat_ripple(*v.model);
    train_upsampler(*v.model, c, v.name);
    NoGradGuard no_grad;
    Tensor out = v.model->forward(lr);
    v.psnr = psnr(out, hr);
    v.ripple = flat_ripple(*v.model);
    v.sample = select(slice(out, 0, 2, 3), 0, 0);  // image 2 is a stripes image
    v.flat = flat_response(*v.model);
  }
  fmt::print("\n{:<34} {:>10} {:>16} {:>16}\n", "x2 upsampler", "PSNR (dB)", "ripple at init",
             "ripple trained");
  for (const Variant& v : variants)
    fmt::print("{:<34} {:>10.2f} {:>16.5f} {:>16.5f}\n", v.name, v.psnr, v.ripple_init, v.ripple);
  fmt::print(
      "ripple = spread of the four pixel-phase means of the output for a flat grey input (0 = no\n"
      "checkerboard). Random kernels of either size start with a strong one (their phase sums differ by\n"
      "chance) and training shrinks it; the bilinear start is flat and stays much closer to flat.\n");

  // Picture: per variant, a restored image and its flat-input response with deviations x gain.
  double worst = 1e-6;
  for (const Variant& v : variants) worst = std::max(worst, v.ripple);
  const double gain = 0.3 / worst;
  constexpr int kCell = 192, kGap = 8, kMargin = 10;
  const int header = example::text_height() + 6;
  const int rows = static_cast<int>(variants.size());
  Image img(2 * kMargin + 2 * kCell + kGap, 2 * kMargin + rows * (header + kCell + kGap));
  for (int i = 0; i < rows; ++i) {
    int y = kMargin + i * (header + kCell + kGap);
    example::draw_text(img, kMargin, y, variants[i].name, {30, 30, 30});
    example::draw_text(img, kMargin + kCell + kGap, y, fmt::format("flat input, deviation x{:.0f}", gain),
                       {30, 30, 30});
    img.paste(example::image_from_tensor(variants[i].sample).scaled(3), kMargin, y + header);
    img.paste(example::image_from_tensor(stretched(variants[i].flat, gain)).scaled(3), kMargin + kCell + kGap,
              y + header);
  }
  std::string path = (std::filesystem::path(c.out) / "upsample_checkerboard.png").string();
  example::write_png(path, img);
  fmt::print("wrote {}\n", path);
  return 0;
}

}  // namespace convgrad::upsample
