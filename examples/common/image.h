// A tiny RGB raster for the examples' pictures: fill, lines, paste, nearest scaling.
#pragma once

#include <cstdint>
#include <vector>

namespace convgrad::example {

/// An 8-bit RGB colour.
struct Rgb {
  uint8_t r = 0, g = 0, b = 0;
  bool operator==(const Rgb&) const = default;
};

/// Blends `a` towards `b` by `t` in [0, 1].
Rgb mix(Rgb a, Rgb b, double t);

/// A row-major 8-bit RGB image; drawing outside the frame is clipped, never an error.
class Image {
 public:
  /// An empty 0x0 image.
  Image() = default;
  /// A `width` x `height` image filled with `fill`.
  Image(int width, int height, Rgb fill = {255, 255, 255});

  /// Width in pixels.
  int width() const { return width_; }
  /// Height in pixels.
  int height() const { return height_; }
  /// The pixel at (x, y); throws convgrad::Error outside the frame.
  Rgb get(int x, int y) const;
  /// Sets the pixel at (x, y); ignored outside the frame.
  void set(int x, int y, Rgb color);
  /// Interleaved RGB bytes, row by row (3 * width * height).
  const std::vector<uint8_t>& bytes() const { return bytes_; }

  /// Fills the rectangle with top-left (x, y); clipped to the frame.
  void fill_rect(int x, int y, int w, int h, Rgb color);
  /// A one-pixel rectangle outline.
  void draw_rect(int x, int y, int w, int h, Rgb color);
  /// A straight line between two points (sub-pixel ends), `thickness` pixels wide.
  void draw_line(double x0, double y0, double x1, double y1, Rgb color, int thickness = 1);
  /// Copies `src` with its top-left corner at (x, y); clipped to the frame.
  void paste(const Image& src, int x, int y);
  /// Each pixel becomes a `factor` x `factor` block (nearest neighbour), for small images.
  Image scaled(int factor) const;

 private:
  int width_ = 0, height_ = 0;
  std::vector<uint8_t> bytes_;
};

}  // namespace convgrad::example
