#include "sr_models.h"

#include "autograd/grad_mode.h"
#include "autograd/ops_interpolate.h"
#include "autograd/ops_math.h"
#include "core/random.h"
#include "layers/init.h"

namespace convgrad::upsample {

void validate(const SrConfig& c) {
  CONVGRAD_CHECK(c.arch == "fsrcnn" || c.arch == "espcn" || c.arch == "tconv",
                 "upsample: unknown model '{}'; expected fsrcnn, espcn or tconv", c.arch);
  CONVGRAD_CHECK(c.scale >= 2 && c.scale <= 4, "upsample: scale must be 2, 3 or 4, got {}", c.scale);
  CONVGRAD_CHECK(c.channels == 1 || c.channels == 3, "upsample: channels must be 1 (Y) or 3 (RGB), got {}",
                 c.channels);
  CONVGRAD_CHECK(c.d >= 1 && c.s >= 1 && c.m >= 0,
                 "upsample: model widths must be positive (d={}, s={}) and the mapping depth m >= 0 (m={})",
                 c.d, c.s, c.m);
}

SrConfig with_arch_defaults(SrConfig c) {
  if (c.arch == "fsrcnn") c.d = 56, c.s = 12, c.m = 4;
  if (c.arch == "espcn") c.d = 64, c.s = 32, c.m = 0;
  if (c.arch == "tconv") c.d = 32, c.s = 32, c.m = 0;
  return c;
}

Tensor SrModel::forward(const Tensor& x) {
  Tensor y = body(x);
  if (!config_.residual) return y;
  Tensor base;
  {
    NoGradGuard no_grad;  // the skip has no parameters: nothing to differentiate
    base = bicubic_upscale(x, config_.scale);
  }
  return y + base;
}

void SrModel::zero_if_residual(Module& last) {
  if (!config_.residual) return;
  for (Tensor& p : last.parameters()) init::zeros_(p);
}

FSRCNN::FSRCNN(const SrConfig& c, Generator& gen) : SrModel(c) {
  features = register_module<Sequential>("features");
  auto add = [&](int64_t in, int64_t out, int64_t k) {
    features->push_back(std::make_shared<Conv2d>(Conv2dOptions(in, out, k).padding(k / 2), gen));
    features->push_back(std::make_shared<PReLU>(PReLUOptions().num_parameters(out)));
  };
  add(c.channels, c.d, 5);                             // feature extraction
  add(c.d, c.s, 1);                                    // shrinking
  for (int64_t i = 0; i < c.m; ++i) add(c.s, c.s, 3);  // mapping
  add(c.s, c.d, 1);                                    // expanding
  deconv = register_module(
      "deconv",
      std::make_shared<ConvTranspose2d>(
          ConvTranspose2dOptions(c.d, c.channels, 9).stride(c.scale).padding(4).output_padding(c.scale - 1),
          gen));
  // The paper's initialisation of the deconvolution, N(0, 0.001): small, but not zero, so the layers
  // below it get a gradient from the first step (a zero layer would keep the model at bicubic longer).
  if (c.residual) {
    Tensor w = randn(deconv->weight.shape(), gen) * 0.001f;
    detail::copy_values(deconv->weight, w);
    init::zeros_(deconv->bias);
  }
}

Tensor FSRCNN::body(const Tensor& x) { return deconv->forward(features->forward(x)); }

// conv5x5 (2) + m conv3x3 (m) + the 9-tap transposed conv (ceil(4 / scale) input pixels each side),
// one more for the phase of the output pixel, and never less than the bicubic skip's 2 + 1.
int64_t FSRCNN::halo() const {
  const SrConfig& c = config();
  return std::max<int64_t>(2 + c.m + (4 + c.scale - 1) / c.scale + 1, 3);
}

ESPCN::ESPCN(const SrConfig& c, Generator& gen) : SrModel(c) {
  conv1 = register_module<Conv2d>("conv1", Conv2dOptions(c.channels, c.d, 5).padding(2), gen);
  conv2 = register_module<Conv2d>("conv2", Conv2dOptions(c.d, c.s, 3).padding(1), gen);
  conv3 = register_module(
      "conv3",
      std::make_shared<Conv2d>(Conv2dOptions(c.s, c.channels * c.scale * c.scale, 3).padding(1), gen));
  shuffle = register_module<PixelShuffle>("shuffle", c.scale);
  zero_if_residual(*conv3);
}

Tensor ESPCN::body(const Tensor& x) {
  return shuffle->forward(conv3->forward(tanh(conv2->forward(tanh(conv1->forward(x))))));
}

int64_t ESPCN::halo() const { return 2 + 1 + 1 + 1; }

// (H - 1) * r - 2p + 2r + op = r * H needs 2p - op = r: p = ceil(r / 2), op = 2p - r.
TConvSR::TConvSR(const SrConfig& c, Generator& gen) : SrModel(c) {
  const int64_t r = c.scale, p = (r + 1) / 2;
  conv1 = register_module<Conv2d>("conv1", Conv2dOptions(c.channels, c.d, 3).padding(1), gen);
  conv2 = register_module<Conv2d>("conv2", Conv2dOptions(c.d, c.s, 3).padding(1), gen);
  up = register_module<ConvTranspose2d>(
      "up", ConvTranspose2dOptions(c.s, c.channels, 2 * r).stride(r).padding(p).output_padding(2 * p - r),
      gen);
  zero_if_residual(*up);
}

Tensor TConvSR::body(const Tensor& x) { return up->forward(relu(conv2->forward(relu(conv1->forward(x))))); }

int64_t TConvSR::halo() const { return 1 + 1 + 2 + 1; }

std::shared_ptr<SrModel> make_sr_model(const SrConfig& c, Generator& gen) {
  validate(c);
  if (c.arch == "fsrcnn") return std::make_shared<FSRCNN>(c, gen);
  if (c.arch == "espcn") return std::make_shared<ESPCN>(c, gen);
  return std::make_shared<TConvSR>(c, gen);
}

Tensor bicubic_upscale(const Tensor& x, int64_t scale) {
  return interpolate(x, InterpolateOptions()
                            .size(Pair{x.size(-2) * scale, x.size(-1) * scale})
                            .mode(InterpolateMode::Bicubic)
                            .align_corners(false));
}

Tensor bilinear_upscale(const Tensor& x, int64_t scale) {
  return interpolate(x, InterpolateOptions()
                            .size(Pair{x.size(-2) * scale, x.size(-1) * scale})
                            .mode(InterpolateMode::Bilinear)
                            .align_corners(false));
}

Tensor bicubic_downscale(const Tensor& x, int64_t scale) {
  return interpolate(x, InterpolateOptions()
                            .size(Pair{x.size(-2) / scale, x.size(-1) / scale})
                            .mode(InterpolateMode::Bicubic)
                            .align_corners(false)
                            .antialias(true));
}

}  // namespace convgrad::upsample
