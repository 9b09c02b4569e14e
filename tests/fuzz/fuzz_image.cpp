// libFuzzer target: the image decoders (core/image_io.h decode_image: PNG through libpng, JPEG through
// libjpeg-turbo, .npy). Any input must either decode or throw convgrad::Error; a decoded image must be a
// float32 (C, H, W) with C in 1..4 and, for PNG and JPEG, values in [0, 1]; it must survive
// encode_png -> decode_image to within half an 8-bit step. PNG inputs are also tried with their chunk
// CRCs repaired, so that mutations inside a chunk reach libpng's parsers instead of its CRC check.
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/factory.h"
#include "core/image_io.h"
#include "core/npy.h"
#include "fuzz_util.h"

using namespace convgrad;

namespace {

// Pixels are capped well below the library's default, so that a 16 KiB input declaring a large image
// stays under the fuzzer's allocation limit (-malloc_limit_mb) while every code path is still reached.
const ImageReadOptions kOptions = ImageReadOptions().max_pixels(int64_t{1} << 20);

uint32_t get_be(const std::string& b, size_t pos) {
  uint32_t v = 0;
  for (size_t k = 0; k < 4; ++k) v = v << 8 | static_cast<unsigned char>(b[pos + k]);
  return v;
}

// A copy of a PNG file whose chunks carry correct CRCs; stops at the first chunk that overruns the file.
std::string repair_png_crcs(std::string b) {
  size_t p = 8;
  while (p + 12 <= b.size()) {
    uint64_t len = get_be(b, p);
    if (p + 12 + len > b.size()) break;
    uint32_t crc = crc32(std::string_view(b).substr(p + 4, 4 + len));
    for (size_t k = 0; k < 4; ++k) b[p + 8 + len + k] = static_cast<char>((crc >> (24 - 8 * k)) & 0xff);
    p += 12 + len;
  }
  return b;
}

void check_one(std::string_view bytes) {
  Tensor t;
  try {
    t = decode_image(bytes, "fuzz", kOptions);
  } catch (const Error&) {
    return;
  }
  if (t.dtype() != DType::Float32 || t.dim() != 3 || t.size(0) < 1 || t.size(0) > 4) std::abort();
  if (t.size(1) * t.size(2) > kOptions.max_pixels()) std::abort();
  if (bytes.substr(0, 6) == "\x93NUMPY") return;  // float32 .npy images pass through unchecked
  for (float v : t.to_vector())
    if (!(v >= 0.0f && v <= 1.0f)) std::abort();
  std::vector<uint8_t> png = encode_png(t);
  Tensor back =
      decode_image(std::string_view(reinterpret_cast<const char*>(png.data()), png.size()), "round trip");
  if (back.shape() != t.shape()) std::abort();
  auto a = t.to_vector(), b = back.to_vector();
  for (size_t i = 0; i < a.size(); ++i)
    if (!(std::abs(a[i] - b[i]) <= 0.5f / 255 + 1e-6f)) std::abort();
}

std::string as_string(const std::vector<uint8_t>& v) { return std::string(v.begin(), v.end()); }

// A (C, H, W) ramp from 0 to 1.
Tensor ramp(int64_t c, int64_t h, int64_t w) {
  std::vector<float> v(static_cast<size_t>(c * h * w));
  for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<float>(i) / static_cast<float>(v.size() - 1);
  return from_vector(v, {c, h, w});
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  fuzz::write_seeds_if_asked([] {
    return std::vector<std::pair<std::string, std::string>>{
        {"grey_1x1.png", as_string(encode_png(full({1, 1, 1}, 0.5)))},
        {"grey_alpha_3x4.png", as_string(encode_png(ramp(2, 3, 4)))},
        {"rgb_2x3.png", as_string(encode_png(ramp(3, 2, 3)))},
        {"rgba_2x2.png", as_string(encode_png(ramp(4, 2, 2)))},
    };
  });
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string bytes(reinterpret_cast<const char*>(data), size);
  check_one(bytes);
  if (bytes.substr(0, 8) == "\x89PNG\r\n\x1a\n") {
    std::string repaired = repair_png_crcs(bytes);
    if (repaired != bytes) check_one(repaired);
  }
  return 0;
}
