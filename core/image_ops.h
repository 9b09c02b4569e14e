// Colour conversions and image-quality metrics on float32 image tensors (not differentiable: they read
// values and return new tensors or numbers, with no autograd history). See docs/image-io.md.
//
// Images are (C, H, W) or batches (N, C, H, W); colour functions need C = 3 (RGB) and values in [0, 1].
#pragma once

#include <cstdint>

#include "core/tensor.h"

namespace convgrad {

/// RGB -> YCbCr, ITU-R BT.601 "studio swing" as MATLAB's rgb2ycbcr, which super-resolution papers use,
/// divided by 255 so that the result is in [0, 1] like the input:
///   Y  = ( 16 +  65.481 R + 128.553 G +  24.966 B) / 255     in [16/255, 235/255]
///   Cb = (128 -  37.797 R -  74.203 G + 112.0   B) / 255     in [16/255, 240/255]
///   Cr = (128 + 112.0   R -  93.786 G -  18.214 B) / 255     in [16/255, 240/255]
/// with R, G, B in [0, 1]. Same shape as the input.
Tensor rgb_to_ycbcr(const Tensor& rgb);
/// The exact inverse of rgb_to_ycbcr (the same matrix inverted); values are not clamped.
Tensor ycbcr_to_rgb(const Tensor& ycbcr);
/// The Y channel of rgb_to_ycbcr alone: (..., 3, H, W) -> (..., 1, H, W).
Tensor rgb_to_y(const Tensor& rgb);
/// ITU-R 601-2 luma as torchvision's rgb_to_grayscale and PIL's convert("L"):
/// 0.299 R + 0.587 G + 0.114 B, (..., 3, H, W) -> (..., 1, H, W).
Tensor rgb_to_grayscale(const Tensor& rgb);

/// Options of psnr.
class PsnrOptions {
 public:
  /// The value of white (1 for [0, 1] images, 255 for [0, 255] ones); default 1.
  PsnrOptions& data_range(double value) {
    data_range_ = value;
    return *this;
  }
  double data_range() const { return data_range_; }
  /// Pixels cropped from each side of H and W before measuring (super-resolution papers crop `scale`).
  PsnrOptions& border(int64_t value) {
    border_ = value;
    return *this;
  }
  int64_t border() const { return border_; }
  /// Measure the Y channel of rgb_to_y (inputs scaled by 1 / data_range first) instead of all channels.
  PsnrOptions& y_channel(bool value) {
    y_channel_ = value;
    return *this;
  }
  bool y_channel() const { return y_channel_; }

 private:
  double data_range_ = 1.0;
  int64_t border_ = 0;
  bool y_channel_ = false;
};

/// Peak signal-to-noise ratio in dB: 10 log10(data_range^2 / MSE), the MSE over every channel and pixel
/// of one image (after the border crop); infinity when the images are equal. For a batch (N, C, H, W),
/// the mean of the N per-image values (the way test sets are reported).
double psnr(const Tensor& a, const Tensor& b, PsnrOptions options = {});

/// Options of ssim.
class SsimOptions {
 public:
  /// The value of white; sets the stabilising constants C1 = (K1 L)^2, C2 = (K2 L)^2. Default 1.
  SsimOptions& data_range(double value) {
    data_range_ = value;
    return *this;
  }
  double data_range() const { return data_range_; }
  /// Pixels cropped from each side of H and W before measuring.
  SsimOptions& border(int64_t value) {
    border_ = value;
    return *this;
  }
  int64_t border() const { return border_; }
  /// Measure the Y channel of rgb_to_y instead of averaging over the channels.
  SsimOptions& y_channel(bool value) {
    y_channel_ = value;
    return *this;
  }
  bool y_channel() const { return y_channel_; }
  /// Standard deviation of the Gaussian window (default 1.5; the window is 2 * round(3.5 sigma) + 1 wide).
  SsimOptions& sigma(double value) {
    sigma_ = value;
    return *this;
  }
  double sigma() const { return sigma_; }
  /// The constants K1 (default 0.01) and K2 (default 0.03).
  SsimOptions& k1(double value) {
    k1_ = value;
    return *this;
  }
  double k1() const { return k1_; }
  SsimOptions& k2(double value) {
    k2_ = value;
    return *this;
  }
  double k2() const { return k2_; }

 private:
  double data_range_ = 1.0, sigma_ = 1.5, k1_ = 0.01, k2_ = 0.03;
  int64_t border_ = 0;
  bool y_channel_ = false;
};

/// Structural similarity (Wang, Bovik, Sheikh, Simoncelli 2004) as the reference MATLAB ssim_index and
/// scikit-image's structural_similarity(gaussian_weights=True, sigma=1.5, use_sample_covariance=False):
/// local means, variances and covariance under a normalised Gaussian window (11 x 11 for sigma 1.5),
///   SSIM = (2 mu_a mu_b + C1)(2 cov_ab + C2) / ((mu_a^2 + mu_b^2 + C1)(var_a + var_b + C2)),
/// averaged over every window that fits inside the (cropped) image, no padding; then over the channels,
/// and for a batch over the images. The cropped image must be at least as large as the window.
double ssim(const Tensor& a, const Tensor& b, SsimOptions options = {});

}  // namespace convgrad
