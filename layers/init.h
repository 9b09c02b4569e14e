// Parameter initialisation, as torch.nn.init: each function fills a tensor in place (no autograd)
// and returns it. Every random one takes a Generator, so a seeded one reproduces the values.
#pragma once

#include <cstdint>
#include <utility>

#include "core/random.h"
#include "core/tensor.h"

namespace convgrad::init {

/// The nonlinearity that follows a layer, for calculate_gain.
enum class Nonlinearity { Linear, Conv, Sigmoid, Tanh, ReLU, LeakyReLU };
/// Which fan kaiming_* preserves: the forward pass's (FanIn) or the backward pass's (FanOut).
enum class FanMode { FanIn, FanOut };

/// PyTorch's recommended gain: 1 (Linear/Conv/Sigmoid), 5/3 (Tanh), sqrt(2) (ReLU),
/// sqrt(2 / (1 + param^2)) (LeakyReLU with negative slope `param`).
double calculate_gain(Nonlinearity nonlinearity, double param = 0.01);
/// (fan_in, fan_out) of a weight of 2+ dims: size(1) * receptive field and size(0) * receptive field.
/// For a ConvTranspose2d weight (in, out/groups, kh, kw) this gives fan_in = out/groups * kh * kw,
/// exactly as PyTorch computes it.
std::pair<int64_t, int64_t> calculate_fan_in_and_fan_out(const Tensor& weight);

/// Fills with U(lo, hi).
const Tensor& uniform_(const Tensor& t, double lo = 0.0, double hi = 1.0,
                       Generator& gen = default_generator());
/// Fills with N(mean, std^2).
const Tensor& normal_(const Tensor& t, double mean = 0.0, double std = 1.0,
                      Generator& gen = default_generator());
/// Fills with `value`.
const Tensor& constant_(const Tensor& t, double value);
/// Fills with 0.
const Tensor& zeros_(const Tensor& t);
/// Fills with 1.
const Tensor& ones_(const Tensor& t);
/// U(-b, b) with b = gain * sqrt(6 / (fan_in + fan_out)) (Glorot & Bengio).
const Tensor& xavier_uniform_(const Tensor& t, double gain = 1.0, Generator& gen = default_generator());
/// N(0, s^2) with s = gain * sqrt(2 / (fan_in + fan_out)).
const Tensor& xavier_normal_(const Tensor& t, double gain = 1.0, Generator& gen = default_generator());
/// U(-b, b) with b = gain * sqrt(3 / fan) (He et al.); `a` is the leaky-ReLU slope used for the gain.
/// PyTorch's default for Conv/Linear weights is kaiming_uniform_(w, sqrt(5)), i.e. b = 1 / sqrt(fan_in).
const Tensor& kaiming_uniform_(const Tensor& t, double a = 0.0, FanMode mode = FanMode::FanIn,
                               Nonlinearity nonlinearity = Nonlinearity::LeakyReLU,
                               Generator& gen = default_generator());
/// N(0, s^2) with s = gain / sqrt(fan).
const Tensor& kaiming_normal_(const Tensor& t, double a = 0.0, FanMode mode = FanMode::FanIn,
                              Nonlinearity nonlinearity = Nonlinearity::LeakyReLU,
                              Generator& gen = default_generator());

}  // namespace convgrad::init

namespace convgrad {

/// The transposed-convolution weight (in, out, k, k) that performs bilinear upsampling, as in d2l's FCN:
/// f = floor((k + 1) / 2), c = f - 1 (k odd) or f - 0.5 (k even),
/// filt[i][j] = (1 - |i - c| / f) * (1 - |j - c| / f), placed at weight[i][i] for every
/// i < min(in, out) (diagonal channel pairs only; every other pair is zero). k = 4 gives the 1-D
/// profile [0.25, 0.75, 0.75, 0.25]; use it with stride k/2 and padding k/4 to upsample by k/2.
Tensor bilinear_kernel(int64_t in_channels, int64_t out_channels, int64_t kernel_size);

}  // namespace convgrad
