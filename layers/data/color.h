// Colour transforms over core/image_ops.h: greyscale and the Y channel super-resolution papers
// measure PSNR on. Both change the input and the target.
#pragma once

#include <cstdint>

#include "layers/data/dataset.h"

namespace convgrad::data {

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
