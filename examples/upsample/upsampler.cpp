#include "upsampler.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "autograd/ops_math.h"
#include "autograd/ops_nn.h"
#include "autograd/ops_shape.h"
#include "core/factory.h"
#include "layers/init.h"

namespace convgrad::upsample {
namespace {

void copy_into(const Tensor& param, const Tensor& values) {
  std::vector<float> v = values.to_vector<float>();
  CONVGRAD_CHECK(static_cast<int64_t>(v.size()) == param.numel(),
                 "copy_into: {} values for a parameter of shape {}", v.size(), shape_str(param.shape()));
  std::copy(v.begin(), v.end(), param.data<float>());
}

}  // namespace

Upsampler::Upsampler(const UpsamplerOptions& o, Generator& gen) {
  CONVGRAD_CHECK(o.up_kernel == 3 || o.up_kernel == 4, "Upsampler: up_kernel must be 3 or 4, got {}",
                 o.up_kernel);
  if (o.bilinear_skip) {
    auto options = ConvTranspose2dOptions(3, 3, 4).stride(2).padding(3).bias(false);  // used on edge-padded x
    bilinear = register_module<ConvTranspose2d>("bilinear", options, gen);
    copy_into(bilinear->weight, bilinear_kernel(3, 3, 4));
  }
  f1 = register_module<Conv2d>("f1", Conv2dOptions(3, o.features, 3).padding(1), gen);
  f2 = register_module<Conv2d>("f2", Conv2dOptions(o.features, o.features, 3).padding(1), gen);
  // k4 s2 p1 doubles exactly; k3 s2 p1 needs output_padding 1 to reach 2H.
  auto up_options = ConvTranspose2dOptions(o.features, 3, o.up_kernel).stride(2).padding(1);
  if (o.up_kernel == 3) up_options.output_padding(1);
  up = register_module<ConvTranspose2d>("up", up_options, gen);
  if (o.bilinear_skip) {  // residual branch starts silent: the untrained model is exactly bilinear
    init::zeros_(up->weight);
    init::zeros_(up->bias);
  }
}

Tensor Upsampler::forward(const Tensor& x) {
  Tensor detail = up->forward(relu(f2->forward(relu(f1->forward(x)))));
  return bilinear ? bilinear->forward(replicate_pad1(x)) + detail : detail;
}

Tensor upsample_nearest_x2(const Tensor& x) {
  const int64_t c = x.size(1);
  std::vector<float> w(static_cast<size_t>(c * c * 4), 0.f);
  for (int64_t i = 0; i < c; ++i)
    for (int k = 0; k < 4; ++k) w[(i * c + i) * 4 + k] = 1.f;  // channel i -> i only
  return conv_transpose2d(x, from_vector(w, {c, c, 2, 2}), Tensor(), ConvTranspose2dFuncOptions().stride(2));
}

Tensor replicate_pad1(const Tensor& x) {
  const int64_t h = x.size(2), w = x.size(3);
  Tensor rows = concat({slice(x, 2, 0, 1), x, slice(x, 2, h - 1, h)}, 2);
  return concat({slice(rows, 3, 0, 1), rows, slice(rows, 3, w - 1, w)}, 3);
}

// [doc:bilinear_tconv]
Tensor upsample_bilinear_tconv_x2(const Tensor& x, bool replicate_edges) {
  const int64_t c = x.size(1);
  Tensor w = bilinear_kernel(c, c, 4);  // (c, c, 4, 4): channel i -> i, profile [1/4, 3/4, 3/4, 1/4]
  if (!replicate_edges)
    return conv_transpose2d(x, w, Tensor(), ConvTranspose2dFuncOptions().stride(2).padding(1));
  // (H + 2 - 1) * 2 - 2 * 3 + 4 = 2H: the extra edge pixels only feed the outermost output rows.
  return conv_transpose2d(replicate_pad1(x), w, Tensor(), ConvTranspose2dFuncOptions().stride(2).padding(3));
}
// [/doc]

Tensor downsample_x2(const Tensor& x) { return avg_pool2d(x, {2, 2}); }

std::vector<double> mse_per_image(const Tensor& output, const Tensor& reference) {
  CONVGRAD_CHECK(output.shape() == reference.shape() && output.dim() == 4,
                 "mse_per_image: expected two (N, C, H, W) tensors of one shape, got {} and {}",
                 shape_str(output.shape()), shape_str(reference.shape()));
  std::vector<float> a = output.to_vector<float>(), b = reference.to_vector<float>();
  const int64_t n = output.size(0), per = output.numel() / std::max<int64_t>(n, 1);
  std::vector<double> out;
  for (int64_t i = 0; i < n; ++i) {
    double se = 0;
    for (int64_t j = i * per; j < (i + 1) * per; ++j) {
      double d = std::clamp(a[j], 0.f, 1.f) - b[j];
      se += d * d;
    }
    out.push_back(se / static_cast<double>(per));
  }
  return out;
}

double psnr_from_mse(double mse) {
  return mse > 0 ? 10.0 * std::log10(1.0 / mse) : std::numeric_limits<double>::infinity();
}

double psnr(const Tensor& output, const Tensor& reference) {
  std::vector<double> m = mse_per_image(output, reference);
  double s = 0;
  for (double v : m) s += v;
  return psnr_from_mse(m.empty() ? 0.0 : s / static_cast<double>(m.size()));
}

}  // namespace convgrad::upsample
