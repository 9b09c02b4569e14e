// The super-resolution models of `upsample train`: FSRCNN, ESPCN and a small transposed-conv model,
// each optionally predicting only the residual over bicubic upscaling.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "core/random.h"
#include "layers/activation.h"
#include "layers/conv.h"
#include "layers/module.h"
#include "layers/pixel_shuffle.h"
#include "layers/sequential.h"

namespace convgrad::upsample {

/// Everything needed to rebuild a model: what `upsample` stores as checkpoint metadata.
struct SrConfig {
  std::string arch = "fsrcnn";  ///< "fsrcnn", "espcn" or "tconv"
  int64_t scale = 2;            ///< upscaling factor, 2, 3 or 4
  int64_t channels = 1;         ///< image channels seen by the model: 1 (the Y channel) or 3 (RGB)
  bool residual = true;         ///< add bicubic upscaling of the input: the network learns the difference
  int64_t d = 56;               ///< FSRCNN: feature channels; ESPCN / tconv: channels of the first conv
  int64_t s = 12;               ///< FSRCNN: shrunk channels; ESPCN / tconv: channels of the second conv
  int64_t m = 4;                ///< FSRCNN: 3x3 mapping layers (unused by the others)
};

/// Checks arch, scale, channels and widths; throws convgrad::Error naming the bad field.
void validate(const SrConfig& config);
/// The config with the paper defaults of its architecture: FSRCNN d=56 s=12 m=4, ESPCN 64/32,
/// tconv 32/32 (the other fields are kept).
SrConfig with_arch_defaults(SrConfig config);

/// A super-resolution network: (N, C, H, W) -> (N, C, scale*H, scale*W).
class SrModel : public Module {
 public:
  explicit SrModel(const SrConfig& config) : config_(config) {}
  /// body(x), plus bicubic(x) when the config is residual.
  Tensor forward(const Tensor& x) override;
  /// The network without the bicubic skip.
  virtual Tensor body(const Tensor& x) = 0;
  /// Low-resolution pixels on each side that influence an output pixel (receptive-field radius,
  /// bicubic skip included): tiles overlapping by at least this much join without a seam.
  virtual int64_t halo() const = 0;
  const SrConfig& config() const { return config_; }

 protected:
  /// Zeroes the last layer when residual, so the untrained model is exactly bicubic upscaling.
  void zero_if_residual(Module& last);

 private:
  SrConfig config_;
};

/// FSRCNN (Dong, Loy, Tang 2016): conv5x5 C->d, 1x1 d->s, m x conv3x3 s->s, 1x1 s->d, PReLU (one slope
/// per channel) after each, then ConvTranspose2d(d, C, 9, stride=scale, padding=4,
/// output_padding=scale-1). All convs work at low resolution; only the last one upscales.
class FSRCNN : public SrModel {
 public:
  explicit FSRCNN(const SrConfig& config, Generator& gen = default_generator());
  Tensor body(const Tensor& x) override;
  int64_t halo() const override;
  std::string name() const override { return "FSRCNN"; }

  std::shared_ptr<Sequential> features;  ///< the convs and PReLUs at low resolution
  std::shared_ptr<ConvTranspose2d> deconv;
};

/// ESPCN (Shi et al. 2016): conv5x5 C->d, tanh, conv3x3 d->s, tanh, conv3x3 s->C*scale^2, then
/// PixelShuffle(scale) rearranges the scale^2 phases into the high-resolution image.
class ESPCN : public SrModel {
 public:
  explicit ESPCN(const SrConfig& config, Generator& gen = default_generator());
  Tensor body(const Tensor& x) override;
  int64_t halo() const override;
  std::string name() const override { return "ESPCN"; }

  std::shared_ptr<Conv2d> conv1, conv2, conv3;
  std::shared_ptr<PixelShuffle> shuffle;
};

/// A small learned upsampler: conv3x3 C->d, ReLU, conv3x3 d->s, ReLU, then
/// ConvTranspose2d(s, C, 2*scale, stride=scale) sized to exactly scale x the input.
class TConvSR : public SrModel {
 public:
  explicit TConvSR(const SrConfig& config, Generator& gen = default_generator());
  Tensor body(const Tensor& x) override;
  int64_t halo() const override;
  std::string name() const override { return "TConvSR"; }

  std::shared_ptr<Conv2d> conv1, conv2;
  std::shared_ptr<ConvTranspose2d> up;
};

/// Builds the model the config describes (validated first).
std::shared_ptr<SrModel> make_sr_model(const SrConfig& config, Generator& gen = default_generator());

/// Bicubic upscaling by an integer factor (PyTorch's bicubic, A = -0.75, align_corners=false).
Tensor bicubic_upscale(const Tensor& x, int64_t scale);
/// Bilinear upscaling by an integer factor (align_corners=false).
Tensor bilinear_upscale(const Tensor& x, int64_t scale);
/// Antialiased bicubic downscaling by an integer factor: how low-resolution inputs are made
/// (PyTorch's interpolate(..., mode="bicubic", antialias=True), like PIL's resize).
Tensor bicubic_downscale(const Tensor& x, int64_t scale);

}  // namespace convgrad::upsample
