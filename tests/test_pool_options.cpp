// max_pool2d / avg_pool2d with ceil_mode, count_include_pad and divisor_override: PyTorch goldens
// over a grid of (kernel, stride, padding, ceil_mode, count_include_pad) plus edge cases
// (tools/gen_pad_pool_goldens.py -> tests/data/padpool/), PyTorch's error cases, gradchecks and
// the MaxPool2d / AvgPool2d layers with the same options.
#include <doctest/doctest.h>

#include <algorithm>
#include <functional>
#include <string>

#include "autograd/gradcheck.h"
#include "autograd/ops_nn.h"
#include "autograd/ops_pool.h"
#include "core/random.h"
#include "layers/pooling.h"
#include "padpool_util.h"

using namespace convgrad;
using padpool::check_close;
using padpool::ints;
using padpool::leaf;

namespace {

// [kh, kw, sh, sw, ph, pw, ceil_mode, count_include_pad, divisor_override]
MaxPool2dOptions max_options(const std::vector<int64_t>& a) {
  return MaxPool2dOptions(Pair{a[0], a[1]})
      .stride(Pair{a[2], a[3]})
      .padding(Pair{a[4], a[5]})
      .ceil_mode(a[6] != 0);
}

AvgPool2dOptions avg_options(const std::vector<int64_t>& a) {
  auto o = AvgPool2dOptions(Pair{a[0], a[1]})
               .stride(Pair{a[2], a[3]})
               .padding(Pair{a[4], a[5]})
               .ceil_mode(a[6] != 0)
               .count_include_pad(a[7] != 0);
  if (a[8] != 0) o.divisor_override(a[8]);
  return o;
}

std::string describe(const std::vector<int64_t>& a) {
  return fmt::format("k=({}, {}) s=({}, {}) p=({}, {}) ceil_mode={} count_include_pad={} divisor_override={}",
                     a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8]);
}

// 0, 1, ..., n - 1 shuffled: values without ties.
std::vector<float> randperm_values(int n, Generator& gen) {
  std::vector<float> v(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) v[static_cast<size_t>(i)] = static_cast<float>(i) / 10.f;
  std::shuffle(v.begin(), v.end(), gen.engine());
  return v;
}

using Op = std::function<Tensor(const Tensor&, const std::vector<int64_t>&)>;

void check_grid(const std::string& file, const Op& op, int64_t min_cases) {
  auto gd = padpool::golden(file);
  const auto count = ints(gd, "count");
  REQUIRE(count[0] >= min_cases);
  for (int64_t i = 0; i < count[0]; ++i) {
    const std::string key = "c" + std::to_string(i) + ".";
    const auto args = ints(gd, key + "args");
    INFO(file << " case " << i << ": " << describe(args) << " input " << shape_str(gd.at(key + "x").shape()));
    Tensor x = leaf(gd.at(key + "x"));
    Tensor y = op(x, args);
    check_close(y, gd.at(key + "y"), "y");
    y.backward(gd.at(key + "g"));
    check_close(x.grad(), gd.at(key + "dx"), "dx");
  }
  REQUIRE(count[1] >= 1);
  for (int64_t j = 0; j < count[1]; ++j) {
    const std::string key = "e" + std::to_string(j) + ".";
    const auto args = ints(gd, key + "args");
    const auto s = ints(gd, key + "shape");
    INFO(file << " error case " << j << ": " << describe(args));
    CHECK_THROWS_AS(op(zeros(Shape(s.begin(), s.end())), args), Error);
  }
}

}  // namespace

TEST_CASE("max_pool2d with ceil_mode matches PyTorch over a grid") {
  check_grid(
      "maxpool_grid", [](const Tensor& x, const auto& a) { return max_pool2d(x, max_options(a)); }, 50);
}

TEST_CASE("avg_pool2d matches PyTorch over a grid of ceil_mode, count_include_pad and divisor_override") {
  check_grid(
      "avgpool_grid", [](const Tensor& x, const auto& a) { return avg_pool2d(x, avg_options(a)); }, 120);
}

TEST_CASE("MaxPool2d and AvgPool2d layers run the same grid") {
  check_grid(
      "maxpool_grid", [](const Tensor& x, const auto& a) { return MaxPool2d(max_options(a)).forward(x); },
      50);
  check_grid(
      "avgpool_grid", [](const Tensor& x, const auto& a) { return AvgPool2d(avg_options(a)).forward(x); },
      120);
}

