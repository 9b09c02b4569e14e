// Image files: every PNG variant against the NumPy arrays it was made from, JPEG against PIL's decoding
// (tools/gen_image_fixtures.py), channel modes, write -> read round trips, and hostile files.
#include <doctest/doctest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "core/factory.h"
#include "core/image_io.h"
#include "core/npy.h"
#include "test_util.h"

using namespace convgrad;
using convgrad::testing::max_abs_diff;
namespace fs = std::filesystem;

namespace {
const std::string kImages = std::string(CONVGRAD_TEST_DATA) + "/images/";

std::string read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void write_all(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary);
  out << bytes;
}

struct TempDir {
  fs::path path = fs::temp_directory_path() / ("convgrad_image_" + std::to_string(::getpid()));
  TempDir() { fs::create_directories(path); }
  ~TempDir() { fs::remove_all(path); }
  std::string operator/(const std::string& name) const { return (path / name).string(); }
};

// The message of the convgrad::Error `f` throws, or "no error".
template <class F>
std::string error_of(F f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "no error";
}
}  // namespace

TEST_CASE("every PNG variant reads as the samples it was made from, 16-bit at full precision") {
  auto expected = load_npz(kImages + "expected.npz");
  int pngs = 0;
  for (const auto& [name, want] : expected) {
    if (name.size() < 4 || name.substr(name.size() - 4) != ".png") continue;
    ++pngs;
    CAPTURE(name);
    Tensor got = read_image(kImages + name);
    CHECK(got.dtype() == DType::Float32);
    CHECK(got.shape() == want.shape());
    CHECK(max_abs_diff(got, want) == 0.0);
  }
  CHECK(pngs == 18);
  // 16-bit: 65535 is exactly 1, and samples keep their low byte (not truncated to 8 bits).
  Tensor g16 = read_image(kImages + "grey16.png");
  CHECK(g16.at({0, 0, 0}) == 0.0f);
  CHECK(g16.at({0, 0, 1}) == 1.0f);
  int off_grid = 0;
  for (float v : g16.to_vector()) off_grid += std::fabs(v * 255 - std::round(v * 255)) > 1e-3;
  CHECK(off_grid > 20);  // of 35 random 16-bit samples, nearly all lie between 8-bit levels
}

TEST_CASE("JPEG (baseline, progressive, grey, colour) decodes as PIL / libjpeg-turbo does") {
  auto expected = load_npz(kImages + "expected.npz");
  for (const char* name :
       {"rgb_baseline.jpg", "rgb_progressive.jpg", "grey_baseline.jpg", "grey_progressive.jpg"}) {
    CAPTURE(name);
    const Tensor& want = expected.at(name);
    Tensor got = read_image(kImages + name);
    CHECK(got.shape() == want.shape());
    CHECK(max_abs_diff(got, want) <= 1.0 / 255 + 1e-6);
  }
  CHECK(read_image(kImages + "rgb_baseline.jpg").shape() == Shape{3, 24, 32});
  CHECK(read_image(kImages + "grey_progressive.jpg").shape() == Shape{1, 24, 32});
  CHECK_THROWS_WITH_AS(read_image(kImages + "cmyk.jpg"), doctest::Contains("CMYK"), Error);
}

TEST_CASE("uint8 and float32 .npy files read as images") {
  auto expected = load_npz(kImages + "expected.npz");
  CHECK(max_abs_diff(read_image(kImages + "u8_hwc.npy"), expected.at("u8_hwc.npy")) == 0.0);
  CHECK(max_abs_diff(read_image(kImages + "u8_hw.npy"), expected.at("u8_hw.npy")) == 0.0);
  TempDir dir;
  Tensor chw = from_vector(std::vector<float>{-0.5f, 0.25f, 2.0f, 1.0f, 0.0f, 0.5f}, {2, 1, 3});
  save_npy(dir / "f.npy", chw);
  CHECK(max_abs_diff(read_image(dir / "f.npy"), chw) == 0.0);  // passed through, no scaling or clamping
  save_npy(dir / "hw.npy", zeros({4, 5}));
  CHECK_THROWS_WITH_AS(read_image(dir / "hw.npy"), doctest::Contains("(C, H, W)"), Error);
  save_npy(dir / "i64.npy", zeros({1, 4, 5}, DType::Int64));
  CHECK_THROWS_WITH_AS(read_image(dir / "i64.npy"), doctest::Contains("'<i8'"), Error);
}

