// PNG files through libpng: write the examples' pictures, read them back (tests, --eval checks).
#pragma once

#include <string>

#include "image.h"

namespace convgrad::example {

/// Writes `image` as an 8-bit RGB PNG; throws convgrad::Error naming the path on failure
/// (missing folder, no permission, disk full).
void write_png(const std::string& path, const Image& image);
/// Reads any PNG libpng understands, converted to 8-bit RGB; throws convgrad::Error naming the
/// path when the file is missing or not a valid PNG.
Image read_png(const std::string& path);

}  // namespace convgrad::example
