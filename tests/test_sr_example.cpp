// The super-resolution tool (build/bin/upsample train / eval / apply): models, checkpoint metadata,
// seamless tiling, and the command line end to end on small generated images.
#include <doctest/doctest.h>

// examples/upsample/CMakeLists.txt links this test to the tool's library (and its include paths);
// with -DCONVGRAD_BUILD_EXAMPLES=OFF there is nothing to test.
#if !__has_include("sr_models.h")
TEST_CASE("upsample tool: not built (CONVGRAD_BUILD_EXAMPLES=OFF)" * doctest::skip()) {}
#else

#include <array>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <string>

#include "autograd/grad_mode.h"
#include "autograd/ops_shape.h"
#include "core/factory.h"
#include "core/image_io.h"
#include "core/npy.h"
#include "layers/init.h"
#include "sr_apply.h"
#include "sr_checkpoint.h"
#include "sr_data.h"
#include "sr_models.h"
#include "synthetic_images.h"

using namespace convgrad;
using namespace convgrad::upsample;
namespace fs = std::filesystem;

namespace {

double max_abs_diff(const Tensor& a, const Tensor& b) {
  REQUIRE(a.shape() == b.shape());
  auto x = a.to_vector<float>(), y = b.to_vector<float>();
  double m = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    double d = std::abs(static_cast<double>(x[i]) - y[i]);
    if (!(d <= m)) m = d;  // NaN propagates
  }
  return m;
}

// A model whose every parameter is random (the residual branch included), so tiling errors show.
std::shared_ptr<SrModel> random_model(SrConfig c, uint64_t seed) {
  Generator gen(seed);
  c = with_arch_defaults(c);
  auto model = make_sr_model(c, gen);
  for (Tensor& p : model->parameters()) {
    NoGradGuard no_grad;
    init::uniform_(p, -0.2, 0.2, gen);
  }
  model->eval();
  return model;
}

