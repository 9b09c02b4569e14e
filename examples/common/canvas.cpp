#include "canvas.h"

#include <fontconfig/fontconfig.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "core/error.h"

namespace convgrad::example {
namespace {

// cairo and fontconfig keep their font caches for the life of the process. They are released at exit,
// once text was drawn, so that LeakSanitizer (the sanitizer build runs the examples' tests) sees no leak;
// no cairo object outlives a Canvas or a Measure, so none is alive then.
void release_font_caches_at_exit() {
  static const bool registered = [] {
    std::atexit([] {
      cairo_debug_reset_static_data();
      FcFini();
    });
    return true;
  }();
  (void)registered;
}

// Every context draws text the same way: the generic sans-serif face, grey-level anti-aliasing (no
// colour fringes: the pictures are viewed at any scale).
void select_font(cairo_t* cr, double size) {
  release_font_caches_at_exit();
  cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
  cairo_set_font_size(cr, size);
  cairo_font_options_t* options = cairo_font_options_create();
  cairo_font_options_set_antialias(options, CAIRO_ANTIALIAS_GRAY);
  cairo_set_font_options(cr, options);
  cairo_font_options_destroy(options);
}

// A context on a 1x1 surface, for measuring text.
struct Measure {
  cairo_surface_t* surface = cairo_image_surface_create(CAIRO_FORMAT_RGB24, 1, 1);
  cairo_t* cr = cairo_create(surface);
  explicit Measure(double size) { select_font(cr, size); }
  ~Measure() {
    cairo_destroy(cr);
    cairo_surface_destroy(surface);
  }
};

}  // namespace

Canvas::Canvas(Image& image, int x, int y, int width, int height) : image_(image) {
  x0_ = std::clamp(x, 0, image.width());
  y0_ = std::clamp(y, 0, image.height());
  w_ = std::clamp(x + width, 0, image.width()) - x0_;
  h_ = std::clamp(y + height, 0, image.height()) - y0_;
  // A rectangle outside the image still gets a (1x1, never written back) surface: drawing is clipped.
  surface_ = cairo_image_surface_create(CAIRO_FORMAT_RGB24, std::max(w_, 1), std::max(h_, 1));
  if (const cairo_status_t status = cairo_surface_status(surface_); status != CAIRO_STATUS_SUCCESS) {
    cairo_surface_destroy(surface_);
    fail("Canvas: cairo could not make a {}x{} surface: {}", w_, h_, cairo_status_to_string(status));
  }
  // RGB24 pixels are native-endian 32-bit words 0x00RRGGBB.
  unsigned char* data = cairo_image_surface_get_data(surface_);
  const int stride = cairo_image_surface_get_stride(surface_);
  for (int yy = 0; yy < h_; ++yy) {
    auto* row = reinterpret_cast<uint32_t*>(data + static_cast<size_t>(yy) * stride);
    for (int xx = 0; xx < w_; ++xx) {
      const Rgb c = image.get(x0_ + xx, y0_ + yy);
      row[xx] = (uint32_t(c.r) << 16) | (uint32_t(c.g) << 8) | c.b;
    }
  }
  cairo_surface_mark_dirty(surface_);
  cr_ = cairo_create(surface_);
  cairo_translate(cr_, -x0_, -y0_);
  select_font(cr_, kTextSize);
}

Canvas::~Canvas() {
  cairo_destroy(cr_);
  cairo_surface_flush(surface_);
  const unsigned char* data = cairo_image_surface_get_data(surface_);
  const int stride = cairo_image_surface_get_stride(surface_);
  for (int yy = 0; yy < h_; ++yy) {
    const auto* row = reinterpret_cast<const uint32_t*>(data + static_cast<size_t>(yy) * stride);
    for (int xx = 0; xx < w_; ++xx)
      image_.set(x0_ + xx, y0_ + yy, {uint8_t(row[xx] >> 16), uint8_t(row[xx] >> 8), uint8_t(row[xx])});
  }
  cairo_surface_destroy(surface_);
}

void Canvas::set_color(Rgb color) {
  cairo_set_source_rgb(cr_, color.r / 255.0, color.g / 255.0, color.b / 255.0);
}

void Canvas::text(double x, double y, std::string_view text, Rgb color, double size) {
  cairo_set_font_size(cr_, size);
  cairo_font_extents_t font;
  cairo_font_extents(cr_, &font);
  set_color(color);
  cairo_move_to(cr_, x, y + font.ascent);
  cairo_show_text(cr_, std::string(text).c_str());
  cairo_new_path(cr_);
}

int text_height(double size) {
  Measure m(size);
  cairo_font_extents_t font;
  cairo_font_extents(m.cr, &font);
  return static_cast<int>(std::ceil(font.ascent + font.descent));
}

int text_width(std::string_view text, double size) {
  if (text.empty()) return 0;
  Measure m(size);
  cairo_text_extents_t extents;
  cairo_text_extents(m.cr, std::string(text).c_str(), &extents);
  return static_cast<int>(std::ceil(extents.x_advance));
}

void draw_text(Image& image, int x, int y, std::string_view text, Rgb color, double size) {
  // Only the text's box (with a margin for glyphs that overhang their advance) goes through cairo.
  const int margin = static_cast<int>(std::ceil(size));
  Canvas canvas(image, x - margin, y - margin, text_width(text, size) + 2 * margin,
                text_height(size) + 2 * margin);
  canvas.text(x, y, text, color, size);
}

}  // namespace convgrad::example
