// PNG through libpng's low-level API (the simplified png_image API reads 16-bit files only as linear
// light, applying a gamma curve; here samples stay as stored).
//
// libpng reports errors by longjmp to a setjmp point. A longjmp that skips a frame with a live C++
// object (std::vector, std::string) is undefined behaviour, so every function that calls setjmp here
// holds only trivially destructible locals and returns a status; the C++ code around them allocates,
// converts and throws. libpng frees its own memory in png_destroy_read_struct / png_destroy_write_struct.
#include <png.h>

#include <csetjmp>
#include <cstring>
#include <limits>

#include "core/error.h"
#include "core/image_internal.h"

namespace convgrad::detail {

namespace {

// State shared with libpng's callbacks: plain data only (it lives across longjmp).
struct PngRead {
  const unsigned char* data;
  size_t size;
  size_t pos;
  char message[256];
  png_uint_32 width, height;
  int channels, bit_depth;
  size_t rowbytes;
};

void copy_message(char (&dst)[256], const char* src) {
  std::strncpy(dst, src ? src : "unknown error", sizeof(dst) - 1);
  dst[sizeof(dst) - 1] = '\0';
}

void on_error(png_structp png, png_const_charp message) {
  copy_message(static_cast<PngRead*>(png_get_error_ptr(png))->message, message);
  png_longjmp(png, 1);
}

void on_warning(png_structp, png_const_charp) {}  // ancillary-chunk problems; the pixels are still right

void on_read(png_structp png, png_bytep out, size_t n) {
  auto* s = static_cast<PngRead*>(png_get_io_ptr(png));
  if (n > s->size - s->pos) png_error(png, "the file ends early (truncated PNG)");
  std::memcpy(out, s->data + s->pos, n);
  s->pos += n;
}

// Reads the header and sets the transforms: palette -> RGB, grey < 8 bits -> 8 bits, tRNS -> alpha,
// 16-bit samples kept and byte-swapped to the host's little-endian order.
bool read_header(png_structp png, png_infop info, PngRead* s) {
  if (setjmp(png_jmpbuf(png))) return false;
  png_set_read_fn(png, s, on_read);
  png_read_info(png, info);
  int colour = png_get_color_type(png, info);
  int depth = png_get_bit_depth(png, info);
  if (colour == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
  if (colour == PNG_COLOR_TYPE_GRAY && depth < 8) png_set_expand_gray_1_2_4_to_8(png);
  if (png_get_valid(png, info, PNG_INFO_tRNS)) png_set_tRNS_to_alpha(png);
  if (depth == 16) png_set_swap(png);
  png_set_interlace_handling(png);
  png_read_update_info(png, info);
  s->width = png_get_image_width(png, info);
  s->height = png_get_image_height(png, info);
  s->channels = png_get_channels(png, info);
  s->bit_depth = png_get_bit_depth(png, info);
  s->rowbytes = png_get_rowbytes(png, info);
  return true;
}

bool read_pixels(png_structp png, png_infop info, png_bytepp rows) {
  if (setjmp(png_jmpbuf(png))) return false;
  png_read_image(png, rows);
  png_read_end(png, info);
  return true;
}

// Owns the libpng read structs so that every exit path frees them.
struct ReadStructs {
  png_structp png = nullptr;
  png_infop info = nullptr;
  ~ReadStructs() { png_destroy_read_struct(&png, info ? &info : nullptr, nullptr); }
};

}  // namespace

Tensor decode_png(std::string_view bytes, const std::string& what, int64_t max_pixels) {
  PngRead s{};
  s.data = reinterpret_cast<const unsigned char*>(bytes.data());
  s.size = bytes.size();
  ReadStructs r;
  r.png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &s, on_error, on_warning);
  CONVGRAD_CHECK(r.png != nullptr, "{}: libpng could not allocate its reader", what);
  r.info = png_create_info_struct(r.png);
  CONVGRAD_CHECK(r.info != nullptr, "{}: libpng could not allocate its reader", what);
  if (!read_header(r.png, r.info, &s)) fail("{}: invalid PNG: {}", what, s.message);
  int64_t width = s.width, height = s.height;
  if (width * height > max_pixels) fail_too_many_pixels(what, width, height, max_pixels);
  int bytes_per_sample = s.bit_depth == 16 ? 2 : 1;
  CONVGRAD_CHECK((s.bit_depth == 8 || s.bit_depth == 16) && s.channels >= 1 && s.channels <= 4 &&
                     s.rowbytes == static_cast<size_t>(width * s.channels * bytes_per_sample),
                 "{}: unexpected PNG layout after expansion ({} channels of {} bits, {} bytes per row)", what,
                 s.channels, s.bit_depth, s.rowbytes);
  std::vector<unsigned char> pixels(s.rowbytes * static_cast<size_t>(height));
  std::vector<png_bytep> rows(static_cast<size_t>(height));
  for (int64_t y = 0; y < height; ++y) rows[y] = pixels.data() + static_cast<size_t>(y) * s.rowbytes;
  if (!read_pixels(r.png, r.info, rows.data())) fail("{}: invalid PNG: {}", what, s.message);
  if (s.bit_depth == 8) return planar_from_interleaved(pixels.data(), height, width, s.channels, 255.0f);
  std::vector<uint16_t> samples(pixels.size() / 2);
  std::memcpy(samples.data(), pixels.data(), pixels.size());
  return planar_from_interleaved(samples.data(), height, width, s.channels, 65535.0f);
}

namespace {

struct PngWrite {
  std::vector<uint8_t>* out;
  char message[256];
};

void on_write_error(png_structp png, png_const_charp message) {
  copy_message(static_cast<PngWrite*>(png_get_error_ptr(png))->message, message);
  png_longjmp(png, 1);
}

// Appends to the output vector. push_back may throw std::bad_alloc, which must not unwind through libpng's
// C frames: the callback catches it and turns it into a libpng error.
void on_write(png_structp png, png_bytep data, size_t n) {
  auto* s = static_cast<PngWrite*>(png_get_io_ptr(png));
  bool ok = true;
  try {
    s->out->insert(s->out->end(), data, data + n);
  } catch (...) {
    ok = false;
  }
  if (!ok) png_error(png, "out of memory while encoding");
}

void on_flush(png_structp) {}

bool write_all(png_structp png, png_infop info, PngWrite* s, png_uint_32 width, png_uint_32 height,
               int colour, png_bytepp rows) {
  if (setjmp(png_jmpbuf(png))) return false;
  png_set_write_fn(png, s, on_write, on_flush);
  png_set_IHDR(png, info, width, height, 8, colour, PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
               PNG_FILTER_TYPE_DEFAULT);
  png_write_info(png, info);
  png_write_image(png, rows);
  png_write_end(png, nullptr);
  return true;
}

struct WriteStructs {
  png_structp png = nullptr;
  png_infop info = nullptr;
  ~WriteStructs() { png_destroy_write_struct(&png, info ? &info : nullptr); }
};

}  // namespace

std::vector<uint8_t> encode_png_8bit(const uint8_t* pixels, int64_t height, int64_t width, int64_t channels,
                                     const std::string& what) {
  // PNG stores sizes as 31-bit integers.
  CONVGRAD_CHECK(height >= 1 && width >= 1 && height <= 0x7fffffff && width <= 0x7fffffff,
                 "{}: a PNG is between 1 and 2^31-1 pixels on each side, got {}x{} (HxW)", what, height,
                 width);
  static constexpr int kColour[] = {PNG_COLOR_TYPE_GRAY, PNG_COLOR_TYPE_GRAY_ALPHA, PNG_COLOR_TYPE_RGB,
                                    PNG_COLOR_TYPE_RGB_ALPHA};
  std::vector<uint8_t> out;
  PngWrite s{&out, {}};
  WriteStructs w;
  w.png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &s, on_write_error, on_warning);
  CONVGRAD_CHECK(w.png != nullptr, "{}: libpng could not allocate its writer", what);
  w.info = png_create_info_struct(w.png);
  CONVGRAD_CHECK(w.info != nullptr, "{}: libpng could not allocate its writer", what);
  std::vector<png_bytep> rows(static_cast<size_t>(height));
  size_t stride = static_cast<size_t>(width * channels);
  for (int64_t y = 0; y < height; ++y)
    rows[y] = const_cast<png_bytep>(pixels) + static_cast<size_t>(y) * stride;
  if (!write_all(w.png, w.info, &s, static_cast<png_uint_32>(width), static_cast<png_uint_32>(height),
                 kColour[channels - 1], rows.data()))
    fail("{}: PNG encoding failed: {}", what, s.message);
  return out;
}

}  // namespace convgrad::detail
