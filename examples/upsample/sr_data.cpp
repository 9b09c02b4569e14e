#include "sr_data.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "autograd/grad_mode.h"
#include "autograd/ops_shape.h"
#include "core/image_io.h"
#include "core/image_ops.h"
#include "layers/data/image_folder.h"
#include "layers/data/transforms.h"
#include "sr_models.h"

namespace convgrad::upsample {

Tensor to_channels(const Tensor& image, int64_t channels) {
  check(image.dim() == 3 && image.size(0) >= 1 && image.size(0) <= 4,
        "to_channels: expected an image (C, H, W) with 1 to 4 channels, got {}", shape_str(image.shape()));
  const int64_t c = image.size(0);
  Tensor rgb = c >= 3 ? contiguous(slice(image, 0, 0, 3)) : contiguous(slice(image, 0, 0, 1));
  if (rgb.size(0) == 1) rgb = concat({rgb, rgb, rgb}, 0);
  // Grey images go through RGB too, so every Y value is on the one BT.601 scale.
  return channels == 1 ? rgb_to_y(rgb) : rgb;
}

SrPair make_pair(const Tensor& image, int64_t scale, int64_t channels, const std::string& path) {
  check(image.dim() == 3, "make_pair: expected an image (C, H, W), got {}", shape_str(image.shape()));
  const int64_t h = image.size(1) / scale * scale, w = image.size(2) / scale * scale;
  check(h >= scale && w >= scale, "make_pair: '{}' ({}x{}) is smaller than the scale {}", path, image.size(2),
        image.size(1), scale);
  NoGradGuard no_grad;
  Tensor hr = contiguous(slice(slice(image, 1, 0, h), 2, 0, w));
  Tensor lr = contiguous(squeeze(bicubic_downscale(unsqueeze(hr, 0), scale), 0));
  float* p = lr.data<float>();
  for (int64_t i = 0; i < lr.numel(); ++i) p[i] = std::round(std::clamp(p[i], 0.f, 1.f) * 255.f) / 255.f;
  return {to_channels(lr, channels), to_channels(hr, channels), path};
}

std::vector<SrPair> load_pairs(const std::string& dir, int64_t scale, int64_t channels, int64_t min_lr_side) {
  data::ImageFolder folder(dir, data::ImageFolderOptions()
                                    .class_folders(false)
                                    .on_bad_file(data::BadFile::Skip)
                                    .loader([](const std::string& path) { return read_image(path); }));
  std::vector<SrPair> pairs;
  Generator gen(0);
  for (int64_t i = 0; i < folder.size(); ++i) {
    data::Example ex;
    try {
      ex = folder.get(i, gen);
    } catch (const data::SampleSkipped&) {
      continue;  // the folder printed the warning
    }
    if (ex.input.size(1) / scale < min_lr_side || ex.input.size(2) / scale < min_lr_side) {
      fmt::print(stderr, "upsample: skipping '{}' ({}x{}): smaller than {} pixels a side at 1/{} size\n", ex.path,
                 ex.input.size(2), ex.input.size(1), min_lr_side, scale);
      continue;
    }
    pairs.push_back(make_pair(ex.input, scale, channels, ex.path));
  }
  check(!pairs.empty(), "upsample: no usable image in '{}' (PNG, JPEG or uint8 .npy, at least {}x{} pixels)", dir,
        min_lr_side * scale, min_lr_side * scale);
  return pairs;
}

SrCrops::SrCrops(std::vector<SrPair> pairs, int64_t scale, int64_t crop, int64_t size)
    : pairs_(std::move(pairs)), scale_(scale), crop_(crop), size_(size) {
  check(!pairs_.empty(), "SrCrops: no image pairs");
  check(crop >= scale && crop % scale == 0, "SrCrops: the crop ({}) must be a positive multiple of the scale ({})",
        crop, scale);
  check(size >= 1, "SrCrops: size must be >= 1, got {}", size);
  transform_ = data::Compose({data::RandomCrop(crop / scale), data::RandomDihedral()});
}

data::Example SrCrops::get(int64_t index, Generator& gen) const {
  const SrPair& p = pairs_[static_cast<size_t>(index % static_cast<int64_t>(pairs_.size()))];
  data::Example ex;
  ex.input = p.lr;
  ex.target = p.hr;
  ex.path = p.path;
  return transform_(std::move(ex), gen);
}

std::string SrCrops::describe(int64_t index) const {
  return pairs_[static_cast<size_t>(index % static_cast<int64_t>(pairs_.size()))].path;
}

}  // namespace convgrad::upsample
