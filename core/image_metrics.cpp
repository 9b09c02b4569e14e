// PSNR and SSIM in double precision on cropped copies of the images.
#include <cmath>
#include <limits>
#include <vector>

#include "core/error.h"
#include "core/image_ops.h"
#include "core/shape.h"

namespace convgrad {

namespace {

// The images to compare: n images of c planes h x w, border-cropped, as double; Y only when asked.
struct Planes {
  int64_t n = 0, c = 0, h = 0, w = 0;
  std::vector<double> v;
  const double* plane(int64_t i, int64_t k) const { return v.data() + (i * c + k) * h * w; }
};

Planes prepare(const Tensor& t, const char* op, int64_t border, bool y_channel, double range) {
  const Shape& s = t.shape();
  int64_t n = s.size() == 4 ? s[0] : 1, c = s.size() >= 3 ? s[s.size() - 3] : 1;
  int64_t h = s[s.size() - 2], w = s[s.size() - 1];
  std::vector<float> src = t.to_vector();
  Planes p{n, y_channel ? 1 : c, h - 2 * border, w - 2 * border, {}};
  p.v.resize(static_cast<size_t>(p.n * p.c * p.h * p.w));
  for (int64_t i = 0; i < n; ++i)
    for (int64_t y = 0; y < p.h; ++y)
      for (int64_t x = 0; x < p.w; ++x) {
        auto at = [&](int64_t k) {
          double v = src[((i * c + k) * h + y + border) * w + x + border];
          if (!std::isfinite(v))
            fail("{}: the images must be finite, found {} (image {}, channel {})", op, v, i, k);
          return v;
        };
        double* out = p.v.data() + (i * p.c * p.h + y) * p.w + x;
        if (y_channel) {  // rgb_to_y in [0, 1] units, scaled back by the data range
          *out = (16.0 + (65.481 * at(0) + 128.553 * at(1) + 24.966 * at(2)) / range) / 255.0 * range;
        } else {
          for (int64_t k = 0; k < c; ++k) out[k * p.h * p.w] = at(k);
        }
      }
  return p;
}

// Both images prepared after checking shapes, dtype and options.
std::pair<Planes, Planes> both(const Tensor& a, const Tensor& b, const char* op, int64_t border,
                               bool y_channel, double range) {
  CONVGRAD_CHECK(a.defined() && b.defined(), "{}: an image tensor is undefined", op);
  CONVGRAD_CHECK(a.dtype() == DType::Float32 && b.dtype() == DType::Float32, "{}: expected float32 images",
                 op);
  CONVGRAD_CHECK(a.shape() == b.shape(), "{}: the images must have the same shape, got {} and {}", op,
                 shape_str(a.shape()), shape_str(b.shape()));
  CONVGRAD_CHECK(a.dim() >= 2 && a.dim() <= 4,
                 "{}: expected images (H, W), (C, H, W) or a batch (N, C, H, W), got shape {}", op,
                 shape_str(a.shape()));
  CONVGRAD_CHECK(std::isfinite(range) && range > 0, "{}: data_range must be positive, got {}", op, range);
  CONVGRAD_CHECK(!y_channel || (a.dim() >= 3 && a.size(-3) == 3),
                 "{}: y_channel needs RGB images (3 channels), got shape {}", op, shape_str(a.shape()));
  CONVGRAD_CHECK(border >= 0 && 2 * border < a.size(-2) && 2 * border < a.size(-1),
                 "{}: a border of {} pixels leaves nothing of an image of shape {}", op, border,
                 shape_str(a.shape()));
  return {prepare(a, op, border, y_channel, range), prepare(b, op, border, y_channel, range)};
}

// The normalised 1-D Gaussian of scipy.ndimage.gaussian_filter (truncate = 3.5), as skimage uses.
std::vector<double> gaussian(double sigma) {
  int64_t r = static_cast<int64_t>(3.5 * sigma + 0.5);
  std::vector<double> g(static_cast<size_t>(2 * r + 1));
  double sum = 0;
  for (int64_t k = -r; k <= r; ++k) sum += g[k + r] = std::exp(-0.5 * (k / sigma) * (k / sigma));
  for (double& x : g) x /= sum;
  return g;
}

// Valid (unpadded) separable filtering of an h x w plane: (h - 2r) x (w - 2r).
std::vector<double> filter_valid(const std::vector<double>& in, int64_t h, int64_t w,
                                 const std::vector<double>& g) {
  int64_t k = static_cast<int64_t>(g.size()), oh = h - k + 1, ow = w - k + 1;
  std::vector<double> rows(static_cast<size_t>(h * ow)), out(static_cast<size_t>(oh * ow));
  for (int64_t y = 0; y < h; ++y)
    for (int64_t x = 0; x < ow; ++x) {
      double s = 0;
      for (int64_t j = 0; j < k; ++j) s += g[j] * in[y * w + x + j];
      rows[y * ow + x] = s;
    }
  for (int64_t y = 0; y < oh; ++y)
    for (int64_t x = 0; x < ow; ++x) {
      double s = 0;
      for (int64_t j = 0; j < k; ++j) s += g[j] * rows[(y + j) * ow + x];
      out[y * ow + x] = s;
    }
  return out;
}

double ssim_plane(const double* a, const double* b, int64_t h, int64_t w, const std::vector<double>& g,
                  double c1, double c2) {
  size_t n = static_cast<size_t>(h * w);
  std::vector<double> x(a, a + n), y(b, b + n), xx(n), yy(n), xy(n);
  for (size_t i = 0; i < n; ++i) xx[i] = x[i] * x[i], yy[i] = y[i] * y[i], xy[i] = x[i] * y[i];
  auto mx = filter_valid(x, h, w, g), my = filter_valid(y, h, w, g), mxx = filter_valid(xx, h, w, g);
  auto myy = filter_valid(yy, h, w, g), mxy = filter_valid(xy, h, w, g);
  double sum = 0;
  for (size_t i = 0; i < mx.size(); ++i) {
    double vx = mxx[i] - mx[i] * mx[i], vy = myy[i] - my[i] * my[i], cov = mxy[i] - mx[i] * my[i];
    sum +=
        (2 * mx[i] * my[i] + c1) * (2 * cov + c2) / ((mx[i] * mx[i] + my[i] * my[i] + c1) * (vx + vy + c2));
  }
  return sum / static_cast<double>(mx.size());
}

}  // namespace

double psnr(const Tensor& a, const Tensor& b, PsnrOptions options) {
  auto [pa, pb] = both(a, b, "psnr", options.border(), options.y_channel(), options.data_range());
  size_t per_image = static_cast<size_t>(pa.c * pa.h * pa.w);
  double total = 0;
  for (int64_t i = 0; i < pa.n; ++i) {
    double se = 0;
    for (size_t k = 0; k < per_image; ++k) {
      double d = pa.v[i * per_image + k] - pb.v[i * per_image + k];
      se += d * d;
    }
    double mse = se / static_cast<double>(per_image);
    total += mse == 0 ? std::numeric_limits<double>::infinity()
                      : 10.0 * std::log10(options.data_range() * options.data_range() / mse);
  }
  return total / static_cast<double>(pa.n);
}

double ssim(const Tensor& a, const Tensor& b, SsimOptions options) {
  CONVGRAD_CHECK(options.sigma() > 0 && options.sigma() <= 100, "ssim: sigma must be in (0, 100], got {}",
                 options.sigma());
  CONVGRAD_CHECK(options.k1() >= 0 && options.k2() >= 0,
                 "ssim: K1 and K2 must be non-negative, got {} and {}", options.k1(), options.k2());
  auto [pa, pb] = both(a, b, "ssim", options.border(), options.y_channel(), options.data_range());
  std::vector<double> g = gaussian(options.sigma());
  int64_t k = static_cast<int64_t>(g.size());
  CONVGRAD_CHECK(
      pa.h >= k && pa.w >= k,
      "ssim: the {}x{} Gaussian window (sigma {}) does not fit an image of {}x{} after a border crop of {}; "
      "use a smaller sigma or border",
      k, k, options.sigma(), pa.h, pa.w, options.border());
  double c1 = options.k1() * options.data_range(), c2 = options.k2() * options.data_range();
  c1 *= c1, c2 *= c2;
  double total = 0;
  for (int64_t i = 0; i < pa.n; ++i)
    for (int64_t ch = 0; ch < pa.c; ++ch)
      total += ssim_plane(pa.plane(i, ch), pb.plane(i, ch), pa.h, pa.w, g, c1, c2);
  return total / static_cast<double>(pa.n * pa.c);
}

}  // namespace convgrad
