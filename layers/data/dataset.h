// Datasets: a sample is an Example (an input image, an optional target image, an optional class
// label); a Dataset is anything with a size and a get(index, generator).
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "core/error.h"
#include "core/random.h"
#include "core/tensor.h"

namespace convgrad::data {

/// One sample. Classification: `input` (C, H, W) and `label`. Super-resolution and other
/// image-to-image tasks: `input` (low resolution) and `target` (high resolution). Transforms treat
/// `input` and `target` as one pair: a crop or a flip moves both the same way (see transforms.h).
struct Example {
  Tensor input;        ///< the image fed to the model, usually (C, H, W) float32
  Tensor target;       ///< the image the model should produce; undefined for classification
  int64_t label = -1;  ///< class index; -1 when the sample has none
  std::string path;    ///< the file it came from, empty for in-memory data (for messages)
};

/// A transform: maps an example to a new one, drawing every random choice from the generator.
/// Transforms never modify their argument's tensors in place (a cached image stays intact).
using Transform = std::function<Example(Example, Generator&)>;

/// Applies `transform` to a lone image (the example's input) and returns the transformed image.
Tensor apply(const Transform& transform, const Tensor& image, Generator& gen);

/// Thrown by Dataset::get when a sample must be left out (a bad file with BadFile::Skip); the
/// DataLoader drops the sample from its batch. Any other exception stops the epoch.
class SampleSkipped : public Error {
 public:
  using Error::Error;
};

/// A map-style dataset, as torch.utils.data.Dataset: `size()` samples, `get(i, gen)` the i-th.
/// `get` must be safe to call from several threads at once (DataLoader workers do).
class Dataset {
 public:
  virtual ~Dataset() = default;
  /// Number of samples.
  virtual int64_t size() const = 0;
  /// Sample `index` in [0, size()), its random transforms drawn from `gen`.
  virtual Example get(int64_t index, Generator& gen) const = 0;
  /// How messages name sample `index`: its file path, or "sample INDEX".
  virtual std::string describe(int64_t index) const;
};

/// Samples sliced from in-memory tensors along dim 0, as torch.utils.data.TensorDataset.
/// `inputs` (N, ...); `targets` either int64 (N,) class labels or (N, ...) target images.
class TensorDataset : public Dataset {
 public:
  /// Samples `inputs[i]`, with `targets[i]` as label (int64, 1-D) or target image (float32).
  explicit TensorDataset(Tensor inputs, Tensor targets = Tensor(), Transform transform = nullptr);
  int64_t size() const override { return inputs_.size(0); }
  Example get(int64_t index, Generator& gen) const override;

 private:
  Tensor inputs_, targets_;
  Transform transform_;
};

}  // namespace convgrad::data
