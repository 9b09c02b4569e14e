// Colour conversions: a 3x3 matrix plus an offset applied to every pixel of (C, H, W) / (N, C, H, W).
#include "core/image_ops.h"

#include <array>
#include <vector>

#include "core/error.h"
#include "core/factory.h"
#include "core/shape.h"

namespace convgrad {

namespace {

using Matrix = std::array<std::array<double, 3>, 3>;

// MATLAB's rgb2ycbcr for R, G, B in [0, 1], output in [0, 255]; divided by 255 below.
constexpr Matrix kYCbCr = {{{65.481, 128.553, 24.966}, {-37.797, -74.203, 112.0}, {112.0, -93.786, -18.214}}};
constexpr std::array<double, 3> kYCbCrOffset = {16.0, 128.0, 128.0};

void check_rgb(const Tensor& t, const char* op) {
  CONVGRAD_CHECK(t.defined(), "{}: the image tensor is undefined", op);
  CONVGRAD_CHECK(t.dtype() == DType::Float32 && (t.dim() == 3 || t.dim() == 4) && t.size(-3) == 3,
                 "{}: expected a float32 image (3, H, W) or batch (N, 3, H, W), got {} of shape {}", op,
                 t.dtype() == DType::Float32 ? "float32" : "int64", shape_str(t.shape()));
}

// out[k] = offset[k] + sum_j m[k][j] * in[j] for k < rows, per pixel; the channel dim becomes `rows`.
Tensor per_pixel(const Tensor& in, const Matrix& m, const std::array<double, 3>& offset, int rows) {
  Shape shape = in.shape();
  int64_t n = in.dim() == 4 ? shape[0] : 1, plane = shape[shape.size() - 1] * shape[shape.size() - 2];
  shape[shape.size() - 3] = rows;
  std::vector<float> v = in.to_vector();
  Tensor out = uninitialized(shape);
  float* dst = out.data<float>();
  for (int64_t i = 0; i < n; ++i) {
    const float* src = v.data() + i * 3 * plane;
    float* o = dst + i * rows * plane;
    for (int k = 0; k < rows; ++k)
      for (int64_t p = 0; p < plane; ++p)
        o[k * plane + p] = static_cast<float>(offset[k] + m[k][0] * src[p] + m[k][1] * src[plane + p] +
                                              m[k][2] * src[2 * plane + p]);
  }
  return out;
}

Matrix scaled(const Matrix& m, double s) {
  Matrix r{};
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 3; ++j) r[i][j] = m[i][j] * s;
  return r;
}

Matrix inverse(const Matrix& m) {
  double det = m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1]) -
               m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0]) +
               m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0]);
  Matrix r{};
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 3; ++j) {
      // Cofactor of (j, i), the transposed position.
      int r0 = (j + 1) % 3, r1 = (j + 2) % 3, c0 = (i + 1) % 3, c1 = (i + 2) % 3;
      r[i][j] = (m[r0][c0] * m[r1][c1] - m[r0][c1] * m[r1][c0]) / det;
    }
  return r;
}

}  // namespace

Tensor rgb_to_ycbcr(const Tensor& rgb) {
  check_rgb(rgb, "rgb_to_ycbcr");
  return per_pixel(rgb, scaled(kYCbCr, 1.0 / 255), {16.0 / 255, 128.0 / 255, 128.0 / 255}, 3);
}

Tensor ycbcr_to_rgb(const Tensor& ycbcr) {
  check_rgb(ycbcr, "ycbcr_to_rgb");
  // rgb = M^-1 (ycbcr - offset) = M^-1 ycbcr - M^-1 offset, with M and offset in [0, 1] units.
  Matrix inv = inverse(scaled(kYCbCr, 1.0 / 255));
  std::array<double, 3> offset{};
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 3; ++j) offset[i] -= inv[i][j] * kYCbCrOffset[j] / 255;
  return per_pixel(ycbcr, inv, offset, 3);
}

Tensor rgb_to_y(const Tensor& rgb) {
  check_rgb(rgb, "rgb_to_y");
  return per_pixel(rgb, scaled(kYCbCr, 1.0 / 255), {16.0 / 255, 0, 0}, 1);
}

Tensor rgb_to_grayscale(const Tensor& rgb) {
  check_rgb(rgb, "rgb_to_grayscale");
  return per_pixel(rgb, Matrix{{{0.299, 0.587, 0.114}, {}, {}}}, {0, 0, 0}, 1);
}

}  // namespace convgrad
