// Images as tensors: write a PNG, read it back in two modes, measure a degraded copy.
#include <convgrad/convgrad.h>

#include <algorithm>
#include <filesystem>

using namespace convgrad;

int main() {
  std::string dir = (std::filesystem::temp_directory_path() / "convgrad_doc_image_io").string();
  std::filesystem::create_directories(dir);
  // A 3 x 32 x 32 RGB test card with values in [0, 1].
  Tensor card = uninitialized({3, 32, 32});
  float* p = card.data<float>();
  for (int64_t c = 0; c < 3; ++c)
    for (int64_t y = 0; y < 32; ++y)
      for (int64_t x = 0; x < 32; ++x) p[(c * 32 + y) * 32 + x] = ((x * (c + 1) + y * (3 - c)) % 32) / 31.0f;

  // [doc:io]
  write_png(dir + "/card.png", card);          // 8-bit RGB, written atomically
  Tensor rgb = read_image(dir + "/card.png");  // float32 (3, 32, 32) in [0, 1]
  Tensor grey = read_image(dir + "/card.png", ImageReadOptions().mode(ImageMode::Grey));  // (1, 32, 32)
  // [/doc]
  fmt::print("rgb {} grey {}\n", shape_str(rgb.shape()), shape_str(grey.shape()));

  // A degraded copy: every value darkened by 2/255.
  Tensor dark = clone_data(rgb);
  float* d = dark.data<float>();
  for (int64_t i = 0; i < dark.numel(); ++i) d[i] = std::max(0.0f, d[i] - 2 / 255.f);
  // [doc:metrics]
  double db = psnr(rgb, dark, PsnrOptions().border(4).y_channel(true));  // as SR papers report x4 results
  double s = ssim(rgb, dark, SsimOptions().border(4));
  // [/doc]
  fmt::print("psnr {:.2f} dB, ssim {:.4f}\n", db, s);
  std::filesystem::remove_all(dir);
}
