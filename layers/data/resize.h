// Resizing transforms over the library's interpolate (autograd/ops_interpolate.h): Resize as
// torchvision's, and MakeLowResPair, the super-resolution recipe that turns an image into a
// (downscaled input, original target) pair.
#pragma once

#include <cstdint>

#include "autograd/ops_interpolate.h"
#include "layers/data/dataset.h"

namespace convgrad::data {

/// `image` (..., H, W) resized to height x width by interpolate: float32 any mode; int64 maps
/// (segmentation targets) nearest only. `antialias` applies to bilinear and bicubic downscaling.
Tensor resize(const Tensor& image, int64_t height, int64_t width,
              InterpolateMode mode = InterpolateMode::Bilinear, bool antialias = true,
              bool align_corners = false);

/// Resizes the input: Resize(size) matches the smaller edge to `size` keeping the aspect ratio (the
/// longer edge truncated, as torchvision computes it), Resize(h, w) gives exactly h x w. A target
/// `s` times larger is resized to s times the new input size. Defaults: bilinear, antialiased.
class Resize {
 public:
  explicit Resize(int64_t size);
  Resize(int64_t height, int64_t width);
  /// Nearest, NearestExact, Bilinear (default), Bicubic or Area.
  Resize& mode(InterpolateMode m) {
    mode_ = m;
    return *this;
  }
  /// Widen the bilinear / bicubic filter when downscaling (default true, as PIL and torchvision v2).
  Resize& antialias(bool a) {
    antialias_ = a;
    return *this;
  }
  /// Bilinear and bicubic: map corner pixel centres onto each other (default false).
  Resize& align_corners(bool a) {
    align_corners_ = a;
    return *this;
  }
  Example operator()(Example ex, Generator& gen) const;

 private:
  int64_t size_ = 0, height_ = 0, width_ = 0;  // size_ > 0: the smaller edge
  InterpolateMode mode_ = InterpolateMode::Bilinear;
  bool antialias_ = true, align_corners_ = false;
};

/// The usual super-resolution pair from one image: the target becomes the image (its height and
/// width cut down to multiples of `scale` from the bottom-right, as SR benchmarks' "modcrop"), the
/// input its downscale by `scale`: antialiased bicubic by default, clamped to [0, 1] as a stored
/// low-resolution PNG would be. Put it after the crop and flips: RandomCrop(96), RandomDihedral(),
/// MakeLowResPair(2) gives 48 x 48 inputs and 96 x 96 targets.
class MakeLowResPair {
 public:
  explicit MakeLowResPair(int64_t scale);
  /// Downscaling mode: Bicubic (default), Bilinear, Area, ...
  MakeLowResPair& mode(InterpolateMode m) {
    mode_ = m;
    return *this;
  }
  /// Antialiased bilinear / bicubic downscaling (default true, like MATLAB's imresize).
  MakeLowResPair& antialias(bool a) {
    antialias_ = a;
    return *this;
  }
  /// Clamp the input to [0, 1] (default true).
  MakeLowResPair& clamp(bool c) {
    clamp_ = c;
    return *this;
  }
  Example operator()(Example ex, Generator& gen) const;

 private:
  int64_t scale_;
  InterpolateMode mode_ = InterpolateMode::Bicubic;
  bool antialias_ = true, clamp_ = true;
};

}  // namespace convgrad::data