TEST_CASE("modes convert channels as PIL's convert") {
  Tensor rgba = read_image(kImages + "rgba8.png");
  Tensor rgb = read_image(kImages + "rgba8.png", ImageReadOptions().mode(ImageMode::RGB));
  CHECK(rgb.shape() == Shape{3, 5, 7});
  std::vector<float> all = rgba.to_vector();
  CHECK(rgb.to_vector() == std::vector<float>(all.begin(), all.begin() + 3 * 5 * 7));
  Tensor grey = read_image(kImages + "rgb8.png", ImageReadOptions().mode(ImageMode::Grey));
  Tensor colour = read_image(kImages + "rgb8.png");
  CHECK(grey.shape() == Shape{1, 5, 7});
  for (int64_t y = 0; y < 5; ++y)
    for (int64_t x = 0; x < 7; ++x) {
      double luma =
          0.299 * colour.at({0, y, x}) + 0.587 * colour.at({1, y, x}) + 0.114 * colour.at({2, y, x});
      CHECK(std::fabs(grey.at({0, y, x}) - luma) <= 1e-6);
    }
  Tensor g = read_image(kImages + "grey8.png");
  Tensor g3 = read_image(kImages + "grey8.png", ImageReadOptions().mode(ImageMode::RGB));
  CHECK(g3.shape() == Shape{3, 5, 7});
  for (int64_t c = 0; c < 3; ++c)
    for (int64_t x = 0; x < 7; ++x) CHECK(g3.at({c, 2, x}) == g.at({0, 2, x}));
  Tensor g4 = read_image(kImages + "grey8.png", ImageReadOptions().mode(ImageMode::RGBA));
  CHECK(g4.shape() == Shape{4, 5, 7});
  CHECK(g4.at({3, 4, 6}) == 1.0f);
  CHECK(g4.at({1, 4, 6}) == g.at({0, 4, 6}));
  Tensor ga = read_image(kImages + "grey_alpha8.png");
  Tensor ga1 = read_image(kImages + "grey_alpha8.png", ImageReadOptions().mode(ImageMode::Grey));
  CHECK(ga1.shape() == Shape{1, 5, 7});
  CHECK(ga1.at({0, 3, 3}) == ga.at({0, 3, 3}));
  // Unchanged keeps the file's channels.
  CHECK(read_image(kImages + "grey_alpha16.png").shape() == Shape{2, 5, 7});
  CHECK(read_image(kImages + "palette8_trns.png").shape() == Shape{4, 5, 7});
  CHECK(read_image(kImages + "palette8.png").shape() == Shape{3, 5, 7});
}

