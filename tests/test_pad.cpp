// pad: PyTorch goldens of every mode (tools/gen_pad_pool_goldens.py -> tests/data/padpool/pad.npz),
// including its error cases, plus hand-computed values and finite-difference gradchecks.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "autograd/gradcheck.h"
#include "autograd/ops_pad.h"
#include "autograd/ops_shape.h"
#include "core/random.h"
#include "padpool_util.h"

using namespace convgrad;
using padpool::check_close;
using padpool::ints;
using padpool::leaf;

namespace {

const PadMode kModes[] = {PadMode::Constant, PadMode::Reflect, PadMode::Replicate, PadMode::Circular};

// Decodes [mode, value * 1000, pads...] as written by the generator.
PadFuncOptions decode(const std::vector<int64_t>& args) {
  return PadFuncOptions(std::vector<int64_t>(args.begin() + 2, args.end()))
      .mode(kModes[args[0]])
      .value(static_cast<double>(args[1]) / 1000.0);
}

std::string describe(const std::vector<int64_t>& args) {
  std::string s = kernels::pad_mode_name(kModes[args[0]]);
  for (size_t i = 2; i < args.size(); ++i) s += " " + std::to_string(args[i]);
  return s;
}

Tensor row(std::vector<float> v) {
  const auto n = static_cast<int64_t>(v.size());
  return from_vector(std::move(v), {1, 1, n});
}

}  // namespace

TEST_CASE("pad matches PyTorch in every mode, forward and backward") {
  auto gd = padpool::golden("pad");
  const auto count = ints(gd, "count");
  REQUIRE(count[0] > 60);
  for (int64_t i = 0; i < count[0]; ++i) {
    const std::string key = "c" + std::to_string(i) + ".";
    const auto args = ints(gd, key + "args");
    INFO("case " << i << ": " << describe(args) << " input " << shape_str(gd.at(key + "x").shape()));
    Tensor x = leaf(gd.at(key + "x"));
    Tensor y = pad(x, decode(args));
    check_close(y, gd.at(key + "y"), "y");
    y.backward(gd.at(key + "g"));
    check_close(x.grad(), gd.at(key + "dx"), "dx");
  }
}

TEST_CASE("pad rejects what PyTorch rejects") {
  auto gd = padpool::golden("pad");
  const auto count = ints(gd, "count");
  REQUIRE(count[1] > 20);
  for (int64_t j = 0; j < count[1]; ++j) {
    const std::string key = "e" + std::to_string(j) + ".";
    const auto args = ints(gd, key + "args");
    const auto shape_v = ints(gd, key + "shape");
    INFO("error case " << j << ": " << describe(args) << " input "
                       << shape_str(Shape(shape_v.begin(), shape_v.end())));
    Tensor x = zeros(Shape(shape_v.begin(), shape_v.end()));
    CHECK_THROWS_AS(pad(x, decode(args)), Error);
  }
}

TEST_CASE("pad: hand-computed rows") {
  const Tensor x = row({0, 1, 2, 3});
  CHECK(pad(x, {2, 1}, PadMode::Reflect).to_vector<float>() == std::vector<float>{2, 1, 0, 1, 2, 3, 2});
  CHECK(pad(x, {2, 1}, PadMode::Replicate).to_vector<float>() == std::vector<float>{0, 0, 0, 1, 2, 3, 3});
  CHECK(pad(x, {2, 1}, PadMode::Circular).to_vector<float>() == std::vector<float>{2, 3, 0, 1, 2, 3, 0});
  CHECK(pad(x, {2, 1}, PadMode::Constant, 9).to_vector<float>() == std::vector<float>{9, 9, 0, 1, 2, 3, 9});
  CHECK(pad(x, {-1, -2}).to_vector<float>() == std::vector<float>{1});
  // Reflect mirrors at the uncropped edge; circular wraps what is left after cropping.
  CHECK(pad(x, {-1, 2}, PadMode::Reflect).to_vector<float>() == std::vector<float>{1, 2, 3, 2, 1});
  CHECK(pad(x, {1, -1}, PadMode::Circular).to_vector<float>() == std::vector<float>{2, 0, 1, 2});
  // Each output reads one input element; the gradient counts how often each was read.
  Tensor xl = leaf(x);
  pad(xl, {3, 2}, PadMode::Reflect).backward(ones({1, 1, 9}));
  CHECK(xl.grad().to_vector<float>() == std::vector<float>{1, 3, 3, 2});
}

TEST_CASE("pad: a strided input reads like its contiguous copy") {
  Generator gen(3);
  Tensor base = randn({2, 5, 4, 3}, gen);
  Tensor x = permute(base, {0, 3, 2, 1});  // (2, 3, 4, 5), not contiguous
  REQUIRE(!x.is_contiguous());
  for (PadMode mode : kModes) {
    INFO(kernels::pad_mode_name(mode));
    check_close(pad(x, {2, 1, 1, 3}, mode), pad(clone_data(x), {2, 1, 1, 3}, mode), "strided");
  }
}

TEST_CASE("pad: gradcheck in every mode") {
  Generator gen(7);
  for (PadMode mode : kModes) {
    INFO(kernels::pad_mode_name(mode));
    Tensor x = leaf(randn({2, 2, 3, 4}, gen));
    auto r = gradcheck([&](const std::vector<Tensor>& in) { return pad(in[0], {2, -1, 1, 2}, mode); }, {x});
    CHECK_MESSAGE(r.ok, r.report);
    Tensor x3 = leaf(randn({2, 2, 5}, gen));
    r = gradcheck([&](const std::vector<Tensor>& in) { return pad(in[0], {3, 4}, mode); }, {x3});
    CHECK_MESSAGE(r.ok, r.report);
  }
}

TEST_CASE("pad: errors name the op, the mode and the shapes") {
  Tensor x = zeros({1, 1, 3, 4});
  try {
    pad(x, {4, 0, 0, 0}, PadMode::Reflect);
    FAIL("expected an error");
  } catch (const Error& e) {
    const std::string m = e.what();
    CHECK(m.find("pad: reflect") != std::string::npos);
    CHECK(m.find("[1, 1, 3, 4]") != std::string::npos);
  }
  CHECK_THROWS_AS(pad(x, {1, 1}, PadMode::Reflect, 1.0), Error);  // a value outside constant mode
  CHECK_THROWS_AS(pad(zeros({1, 2}, DType::Int64), {1, 1}, PadMode::Reflect), Error);
  CHECK_THROWS_AS(pad(Tensor(), {1, 1}, PadMode::Replicate), Error);
}

TEST_CASE("pad: the example of docs/padding-and-pooling.md") {
  // [doc:pad]
  Tensor x = from_vector(std::vector<float>{0, 1, 2, 3}, {1, 1, 4});
  Tensor r = pad(x, {2, 1}, PadMode::Reflect);                         // 2 1 0 1 2 3 2
  Tensor c = pad(x, PadFuncOptions({1, -1}).mode(PadMode::Circular));  // 2 0 1 2: crop, then wrap
  Tensor k = pad(x, {1, 1}, 9.f);                                      // 9 0 1 2 3 9
  // [/doc]
  CHECK(r.to_vector<float>() == std::vector<float>{2, 1, 0, 1, 2, 3, 2});
  CHECK(c.to_vector<float>() == std::vector<float>{2, 0, 1, 2});
  CHECK(k.to_vector<float>() == std::vector<float>{9, 0, 1, 2, 3, 9});
}