fs::path fresh_dir(const std::string& name) {
  fs::path d = fs::temp_directory_path() / ("convgrad_sr_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

// Writes `count` generated 64x64 RGB pictures (shapes, gradients, stripes) as PNGs into `dir`.
void write_images(const fs::path& dir, uint64_t stream, int64_t count) {
  Tensor images = make_images(11, stream, 0, count, 64);
  fs::create_directories(dir);
  for (int64_t i = 0; i < count; ++i)
    write_png((dir / ("img" + std::to_string(i) + ".png")).string(), select(images, 0, i));
}

}  // namespace

TEST_CASE("sr models: output size is scale x input for every architecture and scale") {
  for (const char* arch : {"fsrcnn", "espcn", "tconv"})
    for (int64_t r : {2, 3, 4})
      for (int64_t ch : {1, 3}) {
        SrConfig c;
        c.arch = arch, c.scale = r, c.channels = ch;
        auto model = random_model(c, 1);
        NoGradGuard no_grad;
        Tensor y = model->forward(zeros({2, ch, 7, 9}));
        CHECK(y.shape() == Shape{2, ch, 7 * r, 9 * r});
      }
  SrConfig bad;
  bad.arch = "srgan";
  CHECK_THROWS_WITH_AS(make_sr_model(bad), doctest::Contains("unknown model 'srgan'"), Error);
  bad.arch = "fsrcnn", bad.scale = 5;
  CHECK_THROWS_WITH_AS(make_sr_model(bad), doctest::Contains("scale must be 2, 3 or 4"), Error);
}

TEST_CASE("sr models: an untrained residual model is bicubic upscaling") {
  for (const char* arch : {"fsrcnn", "espcn", "tconv"}) {
    SrConfig c = with_arch_defaults(SrConfig{});
    c.arch = arch;
    c = with_arch_defaults(c);
    Generator gen(3);
    auto model = make_sr_model(c, gen);
    Generator data(4);
    Tensor x = rand({1, 1, 12, 10}, data);
    NoGradGuard no_grad;
    // FSRCNN starts from the paper's N(0, 0.001) deconvolution: bicubic up to a tiny residual.
    CHECK(max_abs_diff(model->forward(x), bicubic_upscale(x, c.scale)) <= (c.arch == "fsrcnn" ? 0.05 : 0.0));
  }
}

TEST_CASE("sr checkpoint: metadata rebuilds the model; np.load-readable entries; bad files are errors") {
  fs::path dir = fresh_dir("ckpt");
  SrConfig c;
  c.arch = "espcn", c.scale = 3, c.channels = 1, c.residual = true;
  auto model = random_model(c, 5);
  const std::string path = (dir / "m.npz").string();
  save_sr_checkpoint(*model, path, 123);
  auto entries = load_npz(path);
  REQUIRE(entries.count("meta.arch") == 1);
  std::string arch;
  for (int64_t code : entries["meta.arch"].to_vector<int64_t>()) arch.push_back(static_cast<char>(code));
  CHECK(arch == "espcn");
  CHECK(entries["meta.scale"].dim() == 0);
  CHECK(entries["meta.scale"].to_vector<int64_t>()[0] == 3);
  CHECK(entries.count("conv1.weight") == 1);

  LoadedModel loaded = load_sr_checkpoint(path);
  CHECK(loaded.steps == 123);
  CHECK(loaded.model->name() == "ESPCN");
  CHECK(loaded.model->config().scale == 3);
  CHECK(loaded.model->config().d == 64);
  Generator gen(6);
  Tensor x = rand({1, 1, 8, 8}, gen);
  NoGradGuard no_grad;
  CHECK(max_abs_diff(loaded.model->forward(x), model->forward(x)) == 0.0);

  // A plain state dict (no metadata) and weights that do not fit the metadata are clear errors.
  std::vector<std::pair<std::string, Tensor> > plain = model->state_dict();
  save_npz((dir / "plain.npz").string(), plain);
  CHECK_THROWS_WITH_AS(load_sr_checkpoint((dir / "plain.npz").string()),
                       doctest::Contains("not an upsample checkpoint"), Error);
  for (auto& [k, t] : entries)
    if (k == "meta.scale") t = from_vector(std::vector<int64_t>{2}, Shape{});
  save_npz((dir / "wrong.npz").string(),
           std::vector<std::pair<std::string, Tensor> >(entries.begin(), entries.end()));
  CHECK_THROWS_WITH_AS(load_sr_checkpoint((dir / "wrong.npz").string()), doctest::Contains("do not fit"),
                       Error);
  fs::remove_all(dir);
}

TEST_CASE("sr apply: tiled upscaling equals the untiled forward on an image several tiles wide") {
  for (const char* arch : {"fsrcnn", "espcn", "tconv"}) {
    CAPTURE(arch);
    SrConfig c;
    c.arch = arch, c.scale = 3, c.channels = 1, c.residual = true;
    auto model = random_model(c, 7);
    Generator gen(8);
    Tensor x = rand({1, 45, 110}, gen);  // 4 x 2 tiles of 32, the last ones partial
    NoGradGuard no_grad;
    Tensor whole = squeeze(model->forward(unsqueeze(x, 0)), 0);
    Tensor tiled = upscale_tiled(*model, x, TileOptions{32, -1});
    CHECK(tiled.shape() == Shape{1, 135, 330});
    CHECK(max_abs_diff(tiled, whole) <= 1e-5);
    // Without the overlap the tiles' zero padding shows at every seam: the check above can fail.
    CHECK(max_abs_diff(upscale_tiled(*model, x, TileOptions{32, 0}), whole) > 1e-3);
  }
}

TEST_CASE("sr apply: colour images go through YCbCr, grey ones stay grey") {
  SrConfig c;
  c.arch = "espcn", c.scale = 2, c.channels = 1, c.residual = true;
  Generator gen(9);
  auto model = make_sr_model(with_arch_defaults(c), gen);  // untrained residual ESPCN: exactly bicubic
  Tensor rgb = rand({3, 10, 12}, gen);
  NoGradGuard no_grad;
  Tensor up = super_resolve(*model, rgb);
  CHECK(up.shape() == Shape{3, 20, 24});
  // Untrained residual model = bicubic on Y; bicubic on Cb, Cr: the whole is bicubic on RGB.
  CHECK(max_abs_diff(up, squeeze(bicubic_upscale(unsqueeze(rgb, 0), 2), 0)) <= 1e-5);
  CHECK(super_resolve(*model, rand({1, 10, 12}, gen)).shape() == Shape{1, 20, 24});
}

#ifdef CONVGRAD_UPSAMPLE_BIN
namespace {

// Runs a command, returns (exit status, stdout).
std::pair<int, std::string> run(const std::string& cmd) {
  std::string out;
  std::FILE* p = ::popen((cmd + " 2>&1").c_str(), "r");
  REQUIRE(p != nullptr);
  std::array<char, 512> buf{};
  while (std::fgets(buf.data(), buf.size(), p)) out += buf.data();
  int status = ::pclose(p);
  return {WEXITSTATUS(status), out};
}

double json_number(const std::string& text, const std::string& key) {
  auto at = text.find("\"" + key + "\": ");
  REQUIRE_MESSAGE(at != std::string::npos, "no " << key << " in " << text);
  return std::stod(text.substr(at + key.size() + 4));
}

}  // namespace

TEST_CASE("sr data: downscaled copies of the photos (FSRCNN's augmentation)") {
  // Constant grey photos, Y = (16 + 219 * 0.6) / 255 = 147.4 / 255: antialiased bicubic keeps a
  // constant, so every copy is 147 / 255 (converting the Y copy to Y again would give 143 / 255).
  std::vector<SrPair> pairs = {make_pair(full({1, 48, 64}, 0.6), 2, 1, "a"),
                               make_pair(full({1, 40, 40}, 0.6), 2, 1, "b")};
  auto all = add_downscaled(pairs, {0.75, 0.5}, 2, 12);
  // b at 0.5 is 20x20, 10 low-resolution pixels a side < 12: left out.
  REQUIRE(all.size() == 5);
  const std::array<std::array<int64_t, 2>, 5> hw = {{{48, 64}, {40, 40}, {36, 48}, {30, 30}, {24, 32}}};
  for (size_t i = 0; i < all.size(); ++i) {
    CHECK(all[i].hr.size(1) == hw[i][0]);
    CHECK(all[i].hr.size(2) == hw[i][1]);
    CHECK(all[i].lr.size(1) * 2 == hw[i][0]);
    CHECK(all[i].lr.size(2) * 2 == hw[i][1]);
  }
  CHECK(all[2].path == "a x0.75");
  CHECK(all[4].path == "a x0.5");
  CHECK(max_abs_diff(all[3].hr, full({1, 30, 30}, 147.0 / 255.0)) < 1e-6);
  CHECK(max_abs_diff(all[4].lr, full({1, 12, 16}, 147.0 / 255.0)) < 1e-6);
  CHECK_THROWS_AS(add_downscaled(pairs, {1.0}, 2), Error);
  CHECK_THROWS_AS(add_downscaled(pairs, {0.0}, 2), Error);
}

TEST_CASE("sr data: crops sampled equally per photo, or by area") {
  // Low-resolution 48x48 and 24x24 with 12-pixel crops: 16 and 4 disjoint crops.
  std::vector<SrPair> pairs = {make_pair(zeros({1, 96, 96}), 2, 1, "big"),
                               make_pair(zeros({1, 48, 48}), 2, 1, "small")};
  SrCrops equal(pairs, 2, 24, 40), by_area(pairs, 2, 24, 40, true);
  int equal_big = 0, area_big = 0;
  for (int64_t i = 0; i < 40; ++i) {
    equal_big += equal.describe(i) == "big";
    area_big += by_area.describe(i) == "big";
  }
  CHECK(equal_big == 20);
  CHECK(area_big == 32);
  Generator gen(3);
  data::Example ex = by_area.get(0, gen);
  CHECK(ex.input.shape() == Shape{1, 12, 12});
  CHECK(ex.target.shape() == Shape{1, 24, 24});
}

TEST_CASE("upsample train -> eval --json -> apply on generated images") {
  fs::path dir = fresh_dir("cli");
  write_images(dir / "train", 1, 12);
  write_images(dir / "val", 2, 3);
  const std::string bin = CONVGRAD_UPSAMPLE_BIN, ckpt = (dir / "tconv.npz").string();
  auto [rc, out] =
      run(bin + " train --images " + (dir / "train").string() + " --val-images " + (dir / "val").string() +
          " --model tconv --scale 2 --crop 32 --batch 8 --steps 120 --lr 3e-3 --workers 2 --threads 1"
          " --json --save " +
          ckpt);
  INFO(out);
  REQUIRE(rc == 0);
  CHECK(json_number(out, "steps") == 120);
  CHECK(json_number(out, "last_loss") < json_number(out, "first_loss"));
  CHECK(fs::exists(dir / "tconv_curve.png"));

  auto [erc, eout] =
      run(bin + " eval --json --threads 1 --load " + ckpt + " --images " + (dir / "val").string());
  INFO(eout);
  REQUIRE(erc == 0);
  CHECK(json_number(eout, "images") == 3);
  // Residual on bicubic and trained: better than bilinear, and SSIM in (0, 1].
  CHECK(json_number(eout, "psnr") > json_number(eout, "psnr_bilinear"));
  CHECK(json_number(eout, "ssim") > 0);
  CHECK(json_number(eout, "ssim") <= 1);

  auto [arc, aout] = run(bin + " apply --threads 1 --tile 24 --load " + ckpt + " --out " +
                         (dir / "out").string() + " " + (dir / "val" / "img0.png").string());
  INFO(aout);
  REQUIRE(arc == 0);
  Tensor up = read_image((dir / "out" / "img0_x2.png").string());
  CHECK(up.shape() == Shape{3, 128, 128});

  auto [brc, bout] = run(bin + " eval --json --load " + (dir / "val" / "img0.png").string() + " --images " +
                         (dir / "val").string());
  CHECK(brc != 0);
  CHECK(bout.find("img0.png") != std::string::npos);
  fs::remove_all(dir);
}
#endif

#endif