TEST_CASE("write_png -> read_image round trips exactly, clamps and rounds") {
  TempDir dir;
  for (int64_t c : {1, 2, 3, 4}) {
    CAPTURE(c);
    std::vector<float> v(static_cast<size_t>(c * 6 * 9));
    for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<float>((i * 37 + c) % 256) / 255.0f;
    Tensor img = from_vector(v, {c, 6, 9});
    std::string path = dir / ("rt" + std::to_string(c) + ".png");
    write_png(path, img);
    CHECK(max_abs_diff(read_image(path), img) == 0.0);
    CHECK(max_abs_diff(decode_image(std::string_view(reinterpret_cast<const char*>(encode_png(img).data()),
                                                     encode_png(img).size()),
                                    "memory"),
                       img) == 0.0);
  }
  write_png(dir / "hw.png", full({3, 4}, 0.5));
  CHECK(read_image(dir / "hw.png").shape() == Shape{1, 3, 4});
  // Clamped to [0, 1]; v * 255 rounded half up: 0.5/255 -> 1/255, just below -> 0.
  Tensor edge =
      from_vector(std::vector<float>{-3.f, 7.f, 0.5f / 255, 0.499f / 255, 127.5f / 255, 1.0f}, {1, 1, 6});
  write_png(dir / "edge.png", edge);
  std::vector<float> want = {0.f, 1.f, 1.f / 255, 0.f, 128.f / 255, 1.f};
  CHECK(read_image(dir / "edge.png").to_vector() == want);
  // Atomic: no temporary left behind, and the file replaces an older one.
  write_png(dir / "edge.png", zeros({1, 2, 2}));
  CHECK(read_image(dir / "edge.png").shape() == Shape{1, 2, 2});
  int files = 0;
  for (const auto& e : fs::directory_iterator(dir.path))
    files += e.path().string().find(".tmp-") == std::string::npos;
  CHECK(files == static_cast<int>(std::distance(fs::directory_iterator(dir.path), fs::directory_iterator())));
}

TEST_CASE("write_png refuses NaN, bad shapes and unwritable paths, naming them") {
  TempDir dir;
  Tensor nan = zeros({3, 2, 2});
  nan.data<float>()[5] = NAN;
  std::string msg = error_of([&] { write_png(dir / "nan.png", nan); });
  CHECK(msg.find("NaN") != std::string::npos);
  CHECK(msg.find("nan.png") != std::string::npos);
  CHECK(!fs::exists(dir / "nan.png"));
  CHECK(error_of([&] {
          write_png(dir / "x.png", zeros({5, 2, 2}));
        }).find("C in {1, 2, 3, 4}") != std::string::npos);
  CHECK(error_of([&] { write_png(dir / "x.png", zeros({1, 3, 2, 2})); }).find("x.png") != std::string::npos);
  CHECK(error_of([&] { write_png(dir / "x.png", zeros({3, 0, 2})); }).find("empty") != std::string::npos);
  CHECK(error_of([&] {
          write_png(dir / "x.png", zeros({3, 2, 2}, DType::Int64));
        }).find("float32") != std::string::npos);
  std::string missing = dir / "no/such/folder/x.png";
  CHECK(error_of([&] { write_png(missing, zeros({3, 2, 2})); }).find(missing) != std::string::npos);
}

