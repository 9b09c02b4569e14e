// Synthetic RGB test images for the x2 super-resolution example: flat shapes, smooth gradients, stripes.
#pragma once

#include <cstdint>

#include "core/random.h"
#include "core/tensor.h"

namespace convgrad::upsample {

/// The three kinds of picture; image i of a set is of kind i % 3.
enum class ImageKind { Shapes, Gradient, Stripes };
/// "shapes", "gradient", "stripes".
const char* kind_name(ImageKind kind);

/// Draws one `size` x `size` image of `kind` into `chw` (3 * size * size floats in [0, 1]):
/// Shapes: 2-5 disks, squares and triangles with hard edges on a gently shaded background.
/// Gradient: a linear blend of two colours plus a soft radial highlight.
/// Stripes: a sinusoidal blend of two colours at a random angle, period 5-16 pixels.
void draw_image(Generator& gen, ImageKind kind, float* chw, int64_t size);

/// Images start..start+count-1 of the set (seed, stream) as (count, 3, size, size) float32; each image
/// has its own generator, so a set is the same in any batch split and on any thread count.
Tensor make_images(uint64_t seed, uint64_t stream, int64_t start, int64_t count, int64_t size = 64);

}  // namespace convgrad::upsample
