// Geometric image functions on the last two dims (H, W) of a tensor of any rank >= 2, float32 or
// int64, as torchvision.transforms.functional. Each returns a new contiguous tensor.
#pragma once

#include <cstdint>

#include "core/tensor.h"

namespace convgrad::data {

/// The window rows [top, top+height), columns [left, left+width); it must lie inside the image.
Tensor crop(const Tensor& image, int64_t top, int64_t left, int64_t height, int64_t width);
/// The centred window of height x width, placed as torchvision does (offsets rounded half to even).
Tensor center_crop(const Tensor& image, int64_t height, int64_t width);
/// Left-right mirror (torchvision hflip).
Tensor hflip(const Tensor& image);
/// Top-bottom mirror (torchvision vflip).
Tensor vflip(const Tensor& image);
/// `k` quarter turns counter-clockwise, as torch.rot90(image, k, dims=(-2, -1)); any integer k.
Tensor rot90(const Tensor& image, int64_t k = 1);
/// The k-th of the 8 symmetries of the square, k in [0, 8): rot90(image, k) for k < 4, and
/// rot90(hflip(image), k - 4) for k >= 4. k = 0 is the identity.
Tensor dihedral(const Tensor& image, int64_t k);
/// Undoes dihedral(.., k): dihedral_inverse(dihedral(x, k), k) == x (self-ensembling at test time).
Tensor dihedral_inverse(const Tensor& image, int64_t k);

}  // namespace convgrad::data
