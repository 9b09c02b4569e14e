// TinyFCN: a small fully convolutional segmenter (d2l 14.11), layer for layer the model of the PyTorch
// reference that bench/compare times it against (torch_tinyfcn.py, read from its --shared folder), with
// PyTorch's layer names, so a PyTorch state_dict converted by tools/state_dict.py loads as is.
#pragma once

#include <memory>
#include <string>

#include "core/random.h"
#include "layers/conv.h"
#include "layers/module.h"

namespace convgrad::fcn {

/// Conv stack to 1/8 resolution, a 1x1 class-score conv, then learned upsampling back to 64x64.
///
///   x (N,3,64,64) -c1 3x3-> 16 -c2 3x3/2-> 32 @32x32 -c3 3x3/2-> 64 @16x16 -c4 3x3/2-> 64 @8x8
///   -score 1x1-> 4 @8x8 -up: ConvTranspose2d k16 s8 p4-> 4 @64x64 (ReLU after every 3x3 conv)
///
/// With `skips` (FCN-8s, d2l 14.11 exercise 4) the 8x8 scores go up x2 (k4 s2 p1), add the 1x1 scores
/// of c3 (16x16), up x2 again, add the scores of c2 (32x32), and a last x2 gives 64x64.
/// Every transposed conv has no bias and starts as exact bilinear interpolation (bilinear_kernel).
class TinyFCN : public Module {
 public:
  /// Builds the model; convolutions are drawn from `gen` with PyTorch's default initialisation.
  explicit TinyFCN(bool skips, Generator& gen = default_generator());
  /// Images (N, 3, H, W), H and W multiples of 8 -> per-pixel class logits (N, 4, H, W).
  Tensor forward(const Tensor& x) override;
  std::string name() const override { return "TinyFCN"; }
  /// True for the FCN-8s variant.
  bool skips() const { return skips_; }

  std::shared_ptr<Conv2d> c1, c2, c3, c4, score;
  std::shared_ptr<Conv2d> score3, score2;           ///< skips only
  std::shared_ptr<ConvTranspose2d> up2a, up2b, up;  ///< up2a, up2b: skips only

 private:
  bool skips_;
};

/// Sets a transposed convolution's weight to bilinear interpolation (its kernel must be square).
void init_bilinear(ConvTranspose2d& layer);

}  // namespace convgrad::fcn
