#include "sr_apply.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <filesystem>

#include "autograd/grad_mode.h"
#include "autograd/ops_math.h"
#include "autograd/ops_reduce.h"
#include "autograd/ops_shape.h"
#include "core/factory.h"
#include "core/image_io.h"
#include "core/image_ops.h"
#include "core/threading.h"
#include "sr_checkpoint.h"

namespace convgrad::upsample {

Tensor upscale_tiled(SrModel& model, const Tensor& x, const TileOptions& o) {
  CONVGRAD_CHECK(x.dim() == 3 && x.size(0) == model.config().channels,
                 "upscale_tiled: expected one image ({}, H, W) for a {}-channel model, got {}",
                 model.config().channels, model.config().channels, shape_str(x.shape()));
  CONVGRAD_CHECK(o.tile >= 1, "upscale_tiled: the tile size must be >= 1, got {}", o.tile);
  const int64_t c = x.size(0), h = x.size(1), w = x.size(2), r = model.config().scale;
  const int64_t halo = o.overlap >= 0 ? o.overlap : model.halo();
  NoGradGuard no_grad;
  Tensor input = contiguous(x);
  Tensor out = zeros({c, h * r, w * r});
  float* dst = out.data<float>();
  for (int64_t y0 = 0; y0 < h; y0 += o.tile) {
    for (int64_t x0 = 0; x0 < w; x0 += o.tile) {
      const int64_t y1 = std::min(h, y0 + o.tile), x1 = std::min(w, x0 + o.tile);
      // The tile plus its context, clipped to the image.
      const int64_t cy0 = std::max<int64_t>(0, y0 - halo), cy1 = std::min(h, y1 + halo);
      const int64_t cx0 = std::max<int64_t>(0, x0 - halo), cx1 = std::min(w, x1 + halo);
      Tensor patch = unsqueeze(slice(slice(input, 1, cy0, cy1), 2, cx0, cx1), 0);
      Tensor up = contiguous(model.forward(contiguous(patch)));
      const float* src = up.data<float>();
      const int64_t pw = (cx1 - cx0) * r, ph = (cy1 - cy0) * r;
      CONVGRAD_CHECK(up.size(2) == ph && up.size(3) == pw,
                     "upscale_tiled: the model returned {} for a {} tile", shape_str(up.shape()),
                     shape_str(patch.shape()));
      // Keep the centre: rows y0*r..y1*r and columns x0*r..x1*r of the full output.
      const int64_t oy = (y0 - cy0) * r, ox = (x0 - cx0) * r, rows = (y1 - y0) * r, cols = (x1 - x0) * r;
      for (int64_t ch = 0; ch < c; ++ch)
        for (int64_t yy = 0; yy < rows; ++yy)
          std::memcpy(dst + (ch * h * r + y0 * r + yy) * w * r + x0 * r, src + (ch * ph + oy + yy) * pw + ox,
                      static_cast<size_t>(cols) * sizeof(float));
    }
  }
  return out;
}

Tensor super_resolve(SrModel& model, const Tensor& image, const TileOptions& o) {
  CONVGRAD_CHECK(image.dim() == 3 && (image.size(0) == 1 || image.size(0) == 3),
                 "super_resolve: expected a grey (1, H, W) or RGB (3, H, W) image, got {}",
                 shape_str(image.shape()));
  NoGradGuard no_grad;
  // A grey image is upscaled as RGB with equal channels (what the model saw in training) and
  // returned as their mean.
  if (image.size(0) == 1) return mean(super_resolve(model, concat({image, image, image}, 0), o), {0}, true);
  if (model.config().channels == 3) return upscale_tiled(model, image, o);
  // Y model: the network upscales luma, bicubic the chroma.
  Tensor ycbcr = rgb_to_ycbcr(image);
  Tensor y = upscale_tiled(model, contiguous(slice(ycbcr, 0, 0, 1)), o);
  Tensor cbcr =
      squeeze(bicubic_upscale(unsqueeze(contiguous(slice(ycbcr, 0, 1, 3)), 0), model.config().scale), 0);
  return ycbcr_to_rgb(concat({y, cbcr}, 0));
}

namespace {

// Grey + alpha and RGBA lose their alpha channel; grey and RGB are kept.
Tensor colour_channels(const Tensor& img) {
  const int64_t c = img.size(0);
  if (c == 2) return contiguous(slice(img, 0, 0, 1));
  if (c == 4) return contiguous(slice(img, 0, 0, 3));
  return img;
}

}  // namespace

int run_apply(const ApplyConfig& c) {
  set_num_threads(c.threads);
  LoadedModel loaded = load_sr_checkpoint(c.load);
  SrModel& model = *loaded.model;
  const int64_t r = model.config().scale;
  std::filesystem::create_directories(c.out);
  fmt::print("{} x{} ({} channel{}{}) from {}\n", model.name(), r, model.config().channels,
             model.config().channels == 1 ? ", Y" : "s, RGB", model.config().residual ? ", residual" : "",
             c.load);
  for (const std::string& path : c.inputs) {
    const auto t0 = std::chrono::steady_clock::now();
    Tensor img = colour_channels(read_image(path));
    Tensor up = super_resolve(model, img, TileOptions{c.tile, -1});
    std::string name = std::filesystem::path(path).stem().string() + fmt::format("_x{}.png", r);
    std::string dest = (std::filesystem::path(c.out) / name).string();
    write_png(dest, up);
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    fmt::print("{} ({}x{}) -> {} ({}x{})  {:.2f} s\n", path, img.size(2), img.size(1), dest, up.size(2),
               up.size(1), s);
  }
  return 0;
}

}  // namespace convgrad::upsample
