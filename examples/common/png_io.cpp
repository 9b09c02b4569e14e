#include "png_io.h"

#include "core/image_io.h"
#include "tensor_image.h"

namespace convgrad::example {

// The raster's bytes b become b / 255 and back: write_png rounds v * 255 to the same byte.
void write_png(const std::string& path, const Image& image) {
  CONVGRAD_CHECK(image.width() > 0 && image.height() > 0,
                 "write_png: cannot write an empty {}x{} image to '{}'", image.width(), image.height(), path);
  convgrad::write_png(path, tensor_from_image(image));
}

Image read_png(const std::string& path) {
  return image_from_tensor(read_image(path, ImageReadOptions().mode(ImageMode::RGB)));
}

}  // namespace convgrad::example
