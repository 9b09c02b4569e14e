// The data of `upsample train` and `upsample eval`: low/high-resolution pairs made from a folder of
// photographs, and the training dataset of random aligned crops with dihedral augmentation.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "layers/data/dataset.h"

namespace convgrad::upsample {

/// One photograph as a super-resolution pair, in the model's channels (1: Y, 3: RGB).
struct SrPair {
  Tensor lr;         ///< (C, h, w): the low-resolution input
  Tensor hr;         ///< (C, scale*h, scale*w): the original, cropped to a multiple of scale
  std::string path;  ///< the file it came from
};

/// The degradation: `image` (C, H, W) in [0, 1] is cropped to a multiple of `scale` at its bottom and
/// right, downscaled by bicubic with antialiasing (PyTorch's antialias=True, like PIL and MATLAB's
/// imresize) and rounded to 8 bits, as a saved low-resolution file would be; then both are converted
/// to `channels` (to_channels).
SrPair make_pair(const Tensor& image, int64_t scale, int64_t channels, const std::string& path = "");

/// The image converted to `channels` (1: BT.601 Y, 3: RGB); grey counts as RGB with equal channels and
/// an alpha channel is dropped.
Tensor to_channels(const Tensor& image, int64_t channels);

/// Every image under `dir` (recursive, sorted; PNG, JPEG, uint8 .npy) as a pair. Unreadable files and
/// images whose low-resolution side would be smaller than `min_lr_side` are skipped with a warning on
/// stderr naming them; finding no usable image is an Error.
std::vector<SrPair> load_pairs(const std::string& dir, int64_t scale, int64_t channels,
                               int64_t min_lr_side = 1);

/// FSRCNN's data augmentation: `pairs` followed by, for every factor in (0, 1), a copy of each photo
/// downscaled by it (antialiased bicubic, rounded to 8 bits) made into a pair again as make_pair does,
/// in the pairs' own channels (a Y copy is not converted to Y a second time).
/// Copies whose low-resolution side would be smaller than `min_lr_side` are left out.
std::vector<SrPair> add_downscaled(std::vector<SrPair> pairs, const std::vector<double>& factors,
                                   int64_t scale, int64_t min_lr_side = 1);

/// Training samples: sample i is a random aligned crop (crop/scale low-resolution pixels, crop
/// high-resolution ones) of one pair, in one of the 8 dihedral orientations; the example's input is
/// the low-resolution crop, its target the high-resolution one. The pair is i % pairs.size(), or with
/// `by_area` the one that slot i % slots falls in, where each pair has as many slots as it holds
/// disjoint crops (so a big photo is sampled as often as its area says, as when every sub-image of
/// the set is cut out beforehand).
class SrCrops : public data::Dataset {
 public:
  /// `size` samples per epoch; `crop` must be a multiple of the pairs' scale.
  SrCrops(std::vector<SrPair> pairs, int64_t scale, int64_t crop, int64_t size, bool by_area = false);
  int64_t size() const override { return size_; }
  data::Example get(int64_t index, Generator& gen) const override;
  std::string describe(int64_t index) const override;

 private:
  size_t pair_of(int64_t index) const;

  std::vector<SrPair> pairs_;
  int64_t scale_, crop_, size_;
  std::vector<int64_t> slot_end_;  ///< with by_area: cumulative slot counts, one per pair
  data::Transform transform_;
};

}  // namespace convgrad::upsample
