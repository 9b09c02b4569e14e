// Images as tensors: PNG (libpng) and JPEG (libjpeg-turbo) files read into float32 (C, H, W) in [0, 1],
// and PNG files written from such tensors. See docs/image-io.md.
//
// Readers detect the format from the first bytes, never from the file name: PNG (\x89PNG), JPEG (FF D8 FF)
// and NumPy .npy (\x93NUMPY). Every missing, empty, truncated, corrupt or unsupported file throws
// convgrad::Error naming the file and the problem. An image whose header declares more pixels than
// ImageReadOptions::max_pixels (default kMaxImagePixels) is refused before any pixel memory is allocated.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/tensor.h"

namespace convgrad {

/// The channels read_image returns. Unchanged keeps the file's: 1 (grey), 2 (grey + alpha), 3 (RGB) or
/// 4 (RGBA); a palette image reads as RGB, or RGBA when it has transparency (tRNS).
/// The others convert as PIL's Image.convert does: Grey = 0.299 R + 0.587 G + 0.114 B (alpha dropped),
/// RGB = alpha dropped / grey copied to R, G and B, RGBA = RGB plus alpha (1 where the file has none).
enum class ImageMode { Unchanged, Grey, RGB, RGBA };

/// The largest image read_image accepts by default: 2^28 pixels (16384 x 16384), 3 GiB as float32 RGB.
inline constexpr int64_t kMaxImagePixels = int64_t{1} << 28;

/// Options of read_image / decode_image.
class ImageReadOptions {
 public:
  /// The channels to return (default Unchanged).
  ImageReadOptions& mode(ImageMode value) {
    mode_ = value;
    return *this;
  }
  ImageMode mode() const { return mode_; }
  /// Images with more than this many pixels (width * height) are refused before decoding (a guard
  /// against decompression bombs: a few hundred bytes can declare a gigapixel image).
  ImageReadOptions& max_pixels(int64_t value) {
    max_pixels_ = value;
    return *this;
  }
  int64_t max_pixels() const { return max_pixels_; }

 private:
  ImageMode mode_ = ImageMode::Unchanged;
  int64_t max_pixels_ = kMaxImagePixels;
};

/// Reads a PNG, JPEG or .npy file as a float32 (C, H, W) tensor.
/// PNG: every colour type and bit depth; 8-bit samples map to v / 255, 16-bit ones to v / 65535
/// (65535 -> 1.0 exactly). Palette and tRNS transparency expand to RGB(A); gamma chunks are ignored.
/// JPEG: baseline and progressive, grey and colour (YCbCr / RGB), as libjpeg-turbo decodes them (islow
/// IDCT, fancy upsampling, like PIL); CMYK / YCCK files are refused. Corrupt-data warnings from
/// libjpeg (a truncated file, for one) are errors rather than grey filler.
/// .npy: uint8 arrays of shape (H, W) or (H, W, C), C in {1, 3, 4} (the layout NumPy and PIL use for
/// images) are transposed to (C, H, W) and divided by 255; float32 arrays of shape (C, H, W), C in
/// {1, 2, 3, 4}, are returned as stored (no scaling, no range check). Other dtypes / shapes are refused.
Tensor read_image(const std::string& path, ImageReadOptions options = {});
/// read_image on the bytes of a file; `name` names the source in error messages.
Tensor decode_image(std::string_view bytes, const std::string& name, ImageReadOptions options = {});

/// Writes a float32 (C, H, W) image, C in {1, 2, 3, 4} (grey, grey + alpha, RGB, RGBA), or (H, W) grey,
/// as an 8-bit PNG: each value is clamped to [0, 1] and stored as floor(v * 255 + 0.5), so reading it
/// back returns the same values for inputs that are multiples of 1/255. NaN is an error.
/// Atomic: a temporary file is written, fsynced and renamed over `path`.
void write_png(const std::string& path, const Tensor& image);
/// The bytes of the PNG file write_png would write.
std::vector<uint8_t> encode_png(const Tensor& image);

}  // namespace convgrad
