// Elementwise ops: PyTorch goldens (tools/gen_math_goldens.py -> tests/data/math/), hand-computed
// broadcasting and dtype cases, gradcheck on every differentiable op, and error messages.
#include <doctest/doctest.h>

#include <cmath>
#include <functional>
#include <limits>
#include <map>
#include <string>

#include "autograd/grad_mode.h"
#include "autograd/gradcheck.h"
#include "autograd/ops_math.h"
#include "core/factory.h"
#include "core/kernels/elementwise.h"
#include "core/npy.h"
#include "core/random.h"
#include "core/threading.h"

using namespace convgrad;

namespace {

using Golden = std::map<std::string, Tensor>;
using Inputs = std::vector<Tensor>;
using Fn = std::function<Tensor(const Inputs&)>;

const float kInf = std::numeric_limits<float>::infinity();

Golden golden(const std::string& name) {
  return load_npz(std::string(CONVGRAD_TEST_DATA) + "/math/" + name + ".npz");
}

Tensor leaf(const Tensor& t) {
  Tensor c = clone_data(t);
  c.set_requires_grad();
  return c;
}

std::vector<float> vals(const Tensor& t) { return t.to_vector<float>(); }

// Same shape and dtype, every |a - b| <= atol + rtol * |b| (NaN only matches NaN).
void check_close(const Tensor& a, const Tensor& b, double atol = 1e-6, double rtol = 1e-5) {
  REQUIRE(a.defined());
  REQUIRE(b.defined());
  REQUIRE_MESSAGE(a.shape() == b.shape(), shape_str(a.shape()) << " vs " << shape_str(b.shape()));
  CHECK(a.dtype() == b.dtype());
  std::vector<double> va = a.to_vector<double>(), vb = b.to_vector<double>();
  for (size_t i = 0; i < va.size(); ++i) {
    bool close = va[i] == vb[i] || std::abs(va[i] - vb[i]) <= atol + rtol * std::abs(vb[i]);
    bool ok = std::isnan(vb[i]) ? std::isnan(va[i]) : close;
    if (!ok) {
      FAIL_CHECK("element " << i << ": got " << va[i] << ", expected " << vb[i]);
      return;
    }
  }
}

void unary_golden(const std::string& name, const std::function<Tensor(const Tensor&)>& fn) {
  INFO("golden " << name);
  Golden gd = golden(name);
  Tensor x = leaf(gd.at("x"));
  Tensor y = fn(x);
  check_close(y, gd.at("y"));
  y.backward(gd.at("g"));
  check_close(x.grad(), gd.at("dx"));
}

void binary_golden(const std::string& name, const std::function<Tensor(const Tensor&, const Tensor&)>& fn) {
  INFO("golden " << name);
  Golden gd = golden(name);
  Tensor a = leaf(gd.at("a")), b = leaf(gd.at("b"));
  Tensor y = fn(a, b);
  check_close(y, gd.at("y"));
  y.backward(gd.at("g"));
  check_close(a.grad(), gd.at("da"));
  check_close(b.grad(), gd.at("db"));
}

void check_grad(const Fn& fn, const std::vector<Tensor>& inputs) {
  GradcheckResult r = gradcheck(fn, inputs);
  CHECK_MESSAGE(r.ok, r.report);
}

}  // namespace

TEST_CASE("binary ops with broadcasting match PyTorch values and gradients") {
  binary_golden("add_bcast", [](const Tensor& a, const Tensor& b) { return a + b; });
  binary_golden("sub_bcast", [](const Tensor& a, const Tensor& b) { return a - b; });
  binary_golden("mul_bcast", [](const Tensor& a, const Tensor& b) { return a * b; });
  binary_golden("div_bcast", [](const Tensor& a, const Tensor& b) { return a / b; });
  binary_golden("div_rev", [](const Tensor& a, const Tensor& b) { return div(a, b); });
  binary_golden("maximum_bcast", [](const Tensor& a, const Tensor& b) { return maximum(a, b); });
  binary_golden("minimum_bcast", [](const Tensor& a, const Tensor& b) { return minimum(a, b); });
  binary_golden("maximum_ties", [](const Tensor& a, const Tensor& b) { return maximum(a, b); });
  binary_golden("minimum_ties", [](const Tensor& a, const Tensor& b) { return minimum(a, b); });
  binary_golden("scalar_mix", [](const Tensor& x, const Tensor& s) { return (2.f - x) * s / 3.f + x / s; });
}

