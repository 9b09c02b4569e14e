// Anti-aliased drawing and text on an Image through cairo: a Canvas opens cairo on a rectangle of the
// image; text uses cairo's "sans-serif" face (DejaVu Sans on Debian, fonts-dejavu-core).
#pragma once

#include <cairo.h>

#include <string_view>

#include "image.h"

namespace convgrad::example {

/// The examples' text size in pixels (the em size of the font).
constexpr double kTextSize = 12.0;

/// Cairo drawing on the rectangle (x, y, width, height) of an Image, clipped to the image. Cairo's
/// coordinates are the image's: (x, y) is not moved to the origin. The pixels are copied into a cairo
/// surface when the canvas is made and written back when it is destroyed, so the image must outlive
/// the canvas and should not be drawn on by other means meanwhile.
class Canvas {
 public:
  Canvas(Image& image, int x, int y, int width, int height);
  /// The whole image.
  explicit Canvas(Image& image) : Canvas(image, 0, 0, image.width(), image.height()) {}
  ~Canvas();
  Canvas(const Canvas&) = delete;
  Canvas& operator=(const Canvas&) = delete;

  /// The cairo context, for anything the helpers below do not cover.
  cairo_t* cr() const { return cr_; }
  /// Sets the colour of the next fill, stroke or text.
  void set_color(Rgb color);
  /// `text` with its top-left corner at (x, y), `size` pixels per em.
  void text(double x, double y, std::string_view text, Rgb color, double size = kTextSize);

 private:
  Image& image_;
  int x0_ = 0, y0_ = 0, w_ = 0, h_ = 0;
  cairo_surface_t* surface_ = nullptr;
  cairo_t* cr_ = nullptr;
};

/// Height of a line of text of `size` (the font's ascent plus descent), rounded up.
int text_height(double size = kTextSize);
/// Width in pixels of `text` at `size` (its advance), rounded up.
int text_width(std::string_view text, double size = kTextSize);
/// Draws `text` with its top-left corner at (x, y): anti-aliased, mixed case, any UTF-8 the font has.
void draw_text(Image& image, int x, int y, std::string_view text, Rgb color, double size = kTextSize);

}  // namespace convgrad::example
