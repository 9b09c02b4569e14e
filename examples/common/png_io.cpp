#include "png_io.h"

#include <png.h>

#include <cstring>
#include <vector>

#include "core/error.h"

namespace convgrad::example {

// libpng's "simplified API" (png_image, since 1.6) does the setjmp error handling for us and
// reports failures in png_image::message, which we turn into convgrad::Error.
void write_png(const std::string& path, const Image& image) {
  check(image.width() > 0 && image.height() > 0, "write_png: cannot write an empty {}x{} image to '{}'",
        image.width(), image.height(), path);
  png_image png;
  std::memset(&png, 0, sizeof(png));
  png.version = PNG_IMAGE_VERSION;
  png.width = static_cast<png_uint_32>(image.width());
  png.height = static_cast<png_uint_32>(image.height());
  png.format = PNG_FORMAT_RGB;
  int ok = png_image_write_to_file(&png, path.c_str(), 0, image.bytes().data(), 0, nullptr);
  std::string message = png.message;
  png_image_free(&png);
  check(ok != 0, "write_png: cannot write '{}': {} (does the folder exist and is it writable?)", path,
        message);
}

Image read_png(const std::string& path) {
  png_image png;
  std::memset(&png, 0, sizeof(png));
  png.version = PNG_IMAGE_VERSION;
  if (!png_image_begin_read_from_file(&png, path.c_str())) {
    std::string message = png.message;
    png_image_free(&png);
    fail("read_png: cannot read '{}': {}", path, message);
  }
  png.format = PNG_FORMAT_RGB;
  std::vector<uint8_t> buffer(PNG_IMAGE_SIZE(png));
  if (!png_image_finish_read(&png, nullptr, buffer.data(), 0, nullptr)) {
    std::string message = png.message;
    png_image_free(&png);
    fail("read_png: '{}' is not a valid PNG: {}", path, message);
  }
  Image image(static_cast<int>(png.width), static_cast<int>(png.height));
  for (int y = 0; y < image.height(); ++y)
    for (int x = 0; x < image.width(); ++x) {
      const uint8_t* p = &buffer[(static_cast<size_t>(y) * image.width() + x) * 3];
      image.set(x, y, {p[0], p[1], p[2]});
    }
  return image;
}

}  // namespace convgrad::example