TEST_CASE("unary ops match PyTorch values and gradients") {
  unary_golden("exp", [](const Tensor& x) { return exp(x); });
  unary_golden("log", [](const Tensor& x) { return log(x); });
  unary_golden("sqrt", [](const Tensor& x) { return sqrt(x); });
  unary_golden("pow_frac", [](const Tensor& x) { return pow(x, 2.5f); });
  unary_golden("pow_two", [](const Tensor& x) { return pow(x, 2.f); });
  unary_golden("pow_neg", [](const Tensor& x) { return pow(x, -1.5f); });
  unary_golden("abs", [](const Tensor& x) { return abs(x); });
  unary_golden("relu", [](const Tensor& x) { return relu(x); });
  unary_golden("leaky_relu", [](const Tensor& x) { return leaky_relu(x, 0.2f); });
  unary_golden("sigmoid", [](const Tensor& x) { return sigmoid(x); });
  unary_golden("tanh", [](const Tensor& x) { return tanh(x); });
  unary_golden("clamp", [](const Tensor& x) { return clamp(x, -0.5f, 0.7f); });
  unary_golden("neg", [](const Tensor& x) { return -x; });
}

TEST_CASE("where matches PyTorch and routes gradients to the chosen branch") {
  Golden gd = golden("where");
  Tensor a = leaf(gd.at("a")), b = leaf(gd.at("b"));
  Tensor y = where(gd.at("cond"), a, b);
  check_close(y, gd.at("y"));
  y.backward(gd.at("g"));
  check_close(a.grad(), gd.at("da"));
  check_close(b.grad(), gd.at("db"));
}

TEST_CASE("int64 arithmetic, promotion and casts match PyTorch") {
  Golden gd = golden("int64");
  const Tensor &i = gd.at("i"), &j = gd.at("j"), &f = gd.at("f");
  check_close(i + j, gd.at("add"));
  check_close(i - j, gd.at("sub"));
  check_close(i * j, gd.at("mul"));
  check_close(i / j, gd.at("div"));  // true division gives float32
  check_close(maximum(i, j), gd.at("maximum"));
  check_close(i * f, gd.at("mixed"));  // int64 * float32 -> float32
  check_close(lt(i, j), gd.at("lt"));
  check_close(-i, gd.at("neg"));
  check_close(abs(i), gd.at("abs"));
  check_close(i * 2.f, gd.at("times2"));  // an integral scalar keeps int64
  check_close(to_dtype(tensor({-2.7f, -0.5f, 0.5f, 2.7f, 1e3f}), DType::Int64), gd.at("cast"));
  CHECK((i * 2.5f).dtype() == DType::Float32);
  CHECK((i + 1.f).to_vector<int64_t>() == std::vector<int64_t>{8, -6, 4, 1, 11, -3});
  CHECK(to_dtype(i, DType::Float32).to_vector() == std::vector<float>{7, -7, 3, 0, 10, -4});
  CHECK(exp(from_vector(std::vector<int64_t>{0}, {1})).item() == 1.f);  // float ops promote
}

TEST_CASE("broadcasting edge cases: size-1 dims, scalars, mismatched ranks, empty") {
  Tensor col = from_vector(std::vector<float>{1, 2}, {2, 1});  // (2, 1)
  Tensor row = tensor({10.f, 20.f, 30.f});                     // (3)
  Tensor s = full({}, 0.5);                                    // 0-d
  Tensor out = col + row;
  CHECK(out.shape() == Shape{2, 3});
  CHECK(vals(out) == std::vector<float>{11, 21, 31, 12, 22, 32});
  CHECK((row * s).shape() == Shape{3});
  CHECK(vals(row * s) == std::vector<float>{5, 10, 15});
  CHECK((s + s).shape() == Shape{});
  CHECK((s - s).item() == 0.f);
  // (2, 1, 1) with (1, 3): both sides expand, ranks differ.
  Tensor x = from_vector(std::vector<float>{1, 2}, {2, 1, 1});
  Tensor y = from_vector(std::vector<float>{1, 2, 3}, {1, 3});
  CHECK((x * y).shape() == Shape{2, 1, 3});
  CHECK(vals(x * y) == std::vector<float>{1, 2, 3, 2, 4, 6});
  // Size-0 dims broadcast like any other size.
  CHECK((zeros({0, 3}) + row).shape() == Shape{0, 3});
  CHECK((zeros({0, 1}) + zeros({1, 4})).numel() == 0);
  // Non-contiguous inputs: a transposed view and a stride-0 view.
  Tensor base = from_vector(std::vector<float>{0, 1, 2, 3, 4, 5}, {2, 3});
  Tensor t = as_strided(base, {3, 2}, {1, 3}, 0);
  CHECK(vals(t + 1.f) == std::vector<float>{1, 4, 2, 5, 3, 6});
  CHECK(vals(t * t) == std::vector<float>{0, 9, 1, 16, 4, 25});
  Tensor rep = as_strided(base, {2, 3}, {0, 1}, 3);  // row [3, 4, 5] twice
  CHECK(vals(rep - base) == std::vector<float>{3, 3, 3, 0, 0, 0});
  CHECK(vals(exp(as_strided(base, {2}, {3}, 0))) == std::vector<float>{1.f, std::exp(3.f)});
}

