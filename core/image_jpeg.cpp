// JPEG through libjpeg-turbo's libjpeg API.
//
// libjpeg's default error handler calls exit(); here error_exit records the message and longjmps back
// to a setjmp point. As in image_png.cpp, the functions that call setjmp hold only trivially
// destructible locals (a longjmp over a live C++ object is undefined behaviour) and return a status.
// Warnings about corrupt data (a truncated file, a bad Huffman code) are errors too: libjpeg would
// otherwise fill the missing part with grey and return a silently wrong image.
// clang-format off
#include <cstdio>  // jpeglib.h needs FILE and size_t declared first
#include <jpeglib.h>
// clang-format on

#include <csetjmp>
#include <cstring>

#include "core/error.h"
#include "core/image_internal.h"

namespace convgrad::detail {

namespace {

// Progressive files can hold any number of scans, each a full pass over the coefficients: a small file
// with many tiny scans takes minutes to decode. Real encoders write at most a few dozen.
constexpr int kMaxScans = 256;

struct JpegRead {
  jpeg_error_mgr err;  // first member: libjpeg passes &err, which is also the address of the struct
  jpeg_progress_mgr progress;
  jmp_buf jump;
  char message[JMSG_LENGTH_MAX + 64];
  int64_t max_pixels;
  bool too_big, cmyk;
};

void on_error_exit(j_common_ptr cinfo) {
  auto* s = reinterpret_cast<JpegRead*>(cinfo->err);
  (*cinfo->err->format_message)(cinfo, s->message);
  std::longjmp(s->jump, 1);
}

void on_message(j_common_ptr cinfo, int level) {
  if (level >= 0) return;  // trace messages
  on_error_exit(cinfo);    // warnings: corrupt data
}

void on_progress(j_common_ptr cinfo) {
  auto* d = reinterpret_cast<j_decompress_ptr>(cinfo);
  if (d->input_scan_number > kMaxScans) {
    auto* s = reinterpret_cast<JpegRead*>(cinfo->err);
    std::snprintf(s->message, sizeof(s->message), "more than %d progressive scans (a decoding-time bomb?)",
                  kMaxScans);
    std::longjmp(s->jump, 1);
  }
}

// Header, colour space and start of decompression; stops early (returning true) when the image is too big
// or CMYK, before libjpeg allocates anything proportional to the image.
bool start(jpeg_decompress_struct* cinfo, JpegRead* s, const unsigned char* data, unsigned long size) {
  if (setjmp(s->jump)) return false;
  jpeg_create_decompress(cinfo);
  jpeg_mem_src(cinfo, data, size);
  jpeg_read_header(cinfo, TRUE);
  if (static_cast<int64_t>(cinfo->image_width) * cinfo->image_height > s->max_pixels) {
    s->too_big = true;
    return true;
  }
  if (cinfo->jpeg_color_space == JCS_CMYK || cinfo->jpeg_color_space == JCS_YCCK) {
    s->cmyk = true;
    return true;
  }
  cinfo->out_color_space = cinfo->num_components == 1 ? JCS_GRAYSCALE : JCS_RGB;
  cinfo->progress = &s->progress;
  jpeg_start_decompress(cinfo);
  return true;
}

bool read_rows(jpeg_decompress_struct* cinfo, JpegRead* s, unsigned char* pixels, size_t stride) {
  if (setjmp(s->jump)) return false;
  while (cinfo->output_scanline < cinfo->output_height) {
    JSAMPROW row = pixels + static_cast<size_t>(cinfo->output_scanline) * stride;
    jpeg_read_scanlines(cinfo, &row, 1);
  }
  jpeg_finish_decompress(cinfo);
  return true;
}

// Frees libjpeg's memory on every exit path (jpeg_destroy is safe after an error).
struct Decompressor {
  jpeg_decompress_struct cinfo;
  bool created = false;
  ~Decompressor() {
    if (created) jpeg_destroy_decompress(&cinfo);
  }
};

}  // namespace

Tensor decode_jpeg(std::string_view bytes, const std::string& what, int64_t max_pixels) {
  JpegRead s{};
  s.max_pixels = max_pixels;
  Decompressor d;
  std::memset(&d.cinfo, 0, sizeof(d.cinfo));
  d.cinfo.err = jpeg_std_error(&s.err);
  s.err.error_exit = on_error_exit;
  s.err.emit_message = on_message;
  s.progress.progress_monitor = on_progress;
  d.created = true;  // jpeg_destroy on a zeroed or partly created struct is a no-op / frees what exists
  bool ok = start(&d.cinfo, &s, reinterpret_cast<const unsigned char*>(bytes.data()),
                  static_cast<unsigned long>(bytes.size()));
  if (!ok) fail("{}: invalid JPEG: {}", what, s.message);
  if (s.too_big) fail_too_many_pixels(what, d.cinfo.image_width, d.cinfo.image_height, max_pixels);
  CONVGRAD_CHECK(!s.cmyk,
                 "{}: CMYK / YCCK JPEG files are not supported; convert the file to RGB first "
                 "(e.g. `convert in.jpg -colorspace sRGB out.png`)",
                 what);
  int64_t width = d.cinfo.output_width, height = d.cinfo.output_height, channels = d.cinfo.output_components;
  CONVGRAD_CHECK(channels == 1 || channels == 3, "{}: unexpected JPEG output of {} components", what,
                 channels);
  size_t stride = static_cast<size_t>(width * channels);
  std::vector<unsigned char> pixels(stride * static_cast<size_t>(height));
  if (!read_rows(&d.cinfo, &s, pixels.data(), stride)) fail("{}: invalid JPEG: {}", what, s.message);
  return planar_from_interleaved(pixels.data(), height, width, channels, 255.0f);
}

}  // namespace convgrad::detail
