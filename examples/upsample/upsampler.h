// The x2 upsampler of the example and its fixed baselines (nearest, bilinear), all transposed convs.
#pragma once

#include <memory>
#include <vector>

#include "core/random.h"
#include "layers/conv.h"
#include "layers/module.h"

namespace convgrad::upsample {

/// How the learned model is built.
struct UpsamplerOptions {
  int64_t features = 32;  ///< channels of the two 3x3 feature convs
  int64_t up_kernel = 4;  ///< kernel of the learned x2 transposed conv: 4 (k % s == 0) or 3 (checkerboard)
  bool bilinear_skip =
      true;  ///< add a bilinear-initialised x2 transposed conv of the input (residual learning)
};

/// y = bilinear(replicate_pad1(x)) + up(relu(f2(relu(f1(x))))) for low-resolution x (N, 3, H, W) ->
/// (N, 3, 2H, 2W). `bilinear` is ConvTranspose2d(3, 3, k4, s2, p3) initialised to bilinear
/// interpolation (and trained); `up` learns the missing detail from 3x3 features computed at low
/// resolution. With the skip, `up` starts at zero, so the untrained model IS bilinear upsampling.
class Upsampler : public Module {
 public:
  explicit Upsampler(const UpsamplerOptions& options = {}, Generator& gen = default_generator());
  Tensor forward(const Tensor& x) override;
  std::string name() const override { return "Upsampler"; }

  std::shared_ptr<ConvTranspose2d> bilinear;  ///< null without bilinear_skip
  std::shared_ptr<Conv2d> f1, f2;
  std::shared_ptr<ConvTranspose2d> up;
};

/// Nearest-neighbour x2 upsampling written as a transposed conv: a 2x2 all-ones kernel, stride 2.
Tensor upsample_nearest_x2(const Tensor& x);
/// Pads one pixel on every side of (N, C, H, W) by repeating the edge rows and columns.
Tensor replicate_pad1(const Tensor& x);
/// Bilinear x2 upsampling as the untrained bilinear_kernel transposed conv (k4, s2). With
/// `replicate_edges` (the default) the input is edge-padded first and the conv crops 3 (p3): this equals
/// upsample_bilinear2d (align_corners=false) exactly. Without, it is the plain k4 s2 p1 conv, whose zero
/// padding gives the outermost rows and columns only 3/4 of the weight (a dark frame).
Tensor upsample_bilinear_tconv_x2(const Tensor& x, bool replicate_edges = true);
/// 2x2 average pooling: the degradation the model learns to undo.
Tensor downsample_x2(const Tensor& x);

/// Mean squared error of each image (N, C, H, W) against the reference, the output clipped to [0, 1]
/// first (as a display would show it).
std::vector<double> mse_per_image(const Tensor& output, const Tensor& reference);
/// Peak signal-to-noise ratio of values in [0, 1]: 10 log10(1 / mse) dB (+inf for mse 0).
double psnr_from_mse(double mse);
/// PSNR of a whole set: from the MSE over all its pixels (so easy, smooth images cannot dominate
/// the way a mean of per-image PSNRs lets them).
double psnr(const Tensor& output, const Tensor& reference);

}  // namespace convgrad::upsample
