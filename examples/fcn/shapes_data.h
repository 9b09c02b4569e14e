// The synthetic segmentation data of the TinyFCN example: 64x64 images of 1-4 disks, squares and upward
// triangles on a noisy two-colour gradient, with a per-pixel class label (docs/fcn.md, "The data"). The
// recipe is the one of the PyTorch reference that bench/compare times against; the random numbers are
// convgrad's.
#pragma once

#include <cstdint>
#include <string>

#include "core/random.h"
#include "core/tensor.h"

namespace convgrad::fcn {

/// Classes: 0 background, 1 disk, 2 square, 3 triangle.
inline constexpr int64_t kClasses = 4;
/// Images are kImageSize x kImageSize.
inline constexpr int64_t kImageSize = 64;
/// "background", "disk", "square", "triangle".
const char* class_name(int64_t cls);

/// Draws one image into `image` (3 * 64 * 64 floats, channel-major, values in [0, 1]) and its labels
/// into `labels` (64 * 64 int64): a gradient between two random colours along a random angle,
/// 1-4 shapes of random class, radius 4-12 px and colour (later shapes cover earlier ones),
/// then Gaussian noise (sigma 0.05) and clipping to [0, 1].
void draw_shapes_image(Generator& gen, float* image, int64_t* labels);

/// A batch of images (N, 3, 64, 64) float32 and labels (N, 64, 64) int64.
struct Batch {
  Tensor images;
  Tensor labels;
};

/// A reproducible data set that stores nothing: image i is drawn from its own generator seeded by
/// (seed, stream, i), so any slice can be regenerated at once, in any order, on any thread count.
class ShapesDataset {
 public:
  /// `size` images of stream `stream` (use different streams for training and held-out sets).
  ShapesDataset(uint64_t seed, uint64_t stream, int64_t size);
  /// Number of images.
  int64_t size() const { return size_; }
  /// Images start, start+1, ..., start+count-1, wrapping around at size().
  Batch batch(int64_t start, int64_t count) const;
  /// The seed of image `index` (exposed for tests).
  uint64_t image_seed(int64_t index) const;

 private:
  uint64_t seed_, stream_;
  int64_t size_;
};

}  // namespace convgrad::fcn
