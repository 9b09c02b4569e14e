// The file round trip with NumPy and PyTorch, against files they wrote (tools/gen_roundtrip_fixtures.py,
// tests/data/roundtrip/): convgrad reads them, and what convgrad writes is byte-identical to them, so
// NumPy and PyTorch read convgrad's files (the generator checked that they read these bytes).
#include <doctest/doctest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <string>
#include <vector>

#include "core/factory.h"
#include "core/npy.h"
#include "layers/batchnorm.h"
#include "layers/checkpoint.h"
#include "layers/conv.h"
#include "layers/sequential.h"

using namespace convgrad;
namespace fs = std::filesystem;

namespace {

const std::string kData = std::string(CONVGRAD_TEST_DATA) + "/roundtrip/";

std::string read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  REQUIRE_MESSAGE(in.good(), "cannot open " << path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// The first differing byte, or -1: a readable failure instead of two binary strings.
int64_t first_difference(const std::string& a, const std::string& b) {
  for (size_t i = 0; i < std::min(a.size(), b.size()); ++i)
    if (a[i] != b[i]) return static_cast<int64_t>(i);
  return a.size() == b.size() ? -1 : static_cast<int64_t>(std::min(a.size(), b.size()));
}

// The generator's model: Conv2d(2, 3, 3, padding=1) + BatchNorm2d(3), as in PyTorch.
std::shared_ptr<Sequential> model() {
  return std::make_shared<Sequential>(std::make_shared<Conv2d>(Conv2dOptions(2, 3, 3).padding(1)),
                                      std::make_shared<BatchNorm2d>(BatchNorm2dOptions(3)));
}

}  // namespace

TEST_CASE("np.save files: convgrad reads the values and writes the same bytes") {
  struct Case {
    std::string name;
    Tensor expected;  // built here, independently of the file
  };
  std::vector<float> grid(24), specials{0.f, -0.f, INFINITY, -INFINITY, 1e-45f, 3.4028235e38f};
  for (int i = 0; i < 24; ++i) grid[i] = static_cast<float>(i) * 0.25f - 1.f;
  Shape rank21(20, 1), aligned(13, 1);
  rank21.push_back(2);
  aligned.push_back(100);
  std::vector<float> halves(100);
  for (int i = 0; i < 100; ++i) halves[i] = static_cast<float>(i) * 0.5f;
  const std::vector<Case> cases = {
      {"f4_2x3x4", from_vector(grid, {2, 3, 4})},
      {"i8_3", from_vector(std::vector<int64_t>{3, -1, int64_t{1} << 40}, {3})},
      {"f4_scalar", from_vector(std::vector<float>{2.5f}, {})},
      {"f4_0x3", zeros({0, 3})},
      {"f4_rank21", from_vector(std::vector<float>{-0.5f, 0.5f}, rank21)},
      {"f4_aligned", from_vector(halves, aligned)},
      {"f4_specials", from_vector(specials, {6})},
  };
  for (const Case& c : cases) {
    CAPTURE(c.name);
    const std::string file = read_all(kData + c.name + ".npy");
    Tensor t = load_npy(kData + c.name + ".npy");
    CHECK(t.dtype() == c.expected.dtype());
    CHECK(t.shape() == c.expected.shape());
    if (t.dtype() == DType::Int64)
      CHECK(t.to_vector<int64_t>() == c.expected.to_vector<int64_t>());
    else  // bit patterns: -0 and the denormal must survive
      for (int64_t i = 0; i < t.numel(); ++i)
        CHECK(std::signbit(t.to_vector()[i]) == std::signbit(c.expected.to_vector()[i]));
    if (t.dtype() == DType::Float32) CHECK(t.to_vector() == c.expected.to_vector());
    const std::string written = npy_bytes(c.expected);
    CHECK_MESSAGE(first_difference(written, file) == -1, "convgrad's bytes differ from np.save's at offset "
                                                             << first_difference(written, file) << " ("
                                                             << written.size() << " vs " << file.size()
                                                             << " bytes)");
  }
}

TEST_CASE("a PyTorch state_dict: convgrad loads it, gives PyTorch's output, and saves the same bytes") {
  auto m = model();
  load(*m, kData + "checkpoint.npz");
  m->eval();
  auto io = load_npz(kData + "checkpoint_io.npz");
  std::vector<float> got = m->forward(io.at("x")).to_vector(), want = io.at("y").to_vector();
  REQUIRE(got.size() == want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    CAPTURE(i);
    CHECK(std::abs(got[i] - want[i]) <= 1e-5f * (1.f + std::abs(want[i])));  // NaN fails
  }
  const std::string dir =
      (fs::temp_directory_path() / ("convgrad_roundtrip_" + std::to_string(::getpid()))).string();
  fs::create_directories(dir);
  save(*m, dir + "/checkpoint.npz");
  const std::string written = read_all(dir + "/checkpoint.npz"), file = read_all(kData + "checkpoint.npz");
  fs::remove_all(dir);
  CHECK_MESSAGE(first_difference(written, file) == -1,
                "convgrad's save() differs from the archive PyTorch and NumPy "
                "read at offset "
                    << first_difference(written, file) << " (" << written.size() << " vs " << file.size()
                    << " bytes)");
}
