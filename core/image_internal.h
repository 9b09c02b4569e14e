// The codecs behind core/image_io.h (not part of the public API).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/tensor.h"

namespace convgrad::detail {

/// A PNG file's pixels as float32 (C, H, W): 8-bit samples / 255, 16-bit ones / 65535; palette and
/// tRNS expanded. `what` names the source in errors.
Tensor decode_png(std::string_view bytes, const std::string& what, int64_t max_pixels);
/// A JPEG file's pixels as float32 (C, H, W), C = 1 (grey) or 3 (RGB), samples / 255.
Tensor decode_jpeg(std::string_view bytes, const std::string& what, int64_t max_pixels);
/// An 8-bit PNG of `channels` (1 to 4) interleaved samples per pixel, rows top to bottom.
std::vector<uint8_t> encode_png_8bit(const uint8_t* pixels, int64_t height, int64_t width, int64_t channels,
                                     const std::string& what);

/// (C, H, W) float32 from interleaved H x W x C samples, each divided by `scale`.
template <class T>
Tensor planar_from_interleaved(const T* samples, int64_t height, int64_t width, int64_t channels,
                               float scale);

/// The error for an image whose header declares more than `max_pixels` pixels.
[[noreturn]] void fail_too_many_pixels(const std::string& what, int64_t width, int64_t height,
                                       int64_t max_pixels);

}  // namespace convgrad::detail