TEST_CASE("incompatible shapes throw an Error naming the op and both shapes") {
  Tensor a = zeros({2, 3}), b = zeros({4});
  CHECK_THROWS_WITH_AS(a + b, doctest::Contains("add: shapes [2, 3] and [4] cannot be broadcast"), Error);
  CHECK_THROWS_WITH_AS(mul(zeros({2, 3, 4}), zeros({3, 2, 4})), doctest::Contains("[3, 2, 4]"), Error);
  CHECK_THROWS_WITH_AS(lt(a, b), doctest::Contains("lt"), Error);
  CHECK_THROWS_WITH_AS(where(zeros({5}), a, a), doctest::Contains("where"), Error);
  CHECK_THROWS_WITH_AS(sum_to(a, {4}), doctest::Contains("sum_to: shape [2, 3] cannot be summed down to [4]"),
                       Error);
  CHECK_THROWS_WITH_AS(sum_to(a, {1, 2, 3}), doctest::Contains("cannot be summed"), Error);
  CHECK_THROWS_WITH_AS(exp(Tensor()), doctest::Contains("undefined"), Error);
}

TEST_CASE("sum_to reduces broadcast dims and is differentiable") {
  Tensor x = from_vector(std::vector<float>{1, 2, 3, 4, 5, 6}, {2, 3});
  CHECK(vals(sum_to(x, {3})) == std::vector<float>{5, 7, 9});
  CHECK(vals(sum_to(x, {2, 1})) == std::vector<float>{6, 15});
  CHECK(sum_to(x, {}).item() == 21.f);
  CHECK(sum_to(x, {1, 1}).shape() == Shape{1, 1});
  CHECK(sum_to(x, {2, 3}).is_same(x));
  CHECK(sum_to(from_vector(std::vector<int64_t>{1, 2, 3, 4}, {2, 2}), {2}).to_vector<int64_t>() ==
        std::vector<int64_t>{4, 6});
  check_grad([](const Inputs& in) { return sum_to(in[0], {3, 1}); }, {leaf(randn({2, 3, 4}))});
}

TEST_CASE("large loops split across threads give the serial result") {
  int saved = get_num_threads();
  Generator gen(3);
  Tensor a = randn({64, 33, 40}, gen), b = randn({33, 1}, gen);
  std::vector<float> va = vals(a), vb = vals(b);
  for (int threads : {1, 2}) {
    set_num_threads(threads);
    std::vector<float> sum = vals(a + b), grad_b = vals(sum_to(a, {33, 1})), s = vals(sigmoid(a));
    bool ok = true;
    for (size_t i = 0; i < va.size(); ++i) ok = ok && sum[i] == va[i] + vb[(i / 40) % 33];
    CHECK(ok);
    for (int64_t c = 0; c < 33; ++c) {
      double want = 0;
      for (int64_t n = 0; n < 64; ++n)
        for (int64_t w = 0; w < 40; ++w) want += va[static_cast<size_t>((n * 33 + c) * 40 + w)];
      CHECK(grad_b[static_cast<size_t>(c)] == doctest::Approx(want).epsilon(1e-6));
    }
    CHECK(s[1000] == doctest::Approx(1.0 / (1.0 + std::exp(-va[1000]))).epsilon(1e-6));
  }
  set_num_threads(saved);
}

