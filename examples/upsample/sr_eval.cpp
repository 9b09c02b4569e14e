#include "sr_eval.h"

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>

#include "autograd/grad_mode.h"
#include "autograd/ops_interpolate.h"
#include "autograd/ops_math.h"
#include "autograd/ops_shape.h"
#include "core/image_ops.h"
#include "core/threading.h"
#include "sr_apply.h"
#include "sr_checkpoint.h"
#include "sr_visuals.h"

namespace convgrad::upsample {

Scores score_y(const Tensor& out, const Tensor& ref, int64_t border) {
  NoGradGuard no_grad;
  Tensor clamped = clamp(out, 0.f, 1.f);
  const bool rgb = ref.size(0) == 3;
  Scores s;
  s.psnr = psnr(clamped, ref, PsnrOptions().data_range(1.0).border(border).y_channel(rgb));
  s.ssim = ssim(clamped, ref, SsimOptions().data_range(1.0).border(border).y_channel(rgb));
  return s;
}

EvalResult evaluate(SrModel& model, const std::vector<SrPair>& pairs, int64_t tile) {
  NoGradGuard no_grad;
  const int64_t r = model.config().scale;
  EvalResult res;
  for (const SrPair& p : pairs) {
    ImageResult ir;
    ir.path = p.path;
    ir.height = p.hr.size(1);
    ir.width = p.hr.size(2);
    Tensor x = unsqueeze(p.lr, 0);
    ir.model = score_y(upscale_tiled(model, p.lr, TileOptions{tile, -1}), p.hr, r);
    ir.bicubic = score_y(squeeze(bicubic_upscale(x, r), 0), p.hr, r);
    ir.bilinear = score_y(squeeze(bilinear_upscale(x, r), 0), p.hr, r);
    res.images.push_back(ir);
  }
  const double n = static_cast<double>(std::max<size_t>(res.images.size(), 1));
  for (const ImageResult& ir : res.images) {
    res.model.psnr += ir.model.psnr / n, res.model.ssim += ir.model.ssim / n;
    res.bicubic.psnr += ir.bicubic.psnr / n, res.bicubic.ssim += ir.bicubic.ssim / n;
    res.bilinear.psnr += ir.bilinear.psnr / n, res.bilinear.ssim += ir.bilinear.ssim / n;
  }
  return res;
}

namespace {

// The central `side` x `side` low-resolution pixels of a colour pair, upscaled by the model, bicubic and
// nearest (the input as it is), next to the original. Each is computed on the crop plus a margin of
// context, so the crop shows what the whole image shows.
std::vector<Panel> comparison_row(SrModel& model, const SrPair& rgb, int64_t side) {
  const int64_t r = model.config().scale, h = rgb.lr.size(1), w = rgb.lr.size(2);
  const int64_t ch = std::min(h, side), cw = std::min(w, side), top = (h - ch) / 2, left = (w - cw) / 2;
  const int64_t m = model.halo();
  const int64_t t0 = std::max<int64_t>(0, top - m), l0 = std::max<int64_t>(0, left - m);
  const int64_t t1 = std::min(h, top + ch + m), l1 = std::min(w, left + cw + m);
  Tensor lr = contiguous(slice(slice(rgb.lr, 1, t0, t1), 2, l0, l1));
  auto centre = [&](const Tensor& up) {
    return contiguous(
        slice(slice(up, 1, (top - t0) * r, (top - t0 + ch) * r), 2, (left - l0) * r, (left - l0 + cw) * r));
  };
  auto up = [&](InterpolateMode mode) {
    return squeeze(interpolate(unsqueeze(lr, 0),
                               InterpolateOptions().size(Pair{lr.size(1) * r, lr.size(2) * r}).mode(mode)),
                   0);
  };
  Tensor hr = contiguous(slice(slice(rgb.hr, 1, top * r, (top + ch) * r), 2, left * r, (left + cw) * r));
  const std::string name = std::filesystem::path(rgb.path).stem().string();
  return {{name + ": input", centre(up(InterpolateMode::Nearest))},
          {"bicubic", centre(up(InterpolateMode::Bicubic))},
          {model.name(), centre(super_resolve(model, lr))},
          {"original", hr}};
}

}  // namespace

int run_eval(const EvalConfig& c) {
  set_num_threads(c.threads);
  LoadedModel loaded = load_sr_checkpoint(c.load);
  SrModel& model = *loaded.model;
  const SrConfig& mc = model.config();
  std::vector<SrPair> rgb = load_pairs(c.images, mc.scale, 3, model.halo() + 1);
  std::vector<SrPair> pairs;
  for (const SrPair& p : rgb)
    pairs.push_back({to_channels(p.lr, mc.channels), to_channels(p.hr, mc.channels), p.path});
  EvalResult res = evaluate(model, pairs, c.tile);
  if (c.json) {
    fmt::print(
        "{{\"images\": {}, \"psnr\": {:.4f}, \"ssim\": {:.5f}, \"psnr_bicubic\": {:.4f}, \"ssim_bicubic\": "
        "{:.5f}, \"psnr_bilinear\": {:.4f}, \"ssim_bilinear\": {:.5f}}}\n",
        res.images.size(), res.model.psnr, res.model.ssim, res.bicubic.psnr, res.bicubic.ssim,
        res.bilinear.psnr, res.bilinear.ssim);
  } else {
    fmt::print("{} x{} ({}, trained {} steps) on {} image{} of {}: PSNR dB / SSIM on Y, border {}\n",
               model.name(), mc.scale, mc.residual ? "residual" : "direct", loaded.steps, res.images.size(),
               res.images.size() == 1 ? "" : "s", c.images, mc.scale);
    fmt::print("{:<28} {:>9} {:>15} {:>15} {:>15}\n", "image", "size", model.name(), "bicubic", "bilinear");
    auto cell = [](const Scores& s) { return fmt::format("{:.2f} / {:.4f}", s.psnr, s.ssim); };
    for (const ImageResult& ir : res.images)
      fmt::print("{:<28} {:>9} {:>15} {:>15} {:>15}\n", std::filesystem::path(ir.path).filename().string(),
                 fmt::format("{}x{}", ir.width, ir.height), cell(ir.model), cell(ir.bicubic),
                 cell(ir.bilinear));
    fmt::print("{:<28} {:>9} {:>15} {:>15} {:>15}\n", "mean", "", cell(res.model), cell(res.bicubic),
               cell(res.bilinear));
    fmt::print("{} vs bicubic: {:+.2f} dB\n", model.name(), res.model.psnr - res.bicubic.psnr);
  }
  if (!c.compare.empty()) {
    std::vector<std::vector<Panel>> rows;
    for (size_t i = 0; i < std::min<size_t>(rgb.size(), 4); ++i)
      rows.push_back(comparison_row(model, rgb[i], 48));
    write_comparison(c.compare, rows, 8 / static_cast<int>(mc.scale) > 1 ? 2 : 1);
    if (!c.json) fmt::print("wrote {}\n", c.compare);
  }
  return 0;
}

}  // namespace convgrad::upsample