TEST_CASE("avg_pool2d divisors by hand: 1x5 row, kernel 3, stride 2, padding 1, ceil_mode") {
  const Tensor x = from_vector(std::vector<float>{1, 2, 3, 4, 5}, {1, 1, 1, 5});
  // Windows over the padded row [0 | 1 2 3 4 5 | 0]: [-1, 2), [1, 4), [3, 6): three, the last
  // ending at the right padding. Floor mode has the same three here.
  auto o = AvgPool2dOptions(Pair{1, 3}).stride(Pair{1, 2}).padding(Pair{0, 1}).ceil_mode(true);
  CHECK(avg_pool2d(x, o).to_vector<float>() == std::vector<float>{1.f, 3.f, 3.f});
  CHECK(avg_pool2d(x, o.count_include_pad(false)).to_vector<float>() == std::vector<float>{1.5f, 3.f, 4.5f});
  CHECK(avg_pool2d(x, o.divisor_override(2)).to_vector<float>() == std::vector<float>{1.5f, 4.5f, 4.5f});
  // Width 6: ceil_mode adds a window starting at 5 (inside the input) that hangs past the padding;
  // its count_include_pad divisor stops at the padding: (6 + 0) / 2.
  const Tensor x6 = from_vector(std::vector<float>{1, 2, 3, 4, 5, 6}, {1, 1, 1, 6});
  auto c = AvgPool2dOptions(Pair{1, 3}).stride(Pair{1, 2}).padding(Pair{0, 1}).ceil_mode(true);
  CHECK(avg_pool2d(x6, c).to_vector<float>() == std::vector<float>{1.f, 3.f, 5.f, 3.f});
  CHECK(avg_pool2d(x6, c.ceil_mode(false)).shape() == Shape{1, 1, 1, 3});
}

TEST_CASE("pool options: gradcheck with ceil_mode and each divisor rule") {
  Generator gen(11);
  Tensor x = leaf(randn({2, 2, 6, 5}, gen));
  auto base = AvgPool2dOptions(3).stride(2).padding(1).ceil_mode(true);
  for (auto o :
       {base, AvgPool2dOptions(base).count_include_pad(false), AvgPool2dOptions(base).divisor_override(5)}) {
    auto r = gradcheck([&](const std::vector<Tensor>& in) { return avg_pool2d(in[0], o); }, {x});
    CHECK_MESSAGE(r.ok, r.report);
  }
  // A permutation has no ties, so the max is differentiable everywhere.
  Tensor p = leaf(from_vector(randperm_values(60, gen), {1, 3, 4, 5}));
  auto r = gradcheck(
      [&](const std::vector<Tensor>& in) {
        return max_pool2d(in[0], MaxPool2dOptions(2).stride(2).padding(1).ceil_mode(true));
      },
      {p});
  CHECK_MESSAGE(r.ok, r.report);
}

TEST_CASE("pool options: defaults, legacy overloads and printing") {
  Generator gen(5);
  Tensor x = randn({1, 2, 7, 7}, gen);
  check_close(max_pool2d(x, MaxPool2dOptions(3).stride(2).padding(1)), max_pool2d(x, {3, 3}, {2, 2}, {1, 1}),
              "max legacy");
  check_close(avg_pool2d(x, AvgPool2dOptions(3).stride(2).padding(1)), avg_pool2d(x, {3, 3}, {2, 2}, {1, 1}),
              "avg legacy");
  CHECK(AvgPool2dOptions(2).count_include_pad());
  CHECK(!AvgPool2dOptions(2).ceil_mode());
  CHECK(!AvgPool2dOptions(2).divisor_override().has_value());
  CHECK(to_string(MaxPool2d(MaxPool2dOptions(3).stride(2).ceil_mode(true))) ==
        "MaxPool2d(kernel_size=(3, 3), stride=(2, 2), padding=(0, 0), ceil_mode=True)");
  CHECK(to_string(AvgPool2d(AvgPool2dOptions(2).count_include_pad(false).divisor_override(3))) ==
        "AvgPool2d(kernel_size=(2, 2), stride=(2, 2), padding=(0, 0), count_include_pad=False, "
        "divisor_override=3)");
  CHECK_THROWS_AS(AvgPool2d(AvgPool2dOptions(2).divisor_override(0)), Error);
  CHECK_THROWS_AS(avg_pool2d(x, AvgPool2dOptions(2).divisor_override(0)), Error);
  CHECK_THROWS_AS(max_pool2d(x, MaxPool2dOptions(2).stride(0)), Error);
}

TEST_CASE("pool options: the example of docs/padding-and-pooling.md") {
  Tensor x = from_vector(std::vector<float>{1, 2, 3, 4, 5, 6}, {1, 1, 1, 6});
  // [doc:pool]
  auto o = AvgPool2dOptions(Pair{1, 3}).stride(Pair{1, 2}).padding(Pair{0, 1}).ceil_mode(true);
  Tensor a = avg_pool2d(x, o);                           // 1 3 5 3: 4 windows, the last 6 / 2
  Tensor b = avg_pool2d(x, o.count_include_pad(false));  // 1.5 3 5 6
  Tensor m = max_pool2d(x, MaxPool2dOptions(Pair{1, 2}).ceil_mode(true));  // 2 4 6
  // [/doc]
  CHECK(a.to_vector<float>() == std::vector<float>{1.f, 3.f, 5.f, 3.f});
  CHECK(b.to_vector<float>() == std::vector<float>{1.5f, 3.f, 5.f, 6.f});
  CHECK(m.to_vector<float>() == std::vector<float>{2.f, 4.f, 6.f});
}