TEST_CASE("gradcheck passes on every differentiable op, broadcasting included") {
  Generator gen(7);
  auto r = [&](const Shape& s) { return leaf(randn(s, gen)); };
  auto pos = [&](const Shape& s) { return leaf(add(rand(s, gen), full({}, 0.5))); };
  check_grad([](const Inputs& in) { return in[0] + in[1]; }, {r({2, 3, 4}), r({3, 1})});
  check_grad([](const Inputs& in) { return in[0] - in[1]; }, {r({4}), r({2, 3, 4})});
  check_grad([](const Inputs& in) { return in[0] * in[1]; }, {r({2, 1, 4}), r({3, 1})});
  check_grad([](const Inputs& in) { return in[0] / in[1]; }, {r({2, 3}), pos({3})});
  check_grad([](const Inputs& in) { return in[0] / in[1]; }, {r({}), pos({2, 2})});
  check_grad([](const Inputs& in) { return maximum(in[0], in[1]); }, {r({2, 3}), r({3})});
  check_grad([](const Inputs& in) { return minimum(in[0], in[1]); }, {r({2, 1}), r({1, 3})});
  check_grad([](const Inputs& in) { return -in[0] * 2.f + 1.f - 3.f / in[1]; }, {r({3}), pos({3})});
  check_grad([](const Inputs& in) { return exp(in[0]); }, {r({2, 3})});
  check_grad([](const Inputs& in) { return log(in[0]); }, {pos({2, 3})});
  check_grad([](const Inputs& in) { return sqrt(in[0]); }, {pos({2, 3})});
  check_grad([](const Inputs& in) { return pow(in[0], 3.f); }, {r({2, 3})});
  check_grad([](const Inputs& in) { return pow(in[0], -0.5f); }, {pos({2, 3})});
  check_grad([](const Inputs& in) { return abs(in[0]); }, {pos({4})});
  check_grad([](const Inputs& in) { return abs(-in[0]); }, {pos({4})});
  check_grad([](const Inputs& in) { return relu(in[0]); }, {leaf(tensor({-1.f, -0.3f, 0.4f, 2.f}))});
  check_grad([](const Inputs& in) { return leaky_relu(in[0], 0.1f); },
             {leaf(tensor({-1.f, -0.3f, 0.4f, 2.f}))});
  check_grad([](const Inputs& in) { return sigmoid(in[0]); }, {r({2, 3})});
  check_grad([](const Inputs& in) { return tanh(in[0]); }, {r({2, 3})});
  check_grad([](const Inputs& in) { return clamp(in[0], -0.5f, 0.5f); },
             {leaf(tensor({-1.f, -0.3f, 0.2f, 0.9f}))});
  Tensor cond = tensor({1.f, 0.f, 1.f});
  check_grad([cond](const Inputs& in) { return where(cond, in[0], in[1]); }, {r({2, 3}), r({2, 1})});
  check_grad([](const Inputs& in) { return clone(in[0]) * in[0]; }, {r({3})});
  check_grad([](const Inputs& in) { return sum_to(in[0] * in[1], {1, 3}); }, {r({2, 3}), r({3})});
}

TEST_CASE("special values behave like PyTorch") {
  // sigmoid saturates without overflow, and keeps the tiny tail.
  std::vector<float> s = vals(sigmoid(tensor({-1000.f, -100.f, 0.f, 100.f, 1000.f})));
  CHECK(s[0] == 0.f);
  CHECK(s[1] == doctest::Approx(3.7200759e-44).epsilon(1e-3));
  CHECK(s[2] == 0.5f);
  CHECK(s[3] == 1.f);
  CHECK(s[4] == 1.f);
  std::vector<float> l = vals(log(tensor({0.f, 1.f, -1.f})));
  CHECK(l[0] == -kInf);
  CHECK(l[1] == 0.f);
  CHECK(std::isnan(l[2]));
  // maximum/minimum propagate NaN, relu keeps it.
  float nan = std::numeric_limits<float>::quiet_NaN();
  CHECK(std::isnan(vals(maximum(tensor({nan, 1.f}), tensor({0.f, nan})))[0]));
  CHECK(std::isnan(vals(minimum(tensor({nan, 1.f}), tensor({0.f, nan})))[1]));
  CHECK(std::isnan(vals(relu(tensor({nan})))[0]));
  CHECK(vals(clamp(tensor({-3.f, 3.f}), 1.f, 0.f)) == std::vector<float>{0.f, 0.f});  // lo > hi gives hi
  CHECK(vals(to_dtype(to_dtype(tensor({nan}), DType::Int64), DType::Float32))[0] == -9.223372e18f);
}

