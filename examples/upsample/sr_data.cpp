#include "sr_data.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "autograd/grad_mode.h"
#include "autograd/ops_interpolate.h"
#include "autograd/ops_shape.h"
#include "core/image_io.h"
#include "core/image_ops.h"
#include "layers/data/image_folder.h"
#include "layers/data/transforms.h"
#include "sr_models.h"

namespace convgrad::upsample {

Tensor to_channels(const Tensor& image, int64_t channels) {
  CONVGRAD_CHECK(image.dim() == 3 && image.size(0) >= 1 && image.size(0) <= 4,
                 "to_channels: expected an image (C, H, W) with 1 to 4 channels, got {}",
                 shape_str(image.shape()));
  const int64_t c = image.size(0);
  Tensor rgb = c >= 3 ? contiguous(slice(image, 0, 0, 3)) : contiguous(slice(image, 0, 0, 1));
  if (rgb.size(0) == 1) rgb = concat({rgb, rgb, rgb}, 0);
  // Grey images go through RGB too, so every Y value is on the one BT.601 scale.
  return channels == 1 ? rgb_to_y(rgb) : rgb;
}

namespace {

void round_to_8_bits(Tensor& t) {
  float* p = t.data<float>();
  for (int64_t i = 0; i < t.numel(); ++i) p[i] = std::round(std::clamp(p[i], 0.f, 1.f) * 255.f) / 255.f;
}

// The pair of `image` in its own channels: cropped to a multiple of the scale, downscaled, rounded.
SrPair degrade(const Tensor& image, int64_t scale, const std::string& path) {
  CONVGRAD_CHECK(image.dim() == 3, "make_pair: expected an image (C, H, W), got {}",
                 shape_str(image.shape()));
  const int64_t h = image.size(1) / scale * scale, w = image.size(2) / scale * scale;
  CONVGRAD_CHECK(h >= scale && w >= scale, "make_pair: '{}' ({}x{}) is smaller than the scale {}", path,
                 image.size(2), image.size(1), scale);
  NoGradGuard no_grad;
  Tensor hr = contiguous(slice(slice(image, 1, 0, h), 2, 0, w));
  Tensor lr = contiguous(squeeze(bicubic_downscale(unsqueeze(hr, 0), scale), 0));
  round_to_8_bits(lr);
  return {lr, hr, path};
}

}  // namespace

SrPair make_pair(const Tensor& image, int64_t scale, int64_t channels, const std::string& path) {
  SrPair p = degrade(image, scale, path);
  return {to_channels(p.lr, channels), to_channels(p.hr, channels), path};
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
      fmt::print(stderr, "upsample: skipping '{}' ({}x{}): smaller than {} pixels a side at 1/{} size\n",
                 ex.path, ex.input.size(2), ex.input.size(1), min_lr_side, scale);
      continue;
    }
    pairs.push_back(make_pair(ex.input, scale, channels, ex.path));
  }
  CONVGRAD_CHECK(!pairs.empty(),
                 "upsample: no usable image in '{}' (PNG, JPEG or uint8 .npy, at least {}x{} pixels)", dir,
                 min_lr_side * scale, min_lr_side * scale);
  return pairs;
}

std::vector<SrPair> add_downscaled(std::vector<SrPair> pairs, const std::vector<double>& factors,
                                   int64_t scale, int64_t min_lr_side) {
  const size_t n = pairs.size();
  NoGradGuard no_grad;
  for (double f : factors) {
    CONVGRAD_CHECK(f > 0 && f < 1, "add_downscaled: factors must lie in (0, 1), got {}", f);
    for (size_t i = 0; i < n; ++i) {
      const Tensor& hr = pairs[i].hr;
      const int64_t h = std::llround(static_cast<double>(hr.size(1)) * f),
                    w = std::llround(static_cast<double>(hr.size(2)) * f);
      if (h / scale < min_lr_side || w / scale < min_lr_side) continue;
      Tensor small = contiguous(squeeze(
          interpolate(unsqueeze(hr, 0),
                      InterpolateOptions().size({h, w}).mode(InterpolateMode::Bicubic).antialias(true)),
          0));
      round_to_8_bits(small);
      // The copy is already in the model's channels (Y or RGB): no second conversion.
      pairs.push_back(degrade(small, scale, fmt::format("{} x{}", pairs[i].path, f)));
    }
  }
  return pairs;
}

SrCrops::SrCrops(std::vector<SrPair> pairs, int64_t scale, int64_t crop, int64_t size, bool by_area)
    : pairs_(std::move(pairs)), scale_(scale), crop_(crop), size_(size) {
  CONVGRAD_CHECK(!pairs_.empty(), "SrCrops: no image pairs");
  CONVGRAD_CHECK(crop >= scale && crop % scale == 0,
                 "SrCrops: the crop ({}) must be a positive multiple of the scale ({})", crop, scale);
  CONVGRAD_CHECK(size >= 1, "SrCrops: size must be >= 1, got {}", size);
  transform_ = data::Compose({data::RandomCrop(crop / scale), data::RandomDihedral()});
  if (by_area) {
    const int64_t side = crop / scale;
    int64_t total = 0;
    for (const SrPair& p : pairs_) {
      total += std::max<int64_t>(1, (p.lr.size(1) / side) * (p.lr.size(2) / side));
      slot_end_.push_back(total);
    }
  }
}

size_t SrCrops::pair_of(int64_t index) const {
  if (slot_end_.empty()) return static_cast<size_t>(index % static_cast<int64_t>(pairs_.size()));
  const int64_t slot = index % slot_end_.back();
  return static_cast<size_t>(std::upper_bound(slot_end_.begin(), slot_end_.end(), slot) - slot_end_.begin());
}

data::Example SrCrops::get(int64_t index, Generator& gen) const {
  const SrPair& p = pairs_[pair_of(index)];
  data::Example ex;
  ex.input = p.lr;
  ex.target = p.hr;
  ex.path = p.path;
  return transform_(std::move(ex), gen);
}

std::string SrCrops::describe(int64_t index) const { return pairs_[pair_of(index)].path; }

}  // namespace convgrad::upsample
