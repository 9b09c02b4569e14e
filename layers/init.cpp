#include "layers/init.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/factory.h"
#include "layers/module.h"

namespace convgrad::init {

namespace {

// Writes the values `produce(values)` fills in into `t` in row-major order, whatever its strides.
template <class F>
const Tensor& fill(const Tensor& t, const char* op, F&& produce) {
  CONVGRAD_CHECK(t.defined(), "init::{}: the tensor is undefined", op);
  CONVGRAD_CHECK(t.dtype() == DType::Float32, "init::{}: expected a float32 tensor, got {} (shape {})", op,
                 dtype_name(t.dtype()), shape_str(t.shape()));
  std::vector<float> values(static_cast<size_t>(t.numel()));
  produce(values);
  detail::copy_values(t, from_vector(values, t.shape()), op);
  return t;
}

int64_t fan(const Tensor& t, FanMode mode) {
  auto [fan_in, fan_out] = calculate_fan_in_and_fan_out(t);
  return mode == FanMode::FanIn ? fan_in : fan_out;
}

}  // namespace

double calculate_gain(Nonlinearity nonlinearity, double param) {
  switch (nonlinearity) {
    case Nonlinearity::Linear:
    case Nonlinearity::Conv:
    case Nonlinearity::Sigmoid:
      return 1.0;
    case Nonlinearity::Tanh:
      return 5.0 / 3.0;
    case Nonlinearity::ReLU:
      return std::sqrt(2.0);
    case Nonlinearity::LeakyReLU:
      return std::sqrt(2.0 / (1.0 + param * param));
  }
  fail("init::calculate_gain: unknown nonlinearity");
}

std::pair<int64_t, int64_t> calculate_fan_in_and_fan_out(const Tensor& weight) {
  CONVGRAD_CHECK(
      weight.defined() && weight.dim() >= 2,
      "init::calculate_fan_in_and_fan_out: needs a tensor of at least 2 dims (a weight), got shape {}",
      weight.defined() ? shape_str(weight.shape()) : std::string("undefined"));
  int64_t receptive = 1;
  for (int64_t d = 2; d < weight.dim(); ++d) receptive *= weight.size(d);
  return {weight.size(1) * receptive, weight.size(0) * receptive};
}

const Tensor& uniform_(const Tensor& t, double lo, double hi, Generator& gen) {
  CONVGRAD_CHECK(lo <= hi, "init::uniform_: lower bound {} is above upper bound {}", lo, hi);
  return fill(t, "uniform_", [&](std::vector<float>& v) {
    gen.fill_uniform(v.data(), static_cast<int64_t>(v.size()), static_cast<float>(lo),
                     static_cast<float>(hi));
  });
}

const Tensor& normal_(const Tensor& t, double mean, double std, Generator& gen) {
  CONVGRAD_CHECK(std >= 0.0, "init::normal_: std must be >= 0, got {}", std);
  return fill(t, "normal_", [&](std::vector<float>& v) {
    gen.fill_normal(v.data(), static_cast<int64_t>(v.size()), static_cast<float>(mean),
                    static_cast<float>(std));
  });
}

const Tensor& constant_(const Tensor& t, double value) {
  return fill(t, "constant_",
              [&](std::vector<float>& v) { std::fill(v.begin(), v.end(), static_cast<float>(value)); });
}

const Tensor& zeros_(const Tensor& t) { return constant_(t, 0.0); }
const Tensor& ones_(const Tensor& t) { return constant_(t, 1.0); }

const Tensor& xavier_uniform_(const Tensor& t, double gain, Generator& gen) {
  auto [fan_in, fan_out] = calculate_fan_in_and_fan_out(t);
  double bound = gain * std::sqrt(6.0 / static_cast<double>(fan_in + fan_out));
  return uniform_(t, -bound, bound, gen);
}

const Tensor& xavier_normal_(const Tensor& t, double gain, Generator& gen) {
  auto [fan_in, fan_out] = calculate_fan_in_and_fan_out(t);
  return normal_(t, 0.0, gain * std::sqrt(2.0 / static_cast<double>(fan_in + fan_out)), gen);
}

const Tensor& kaiming_uniform_(const Tensor& t, double a, FanMode mode, Nonlinearity nonlinearity,
                               Generator& gen) {
  int64_t f = fan(t, mode);
  CONVGRAD_CHECK(f > 0, "init::kaiming_uniform_: zero fan for shape {}", shape_str(t.shape()));
  double bound = calculate_gain(nonlinearity, a) * std::sqrt(3.0 / static_cast<double>(f));
  return uniform_(t, -bound, bound, gen);
}

const Tensor& kaiming_normal_(const Tensor& t, double a, FanMode mode, Nonlinearity nonlinearity,
                              Generator& gen) {
  int64_t f = fan(t, mode);
  CONVGRAD_CHECK(f > 0, "init::kaiming_normal_: zero fan for shape {}", shape_str(t.shape()));
  return normal_(t, 0.0, calculate_gain(nonlinearity, a) / std::sqrt(static_cast<double>(f)), gen);
}

}  // namespace convgrad::init

namespace convgrad {

Tensor bilinear_kernel(int64_t in_channels, int64_t out_channels, int64_t kernel_size) {
  CONVGRAD_CHECK(in_channels > 0 && out_channels > 0 && kernel_size > 0,
                 "bilinear_kernel: in_channels ({}), out_channels ({}) and kernel_size ({}) must be positive",
                 in_channels, out_channels, kernel_size);
  int64_t k = kernel_size;
  double f = static_cast<double>((k + 1) / 2);
  double c = (k % 2 == 1) ? f - 1.0 : f - 0.5;
  Tensor w = zeros({in_channels, out_channels, k, k});
  float* p = w.data<float>();
  for (int64_t ch = 0; ch < std::min(in_channels, out_channels); ++ch)
    for (int64_t i = 0; i < k; ++i)
      for (int64_t j = 0; j < k; ++j)
        p[((ch * out_channels + ch) * k + i) * k + j] =
            static_cast<float>((1.0 - std::abs(static_cast<double>(i) - c) / f) *
                               (1.0 - std::abs(static_cast<double>(j) - c) / f));
  return w;
}

}  // namespace convgrad