TEST_CASE("gradient conventions at kinks and ties") {
  // abs: 0 at 0. clamp: 1 on the closed interval. relu: 0 at 0. maximum: ties split 0.5 / 0.5.
  Tensor x = leaf(tensor({-1.f, 0.f, 2.f}));
  abs(x).backward(ones({3}));
  CHECK(vals(x.grad()) == std::vector<float>{-1, 0, 1});
  Tensor c = leaf(tensor({-1.f, -0.5f, 0.f, 0.5f, 1.f}));
  clamp(c, -0.5f, 0.5f).backward(ones({5}));
  CHECK(vals(c.grad()) == std::vector<float>{0, 1, 1, 1, 0});
  Tensor z = leaf(tensor({0.f, 1.f}));
  relu(z).backward(ones({2}));
  CHECK(vals(z.grad()) == std::vector<float>{0, 1});
  Tensor a = leaf(tensor({1.f, 2.f})), b = leaf(tensor({1.f, 3.f}));
  maximum(a, b).backward(ones({2}));
  CHECK(vals(a.grad()) == std::vector<float>{0.5f, 0.f});
  CHECK(vals(b.grad()) == std::vector<float>{0.5f, 1.f});
  // pow(x, 0) has gradient 0 everywhere, like PyTorch.
  Tensor p = leaf(tensor({0.f, 2.f}));
  pow(p, 0.f).backward(ones({2}));
  CHECK(vals(p.grad()) == std::vector<float>{0, 0});
  // A broadcast scalar operand gets the summed gradient.
  Tensor w = leaf(full({}, 2.0));
  (tensor({1.f, 2.f, 3.f}) * w).backward(ones({3}));
  CHECK(w.grad().shape() == Shape{});
  CHECK(w.grad().item() == 6.f);
}

TEST_CASE("comparisons give float32 0/1 with broadcasting and record no graph") {
  Tensor a = leaf(tensor({1.f, 2.f, 3.f}));
  Tensor b = full({}, 2.0);
  CHECK(vals(eq(a, b)) == std::vector<float>{0, 1, 0});
  CHECK(vals(ne(a, b)) == std::vector<float>{1, 0, 1});
  CHECK(vals(lt(a, b)) == std::vector<float>{1, 0, 0});
  CHECK(vals(le(a, b)) == std::vector<float>{1, 1, 0});
  CHECK(vals(gt(a, b)) == std::vector<float>{0, 0, 1});
  CHECK(vals(ge(a, b)) == std::vector<float>{0, 1, 1});
  CHECK(gt(a, b).dtype() == DType::Float32);
  CHECK_FALSE(gt(a, b).requires_grad());
  CHECK(gt(from_vector(std::vector<float>{1, 5}, {2, 1}), a).shape() == Shape{2, 3});
  Tensor ints = from_vector(std::vector<int64_t>{1, 2, 3}, {3});
  CHECK(vals(ge(ints, from_vector(std::vector<int64_t>{2}, {1}))) == std::vector<float>{0, 1, 1});
  CHECK(vals(eq(ints, a)) == std::vector<float>{1, 1, 1});  // mixed dtypes compare as float32
}

TEST_CASE("allclose, to_dtype and clone") {
  float nan = std::numeric_limits<float>::quiet_NaN();
  CHECK(allclose(tensor({1.f, 2.f}), tensor({1.f, 2.00001f})));
  CHECK_FALSE(allclose(tensor({1.f, 2.f}), tensor({1.f, 2.1f})));
  CHECK_FALSE(allclose(tensor({1.f, 2.f}), tensor({{1.f, 2.f}})));  // shape mismatch
  CHECK_FALSE(allclose(tensor({nan}), tensor({nan})));
  CHECK(allclose(tensor({kInf}), tensor({kInf})));
  CHECK(allclose(tensor({1.f}), tensor({1.5f}), 0.0, 0.5));
  Tensor x = leaf(tensor({1.5f, -2.5f}));
  CHECK(to_dtype(x, DType::Float32).is_same(x));
  Tensor i = to_dtype(x, DType::Int64);
  CHECK(i.dtype() == DType::Int64);
  CHECK(i.to_vector<int64_t>() == std::vector<int64_t>{1, -2});
  CHECK_FALSE(i.requires_grad());
  Tensor c = clone(x);
  CHECK(c.requires_grad());
  CHECK(c.storage() != x.storage());
  c.data<float>()[0] = 9.f;
  CHECK(x.at({0}) == 1.5f);
  (clone(x) * 3.f).backward(ones({2}));
  CHECK(vals(x.grad()) == std::vector<float>{3, 3});
}

TEST_CASE("no graph is recorded without grad inputs or under NoGradGuard") {
  Tensor x = leaf(tensor({1.f, 2.f}));
  CHECK((x * 2.f).requires_grad());
  CHECK_FALSE((tensor({1.f}) + tensor({2.f})).requires_grad());
  {
    NoGradGuard guard;
    CHECK_FALSE(exp(x).requires_grad());
  }
}
