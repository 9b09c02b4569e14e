#include "image.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"

namespace convgrad::example {

Rgb mix(Rgb a, Rgb b, double t) {
  t = std::clamp(t, 0.0, 1.0);
  auto lerp = [t](uint8_t u, uint8_t v) {
    return static_cast<uint8_t>(std::lround(u + (static_cast<double>(v) - u) * t));
  };
  return {lerp(a.r, b.r), lerp(a.g, b.g), lerp(a.b, b.b)};
}

Image::Image(int width, int height, Rgb fill) : width_(width), height_(height) {
  CONVGRAD_CHECK(width >= 0 && height >= 0, "Image: negative size {}x{}", width, height);
  bytes_.resize(static_cast<size_t>(width) * height * 3);
  for (size_t i = 0; i < bytes_.size(); i += 3) {
    bytes_[i] = fill.r;
    bytes_[i + 1] = fill.g;
    bytes_[i + 2] = fill.b;
  }
}

Rgb Image::get(int x, int y) const {
  CONVGRAD_CHECK(x >= 0 && y >= 0 && x < width_ && y < height_,
                 "Image::get: ({}, {}) is outside the {}x{} image", x, y, width_, height_);
  const uint8_t* p = &bytes_[(static_cast<size_t>(y) * width_ + x) * 3];
  return {p[0], p[1], p[2]};
}

void Image::set(int x, int y, Rgb color) {
  if (x < 0 || y < 0 || x >= width_ || y >= height_) return;
  uint8_t* p = &bytes_[(static_cast<size_t>(y) * width_ + x) * 3];
  p[0] = color.r;
  p[1] = color.g;
  p[2] = color.b;
}

void Image::fill_rect(int x, int y, int w, int h, Rgb color) {
  int x0 = std::max(x, 0), y0 = std::max(y, 0);
  int x1 = std::min(x + w, width_), y1 = std::min(y + h, height_);
  for (int yy = y0; yy < y1; ++yy)
    for (int xx = x0; xx < x1; ++xx) set(xx, yy, color);
}

void Image::draw_rect(int x, int y, int w, int h, Rgb color) {
  fill_rect(x, y, w, 1, color);
  fill_rect(x, y + h - 1, w, 1, color);
  fill_rect(x, y, 1, h, color);
  fill_rect(x + w - 1, y, 1, h, color);
}

void Image::draw_line(double x0, double y0, double x1, double y1, Rgb color, int thickness) {
  // Walk the longer axis one pixel at a time and stamp a small square: simple and gap-free.
  double dx = x1 - x0, dy = y1 - y0;
  int steps = static_cast<int>(std::ceil(std::max(std::abs(dx), std::abs(dy))));
  int lo = -(thickness - 1) / 2, hi = thickness / 2;
  for (int i = 0; i <= steps; ++i) {
    double t = steps == 0 ? 0.0 : static_cast<double>(i) / steps;
    int px = static_cast<int>(std::lround(x0 + dx * t));
    int py = static_cast<int>(std::lround(y0 + dy * t));
    for (int oy = lo; oy <= hi; ++oy)
      for (int ox = lo; ox <= hi; ++ox) set(px + ox, py + oy, color);
  }
}

void Image::paste(const Image& src, int x, int y) {
  for (int yy = 0; yy < src.height(); ++yy)
    for (int xx = 0; xx < src.width(); ++xx) set(x + xx, y + yy, src.get(xx, yy));
}

Image Image::scaled(int factor) const {
  CONVGRAD_CHECK(factor >= 1, "Image::scaled: factor must be >= 1, got {}", factor);
  Image out(width_ * factor, height_ * factor);
  for (int y = 0; y < out.height(); ++y)
    for (int x = 0; x < out.width(); ++x) out.set(x, y, get(x / factor, y / factor));
  return out;
}

}  // namespace convgrad::example
