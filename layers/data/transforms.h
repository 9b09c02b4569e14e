// Composable transforms, as torchvision.transforms: each is a small callable class turning an
// Example into a new one and converting to `Transform`. Random ones draw from the Generator they are
// handed (the DataLoader hands each sample its own, seeded from (seed, epoch, index)).
//
// Pairs: when an example has a target, geometric transforms move input and target together. The
// target may be `s` times larger than the input (super-resolution, s an integer taken from the
// shapes): a crop of the input at (top, left, h, w) takes the target at (s*top, s*left, s*h, s*w), so
// the two crops show the same scene. Value transforms (Normalize, ToGrayscale, RgbToY) change both.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <vector>

#include "layers/data/dataset.h"

namespace convgrad::data {

/// Runs transforms in order: Compose({RandomCrop(48), RandomDihedral()}).
class Compose {
 public:
  Compose(std::initializer_list<Transform> transforms);
  explicit Compose(std::vector<Transform> transforms);
  Example operator()(Example ex, Generator& gen) const;

 private:
  std::vector<Transform> transforms_;
};

/// A crop of height x width input pixels at a uniformly random position (target crop aligned).
class RandomCrop {
 public:
  explicit RandomCrop(int64_t size) : RandomCrop(size, size) {}
  RandomCrop(int64_t height, int64_t width);
  Example operator()(Example ex, Generator& gen) const;

 private:
  int64_t height_, width_;
};

/// The centred height x width crop of the input (target crop aligned); draws nothing.
class CenterCrop {
 public:
  explicit CenterCrop(int64_t size) : CenterCrop(size, size) {}
  CenterCrop(int64_t height, int64_t width);
  Example operator()(Example ex, Generator& gen) const;

 private:
  int64_t height_, width_;
};

/// Mirrors left-right with probability p.
class RandomHorizontalFlip {
 public:
  explicit RandomHorizontalFlip(double p = 0.5);
  Example operator()(Example ex, Generator& gen) const;

 private:
  double p_;
};

/// Mirrors top-bottom with probability p.
class RandomVerticalFlip {
 public:
  explicit RandomVerticalFlip(double p = 0.5);
  Example operator()(Example ex, Generator& gen) const;

 private:
  double p_;
};

/// 0, 1, 2 or 3 quarter turns (rot90), each with probability 1/4.
class RandomRotation90 {
 public:
  Example operator()(Example ex, Generator& gen) const;
};

/// One of the 8 symmetries of the square (dihedral, k uniform in [0, 8)): the flips and rotations
/// super-resolution papers augment with.
class RandomDihedral {
 public:
  Example operator()(Example ex, Generator& gen) const;
};

/// The fixed symmetry dihedral(.., k), k in [0, 8).
class Dihedral {
 public:
  explicit Dihedral(int64_t k);
  Example operator()(Example ex, Generator& gen) const;

 private:
  int64_t k_;
};

/// (x - mean[c]) / std[c] per channel of (C, H, W) images, as torchvision Normalize.
class Normalize {
 public:
  Normalize(std::vector<float> mean, std::vector<float> std);
  Example operator()(Example ex, Generator& gen) const;

 private:
  std::vector<float> mean_, std_;
};

/// RGB to ITU-R 601-2 luma (rgb_to_grayscale, as torchvision's Grayscale and PIL's convert("L")),
/// repeated to `num_output_channels` (1 or 3). A one-channel image is already grey and kept.
class ToGrayscale {
 public:
  explicit ToGrayscale(int64_t num_output_channels = 1);
  Example operator()(Example ex, Generator& gen) const;

 private:
  int64_t channels_;
};

/// RGB to the Y channel of BT.601 studio-swing YCbCr (rgb_to_y, MATLAB's rgb2ycbcr divided by 255):
/// (3, H, W) -> (1, H, W), values in [16/255, 235/255].
class RgbToY {
 public:
  Example operator()(Example ex, Generator& gen) const;
};

}  // namespace convgrad::data
