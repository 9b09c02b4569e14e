// Tensors to pictures: float images in [0, 1] and class-label maps with a fixed palette.
#pragma once

#include <vector>

#include "core/tensor.h"
#include "image.h"

namespace convgrad::example {

/// A float32 image (3, H, W) (RGB) or (1, H, W) / (H, W) (grey), values clipped to [0, 1].
Image image_from_tensor(const Tensor& chw);
/// An int64 label map (H, W) painted with palette[label]; labels outside the palette are magenta.
Image image_from_labels(const Tensor& labels, const std::vector<Rgb>& palette);
/// A float32 (3, H, W) or (1, H, W) tensor with values in [0, 1] from an image (inverse of the above).
Tensor tensor_from_image(const Image& image, bool grey = false);

}  // namespace convgrad::example
