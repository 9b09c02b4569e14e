// read_image / write_png: format detection, .npy images, channel modes and the float <-> 8-bit mapping.
#include "core/image_io.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/error.h"
#include "core/factory.h"
#include "core/image_internal.h"
#include "core/npy.h"
#include "core/npy_internal.h"
#include "core/shape.h"

namespace convgrad {

namespace detail {

template <class T>
Tensor planar_from_interleaved(const T* samples, int64_t height, int64_t width, int64_t channels,
                               float scale) {
  Tensor out = uninitialized({channels, height, width});
  float* dst = out.data<float>();
  int64_t plane = height * width;
  for (int64_t p = 0; p < plane; ++p)
    for (int64_t c = 0; c < channels; ++c)
      dst[c * plane + p] = static_cast<float>(samples[p * channels + c]) / scale;
  return out;
}
template Tensor planar_from_interleaved(const uint8_t*, int64_t, int64_t, int64_t, float);
template Tensor planar_from_interleaved(const uint16_t*, int64_t, int64_t, int64_t, float);

void fail_too_many_pixels(const std::string& what, int64_t width, int64_t height, int64_t max_pixels) {
  fail(
      "{}: the image is {}x{} (WxH) = {} pixels, more than the limit of {}; raise "
      "ImageReadOptions().max_pixels(n) if the file is trusted",
      what, width, height, width * height, max_pixels);
}

}  // namespace detail

namespace {

// A .npy image: uint8 (H, W) / (H, W, C) scaled by 1/255, or float32 (C, H, W) as stored.
Tensor npy_image(std::string_view bytes, const std::string& what, int64_t max_pixels) {
  std::string descr = detail::npy_descr(bytes, what);
  Tensor t = parse_npy(bytes, what);
  const Shape& s = t.shape();
  if (descr == "|u1") {
    CONVGRAD_CHECK(s.size() == 2 || (s.size() == 3 && (s[2] == 1 || s[2] == 3 || s[2] == 4)),
                   "{}: a uint8 .npy image must have shape (H, W) or (H, W, C) with C in {{1, 3, 4}}, got {}",
                   what, shape_str(s));
    int64_t h = s[0], w = s[1], c = s.size() == 3 ? s[2] : 1;
    CONVGRAD_CHECK(h >= 1 && w >= 1, "{}: the image is empty (shape {})", what, shape_str(s));
    if (h * w > max_pixels) detail::fail_too_many_pixels(what, w, h, max_pixels);
    std::vector<uint8_t> samples(static_cast<size_t>(t.numel()));
    const int64_t* src = t.data<int64_t>();
    for (size_t i = 0; i < samples.size(); ++i) samples[i] = static_cast<uint8_t>(src[i]);
    return detail::planar_from_interleaved(samples.data(), h, w, c, 255.0f);
  }
  CONVGRAD_CHECK(descr == "<f4",
                 "{}: a .npy image must be uint8 (H, W[, C]) or float32 (C, H, W), got dtype '{}'", what,
                 descr);
  CONVGRAD_CHECK(s.size() == 3 && s[0] >= 1 && s[0] <= 4 && s[1] >= 1 && s[2] >= 1,
                 "{}: a float32 .npy image must have shape (C, H, W) with C in {{1, 2, 3, 4}}, got {}", what,
                 shape_str(s));
  if (s[1] * s[2] > max_pixels) detail::fail_too_many_pixels(what, s[2], s[1], max_pixels);
  return t;
}

// Channel conversion on (C, H, W), C in 1..4, as PIL's Image.convert.
Tensor convert(const Tensor& image, ImageMode mode) {
  int64_t c = image.size(0), plane = image.size(1) * image.size(2);
  bool alpha = c == 2 || c == 4, colour = c >= 3;
  int64_t want = mode == ImageMode::Grey ? 1 : mode == ImageMode::RGB ? 3 : 4;
  if (mode == ImageMode::Unchanged || want == c) return image;
  const float* src = image.data<float>();
  Tensor out = uninitialized({want, image.size(1), image.size(2)});
  float* dst = out.data<float>();
  for (int64_t p = 0; p < plane; ++p) {
    float r = src[p], g = colour ? src[plane + p] : r, b = colour ? src[2 * plane + p] : r;
    float a = alpha ? src[(c - 1) * plane + p] : 1.0f;
    if (want == 1) {
      dst[p] = colour ? 0.299f * r + 0.587f * g + 0.114f * b : r;
      continue;
    }
    dst[p] = r, dst[plane + p] = g, dst[2 * plane + p] = b;
    if (want == 4) dst[3 * plane + p] = a;
  }
  return out;
}

}  // namespace

Tensor decode_image(std::string_view bytes, const std::string& name, ImageReadOptions options) {
  std::string what = fmt::format("read_image: '{}'", name);
  CONVGRAD_CHECK(options.max_pixels() >= 1, "read_image: max_pixels must be positive, got {}",
                 options.max_pixels());
  CONVGRAD_CHECK(!bytes.empty(), "{}: the file is empty", what);
  auto starts_with = [&](std::string_view magic) { return bytes.substr(0, magic.size()) == magic; };
  Tensor image;
  if (starts_with("\x89PNG\r\n\x1a\n")) {
    image = detail::decode_png(bytes, what, options.max_pixels());
  } else if (starts_with("\xff\xd8\xff")) {
    image = detail::decode_jpeg(bytes, what, options.max_pixels());
  } else if (starts_with("\x93NUMPY")) {
    image = npy_image(bytes, what, options.max_pixels());
  } else {
    std::string head;
    for (size_t i = 0; i < std::min<size_t>(bytes.size(), 8); ++i)
      head += fmt::format("{}{:02x}", i ? " " : "", static_cast<unsigned char>(bytes[i]));
    fail(
        "{}: not a PNG, JPEG or .npy file (it starts with bytes {}); the format is detected from the "
        "content, "
        "not the name",
        what, head);
  }
  return convert(image, options.mode());
}

Tensor read_image(const std::string& path, ImageReadOptions options) {
  return decode_image(detail::read_file(path, "read_image"), path, options);
}

std::vector<uint8_t> encode_png(const Tensor& image) {
  CONVGRAD_CHECK(image.defined(), "encode_png: the image tensor is undefined");
  CONVGRAD_CHECK(image.dtype() == DType::Float32,
                 "encode_png: expected a float32 image, got an int64 tensor of shape {}",
                 shape_str(image.shape()));
  const Shape& s = image.shape();
  CONVGRAD_CHECK(
      s.size() == 2 || (s.size() == 3 && s[0] >= 1 && s[0] <= 4),
      "encode_png: expected an image of shape (C, H, W) with C in {{1, 2, 3, 4}} or (H, W), got {}",
      shape_str(s));
  int64_t c = s.size() == 3 ? s[0] : 1, h = s[s.size() - 2], w = s[s.size() - 1];
  CONVGRAD_CHECK(h >= 1 && w >= 1, "encode_png: cannot encode an empty image of shape {}", shape_str(s));
  std::vector<float> v = image.to_vector<float>();
  std::vector<uint8_t> pixels(v.size());
  int64_t plane = h * w;
  for (int64_t ch = 0; ch < c; ++ch)
    for (int64_t p = 0; p < plane; ++p) {
      float x = v[ch * plane + p];
      if (std::isnan(x))
        fail("encode_png: the image of shape {} holds NaN at channel {}, row {}, column {}; PNG has no NaN",
             shape_str(s), ch, p / w, p % w);
      x = std::min(1.0f, std::max(0.0f, x));
      pixels[p * c + ch] = static_cast<uint8_t>(std::floor(x * 255.0f + 0.5f));
    }
  return detail::encode_png_8bit(pixels.data(), h, w, c, "encode_png");
}

void write_png(const std::string& path, const Tensor& image) {
  std::vector<uint8_t> bytes;
  try {
    bytes = encode_png(image);
  } catch (const Error& e) {
    fail("write_png: '{}': {}", path, e.what());
  }
  detail::write_file_atomic(path, std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()),
                            "write_png");
}

}  // namespace convgrad
