// PNG files of the examples' pictures, through the library's write_png / read_image (core/image_io.h).
#pragma once

#include <string>

#include "image.h"

namespace convgrad::example {

/// Writes `image` as an 8-bit RGB PNG (atomically); throws convgrad::Error naming the path on failure
/// (missing folder, no permission, disk full).
void write_png(const std::string& path, const Image& image);
/// Reads a PNG or JPEG file as 8-bit RGB; throws convgrad::Error naming the path when the file is
/// missing or not a valid image.
Image read_png(const std::string& path);

}  // namespace convgrad::example
