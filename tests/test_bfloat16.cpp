// DType::BFloat16: round-to-nearest-even conversion (against hand-derived bit patterns and PyTorch's
// own conversion), Tensor::to, element access, copies, printing, .npy files, and the ops that refuse
// bfloat16 operands with an error naming the op and the dtype.
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <string>

#include "core/print.h"
#include "layers/convgrad.h"
#include "test_util.h"

using namespace convgrad;

namespace {

uint32_t bits_of(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}
float from_bits(uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

}  // namespace

TEST_CASE("to_bfloat16 rounds to nearest, ties to even, as c10::BFloat16") {
  struct Case {
    uint32_t in;
    uint16_t out;
  };
  const Case cases[] = {
      {0x3F800000, 0x3F80},  // 1
      {0x3F808000, 0x3F80},  // 1 + 2^-8: a tie, the even neighbour 1 wins
      {0x3F818000, 0x3F82},  // 1 + 3 * 2^-8: a tie, the even neighbour 1 + 2^-6 wins
      {0x3F80C000, 0x3F81},  // 1 + 3 * 2^-9: above the midpoint, up to 1 + 2^-7
      {0x3F806000, 0x3F80},  // 1 + 3 * 2^-10: below it, down to 1
      {0x3F807FFF, 0x3F80},  // just below the midpoint
      {0x3F808001, 0x3F81},  // just above it
      {0xBF808001, 0xBF81},  // the same, negative: rounds away from zero by magnitude
      {0x7F7F7FFF, 0x7F7F},  // below the midpoint past the largest bfloat16: stays at 0x1.FEp127
      {0x7F7FFFFF, 0x7F80},  // the largest float32 rounds to infinity
      {0x7F800000, 0x7F80},  // +inf
      {0xFF800000, 0xFF80},  // -inf
      {0x00000000, 0x0000},  // +0
      {0x80000000, 0x8000},  // -0
      {0x00000001, 0x0000},  // the smallest denormal rounds to zero
      {0x00008000, 0x0000},  // a denormal tie with an even lsb
      {0x00018000, 0x0002},  // a denormal tie with an odd lsb
      {0x00008001, 0x0001},  // the smallest bfloat16 denormal
      {0x007FFFFF, 0x0080},  // the largest denormal rounds to the smallest normal
  };
  for (const Case& c : cases) {
    CAPTURE(c.in);
    CHECK(to_bfloat16(from_bits(c.in)).bits == c.out);
    // Every bfloat16 is a float32 exactly: the way back is the bit pattern shifted up.
    CHECK(bits_of(to_float(BFloat16{c.out})) == uint32_t(c.out) << 16);
  }
  // Any NaN stays NaN (c10 makes it the quiet NaN 0x7FC0), also one whose payload sits in the low bits
  // only, which plain truncation-with-carry would turn into infinity.
  for (uint32_t nan : {0x7FC00000u, 0xFFC00000u, 0x7F800001u, 0x7FFFFFFFu}) {
    CAPTURE(nan);
    CHECK(std::isnan(to_float(to_bfloat16(from_bits(nan)))));
  }
}

TEST_CASE("Tensor::to(BFloat16) matches torch.tensor(x).bfloat16().float() bit for bit") {
  auto g = load_npz(std::string(CONVGRAD_TEST_DATA) + "/bf16/convert.npz");
  const Tensor x = g.at("x"), want = g.at("y");
  REQUIRE(x.numel() > 5000);
  const Tensor b = x.to(DType::BFloat16);
  CHECK(b.dtype() == DType::BFloat16);
  CHECK(b.storage()->nbytes() == size_t(2 * x.numel()));
  const Tensor back = b.to(DType::Float32);
  const float* pg = back.data<float>();
  const float* pw = want.data<float>();
  int64_t mismatches = 0;
  for (int64_t i = 0; i < x.numel(); ++i) mismatches += bits_of(pg[i]) != bits_of(pw[i]);
  CHECK(mismatches == 0);
  // The element-wise helper and the tensor conversion agree.
  const float* px = x.data<float>();
  for (int64_t i = 0; i < x.numel(); i += 97) CHECK(bits_of(round_to_bfloat16(px[i])) == bits_of(pw[i]));
}

TEST_CASE("bfloat16 tensors: to, element access, copies and views") {
  const Tensor f = testing::floats({1.f, 2.5f, -3.f, 1.00390625f, 7.f, 1e-3f}, {2, 3});
  CHECK(f.to(DType::Float32).is_same(f));
  const Tensor b = f.to(DType::BFloat16);
  CHECK(b.to(DType::BFloat16).is_same(b));
  CHECK(b.at({0, 1}) == 2.5f);
  CHECK(b.at({1, 0}) == 1.f);  // 1 + 2^-8 is a tie: rounds to 1
  CHECK(b.at({1, 2}) == round_to_bfloat16(1e-3f));
  CHECK(b.at({1, 2}) != 1e-3f);
  CHECK(b.at<int64_t>({0, 2}) == -3);
  // A transposed (strided) view converts and copies element by element.
  const Tensor t = transpose(b, 0, 1);
  CHECK(!t.is_contiguous());
  CHECK(t.to_vector() == std::vector<float>{1.f, 1.f, 2.5f, 7.f, -3.f, round_to_bfloat16(1e-3f)});
  const Tensor c = contiguous(t);
  CHECK(c.dtype() == DType::BFloat16);
  CHECK(c.to_vector() == t.to_vector());
  const Tensor cd = clone_data(t);
  CHECK(cd.dtype() == DType::BFloat16);
  CHECK(cd.to_vector() == t.to_vector());
  CHECK(t.to(DType::Float32).to_vector() == t.to_vector());
  // Factories and int64 conversions.
  CHECK(full({3}, 1.00390625, DType::BFloat16).to_vector() == std::vector<float>{1.f, 1.f, 1.f});
  CHECK(zeros({2}, DType::BFloat16).to_vector() == std::vector<float>{0.f, 0.f});
  CHECK(arange(3.0, DType::BFloat16).to_vector() == std::vector<float>{0.f, 1.f, 2.f});
  CHECK(from_vector(std::vector<int64_t>{257, -3}, {2}).to(DType::BFloat16).to_vector() ==
        std::vector<float>{256.f, -3.f});
  CHECK(b.to(DType::Int64).to_vector<int64_t>() == std::vector<int64_t>{1, 2, -3, 1, 7, 0});
}

TEST_CASE("bfloat16 tensors print as PyTorch prints them") {
  CHECK(to_string(testing::floats({1.f, 2.5f}, {2}).to(DType::BFloat16)) ==
        "tensor([1.0000, 2.5000], dtype=torch.bfloat16)");
  CHECK(to_string(full({}, 3.0, DType::BFloat16)) == "tensor(3., dtype=torch.bfloat16)");
  CHECK(to_string(empty({0}, DType::BFloat16)) == "tensor([], dtype=torch.bfloat16)");
  CHECK(to_string(empty({2, 0}, DType::BFloat16)) == "tensor([], size=(2, 0), dtype=torch.bfloat16)");
}

TEST_CASE("a bfloat16 tensor is saved to .npy as float32, exactly") {
  const auto dir = std::filesystem::temp_directory_path() / ("convgrad_bf16_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const Tensor b = testing::floats({1.f, 1e-3f, -65504.f, 3.3895314e38f}, {2, 2}).to(DType::BFloat16);
  save_npy((dir / "b.npy").string(), b);
  const Tensor loaded = load_npy((dir / "b.npy").string());
  CHECK(loaded.dtype() == DType::Float32);
  CHECK(loaded.to_vector() == b.to_vector());
  CHECK(loaded.to(DType::BFloat16).to_vector() == b.to_vector());
  save_npz((dir / "b.npz").string(), {{"b", b}});
  CHECK(load_npz((dir / "b.npz").string()).at("b").to_vector() == b.to_vector());
  std::filesystem::remove_all(dir);
}

TEST_CASE("ops without bfloat16 arithmetic refuse it, naming the op and the dtype") {
  const Tensor b = ones({2, 3}).to(DType::BFloat16), f = ones({2, 3});
  CHECK_THROWS_WITH_AS(add(b, f), doctest::Contains("add: first operand (shape [2, 3]) is bfloat16"), Error);
  CHECK_THROWS_WITH_AS(mul(f, b), doctest::Contains("mul: second operand"), Error);
  CHECK_THROWS_WITH_AS(relu(b), doctest::Contains("relu: input (shape [2, 3]) is bfloat16"), Error);
  CHECK_THROWS_WITH_AS(exp(b), doctest::Contains("exp: input"), Error);
  CHECK_THROWS_WITH_AS(sum(b), doctest::Contains("bfloat16"), Error);
  CHECK_THROWS_WITH_AS(where(f, b, f), doctest::Contains("where: input"), Error);
  CHECK_THROWS_WITH_AS(matmul(b, ones({3, 2})), doctest::Contains("bfloat16"), Error);
  CHECK_THROWS_WITH_AS(conv2d(ones({1, 1, 3, 3}).to(DType::BFloat16), ones({1, 1, 1, 1})),
                       doctest::Contains("conv2d: input must be float32, got bfloat16"), Error);
  CHECK_THROWS_WITH_AS(b.data<float>(), doctest::Contains("holds bfloat16"), Error);
  Tensor leafb = b;
  CHECK_THROWS_WITH_AS(leafb.set_requires_grad(), doctest::Contains("bfloat16"), Error);
}