TEST_CASE("missing, empty, truncated, corrupt and non-image files throw errors naming the file") {
  TempDir dir;
  std::string png = read_all(kImages + "rgb8.png"), jpg = read_all(kImages + "rgb_baseline.jpg");
  REQUIRE(png.size() > 100);
  REQUIRE(jpg.size() > 400);
  write_all(dir / "empty.png", "");
  write_all(dir / "half.png", png.substr(0, png.size() / 2));
  write_all(dir / "no_iend.png", png.substr(0, png.size() - 12));
  write_all(dir / "half.jpg", jpg.substr(0, jpg.size() / 2));
  write_all(dir / "header_only.jpg", jpg.substr(0, 200));
  // Cut inside the entropy-coded data: libjpeg would pad with grey and merely warn.
  write_all(dir / "cut_scan.jpg", jpg.substr(0, jpg.size() - 100));
  std::string progressive = read_all(kImages + "rgb_progressive.jpg");
  write_all(dir / "cut_scan_progressive.jpg", progressive.substr(0, progressive.size() - 100));
  write_all(dir / "text.png", "hello, I am not a picture\n");
  write_all(dir / "text.jpg", "hello, I am not a picture\n");
  std::string flipped = png;
  flipped[png.size() / 2] = static_cast<char>(flipped[png.size() / 2] ^ 0x55);  // inside IDAT: CRC fails
  write_all(dir / "flipped.png", flipped);
  write_all(dir / "magic_only.png", png.substr(0, 8));
  write_all(dir / "magic_only.jpg", "\xff\xd8\xff");
  struct Case {
    std::string file, what;
  };
  for (const Case& c :
       {Case{dir / "missing.png", "cannot open"}, Case{dir / "empty.png", "empty"},
        Case{dir / "half.png", "invalid PNG"}, Case{dir / "no_iend.png", "invalid PNG"},
        Case{dir / "half.jpg", "invalid JPEG"}, Case{dir / "header_only.jpg", "invalid JPEG"},
        Case{dir / "cut_scan.jpg", "invalid JPEG"}, Case{dir / "cut_scan_progressive.jpg", "invalid JPEG"},
        Case{dir / "text.png", "not a PNG, JPEG or .npy"}, Case{dir / "text.jpg", "not a PNG, JPEG or .npy"},
        Case{dir / "flipped.png", "invalid PNG"}, Case{dir / "magic_only.png", "invalid PNG"},
        Case{dir / "magic_only.jpg", "invalid JPEG"}, Case{dir.path.string(), "not a regular file"}}) {
    CAPTURE(c.file);
    std::string msg = error_of([&] { read_image(c.file); });
    CHECK(msg.find(c.file) != std::string::npos);
    CHECK(msg.find(c.what) != std::string::npos);
  }
}

TEST_CASE("images above the pixel limit are refused before decoding") {
  ImageReadOptions small = ImageReadOptions().max_pixels(34);  // the fixtures have 5 x 7 = 35 pixels
  for (const char* name : {"rgb8.png", "rgb16_trns.png", "u8_hwc.npy"}) {
    CAPTURE(name);
    CHECK_THROWS_WITH_AS(read_image(kImages + name, small), doctest::Contains("more than the limit of 34"),
                         Error);
    CHECK(read_image(kImages + name, ImageReadOptions().max_pixels(35)).size(2) == 7);
  }
  CHECK_THROWS_WITH_AS(read_image(kImages + "rgb_progressive.jpg", small), doctest::Contains("32x24"), Error);
  // A 200 000 x 100 000 PNG header (2e10 pixels) in a 45-byte file: refused at the default limit.
  std::string png = read_all(kImages + "grey8.png");
  std::string ihdr = png.substr(12, 17);  // "IHDR" + 13 bytes of data
  auto put32 = [](std::string& s, size_t at, uint32_t v) {
    for (int k = 0; k < 4; ++k) s[at + k] = static_cast<char>((v >> (24 - 8 * k)) & 0xff);
  };
  put32(ihdr, 4, 200000);
  put32(ihdr, 8, 100000);
  std::string bomb = png.substr(0, 12) + ihdr + "0000" + png.substr(33);
  put32(bomb, 29, crc32(ihdr));
  std::string msg = error_of([&] { decode_image(bomb, "bomb.png"); });
  CHECK(msg.find("bomb.png") != std::string::npos);
  CHECK(msg.find("20000000000 pixels, more than the limit of 268435456") != std::string::npos);
  // A JPEG whose frame header (SOF0: FF C0, length, precision, height, width) declares 65000 x 65000.
  std::string jpg = read_all(kImages + "rgb_baseline.jpg");
  size_t sof = jpg.find("\xff\xc0");
  REQUIRE(sof != std::string::npos);
  for (size_t at : {sof + 5, sof + 7})
    jpg[at] = static_cast<char>(0xfd), jpg[at + 1] = static_cast<char>(0xe8);
  msg = error_of([&] { decode_image(jpg, "bomb.jpg"); });
  CHECK(msg.find("bomb.jpg") != std::string::npos);
  CHECK(msg.find("65000x65000 (WxH) = 4225000000 pixels") != std::string::npos);
}
