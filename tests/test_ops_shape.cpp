// Views and layout ops: values, storage sharing of views, gradients (gradcheck and PyTorch goldens
// from tools/gen_shape_goldens.py) and error messages.
#include <doctest/doctest.h>

#include <map>
#include <string>

#include "autograd/gradcheck.h"
#include "autograd/ops_reduce.h"
#include "autograd/ops_shape.h"
#include "core/factory.h"
#include "core/npy.h"
#include "core/random.h"

using namespace convgrad;

namespace {

using Fn = std::function<Tensor(const std::vector<Tensor>&)>;

Tensor floats(const std::vector<float>& values, const Shape& shape) { return from_vector(values, shape); }
std::vector<float> values(std::initializer_list<float> v) { return v; }

Tensor leaf(Tensor t) {
  t.set_requires_grad();
  return t;
}

// 0, 1, 2, ... in `shape`.
Tensor iota(const Shape& shape) { return reshape(arange(static_cast<double>(shape_numel(shape))), shape); }

void check_close(const Tensor& a, const Tensor& b, float atol = 1e-6f) {
  REQUIRE_MESSAGE(a.shape() == b.shape(), shape_str(a.shape()) << " vs " << shape_str(b.shape()));
  std::vector<float> va = a.to_vector(), vb = b.to_vector();
  for (size_t i = 0; i < va.size(); ++i)
    if (!(std::fabs(va[i] - vb[i]) <= atol)) {  // NaN fails
      CHECK_MESSAGE(false, "element " << i << ": got " << va[i] << ", expected " << vb[i]);
      return;
    }
}

void check_golden(const std::string& name, const std::function<Tensor(const Tensor&)>& fn) {
  INFO("golden case " << name);
  auto gd = load_npz(std::string(CONVGRAD_TEST_DATA) + "/shape/" + name + ".npz");
  Tensor x = leaf(gd["x"]);
  Tensor y = fn(x);
  check_close(y, gd["y"]);
  y.backward(gd["g"]);
  check_close(x.grad(), gd["dx"], 1e-5f);
}

void check_grad(const Fn& fn, const std::vector<Tensor>& inputs) {
  auto r = gradcheck(fn, inputs);
  CHECK_MESSAGE(r.ok, r.report);
}

// True when writing through `view` changes `base` (they share storage).
bool shares(const Tensor& base, const Tensor& view) { return base.storage() == view.storage(); }

}  // namespace

TEST_CASE("reshape, view and flatten: views of contiguous data, copies otherwise") {
  Tensor x = iota({2, 3, 4});
  Tensor r = reshape(x, {4, -1});
  CHECK(r.shape() == Shape{4, 6});
  CHECK(shares(x, r));
  r.data<float>()[5] = 100.f;  // r[0][5] is x[0][1][1]
  CHECK(x.at({0, 1, 1}) == 100.f);
  CHECK(view(x, {24}).to_vector() == x.to_vector());
  CHECK(reshape(x, {-1}).shape() == Shape{24});
  CHECK(reshape(full({}, 2.0), {1, 1}).shape() == Shape{1, 1});
  CHECK(reshape(zeros({0, 4}), {2, 0, 3}).shape() == Shape{2, 0, 3});
  CHECK_THROWS_WITH_AS(reshape(zeros({0, 4}), {2, 0, -1}), doctest::Contains("cannot be inferred"), Error);

  // A transposed view is copied into the new shape in row-major order.
  Tensor t = transpose(iota({2, 3}), 0, 1);  // [[0, 3], [1, 4], [2, 5]]
  Tensor rt = reshape(t, {6});
  CHECK(rt.to_vector() == values({0, 3, 1, 4, 2, 5}));
  CHECK(!shares(t, rt));

  CHECK(flatten(x).shape() == Shape{24});
  CHECK(flatten(x, 1).shape() == Shape{2, 12});
  CHECK(flatten(x, 0, 1).shape() == Shape{6, 4});
  CHECK(flatten(full({}, 1.0)).shape() == Shape{1});
  CHECK(shares(x, flatten(x, 1)));

  Generator gen(5);
  Tensor g = leaf(randn({2, 3, 4}, gen));
  check_grad([](const std::vector<Tensor>& in) { return reshape(in[0], {4, 3, 2}); }, {g});
  check_grad([](const std::vector<Tensor>& in) { return reshape(transpose(in[0], 0, 2), {-1, 6}); }, {g});
  check_grad([](const std::vector<Tensor>& in) { return flatten(in[0], 1, 2); }, {g});
}

TEST_CASE("permute, transpose and contiguous") {
  Tensor x = iota({2, 3, 4});
  Tensor p = permute(x, {2, 0, 1});
  CHECK(p.shape() == Shape{4, 2, 3});
  CHECK(p.strides() == Shape{1, 12, 4});
  CHECK(!p.is_contiguous());
  CHECK(p.at({3, 1, 2}) == x.at({1, 2, 3}));
  CHECK(shares(x, p));
  x.data<float>()[23] = -1.f;
  CHECK(p.at({3, 1, 2}) == -1.f);
  CHECK(permute(x, {-1, 0, 1}).shape() == Shape{4, 2, 3});

  Tensor t = transpose(x, -1, 0);
  CHECK(t.shape() == Shape{4, 3, 2});
  CHECK(t.at({1, 2, 0}) == x.at({0, 2, 1}));

  Tensor c = contiguous(t);
  CHECK(c.is_contiguous());
  CHECK(!shares(x, c));
  CHECK(c.to_vector() == t.to_vector());
  CHECK(contiguous(x).is_same(x));  // already contiguous: x itself

  Generator gen(6);
  Tensor g = leaf(randn({2, 3, 4}, gen));
  check_grad([](const std::vector<Tensor>& in) { return permute(in[0], {1, 2, 0}); }, {g});
  check_grad([](const std::vector<Tensor>& in) { return transpose(in[0], 0, 1); }, {g});
  check_grad([](const std::vector<Tensor>& in) { return contiguous(permute(in[0], {2, 1, 0})); }, {g});
  check_golden("permute_reshape", [](const Tensor& v) {
    return reshape(permute(v, {2, 0, 3, 1}), {4, -1, 3});
  });
}

TEST_CASE("unsqueeze and squeeze") {
  Tensor x = iota({2, 3});
  Tensor u = unsqueeze(x, 1);
  CHECK(u.shape() == Shape{2, 1, 3});
  CHECK(shares(x, u));
  CHECK(unsqueeze(x, -1).shape() == Shape{2, 3, 1});
  CHECK(unsqueeze(x, 0).shape() == Shape{1, 2, 3});
  CHECK(unsqueeze(full({}, 1.0), 0).shape() == Shape{1});
  CHECK(unsqueeze(x, 2).is_contiguous());
  Tensor s = squeeze(u, 1);
  CHECK(s.shape() == Shape{2, 3});
  CHECK(s.to_vector() == x.to_vector());
  CHECK(squeeze(x, 0).shape() == Shape{2, 3});  // size != 1: unchanged, like PyTorch
  CHECK(squeeze(zeros({1}), 0).shape() == Shape{});

  Generator gen(7);
  Tensor g = leaf(randn({3, 1, 2}, gen));
  check_grad([](const std::vector<Tensor>& in) { return unsqueeze(in[0], 3); }, {g});
  check_grad([](const std::vector<Tensor>& in) { return squeeze(in[0], -2); }, {g});
}

TEST_CASE("slice and select: Python clamping, steps, shared storage, gradients") {
  Tensor x = iota({4, 5});
  Tensor s = slice(x, 1, 1, 4);
  CHECK(s.shape() == Shape{4, 3});
  CHECK(s.at({0, 0}) == 1.f);
  CHECK(shares(x, s));
  s.data<float>()[0] = 50.f;  // s[0][0] is x[0][1]
  CHECK(x.at({0, 1}) == 50.f);

  CHECK(slice(x, 1, -2, 100).to_vector() == values({3, 4, 8, 9, 13, 14, 18, 19}));
  CHECK(slice(x, 0, -100, 2).shape() == Shape{2, 5});
  CHECK(slice(x, 1, 0, 5, 2).to_vector() == values({0, 2, 4, 5, 7, 9, 10, 12, 14, 15, 17, 19}));
  CHECK(slice(x, 0, 3, 1).shape() == Shape{0, 5});  // empty, like x[3:1]
  CHECK(slice(slice(x, 1, 1, 5), 1, 1, 3).to_vector() == values({2, 3, 7, 8, 12, 13, 17, 18}));

  Tensor r = select(x, 0, -1);
  CHECK(r.shape() == Shape{5});
  CHECK(r.to_vector() == values({15, 16, 17, 18, 19}));
  CHECK(select(x, 1, 2).to_vector() == values({2, 7, 12, 17}));
  CHECK(select(select(x, 1, 3), 0, 2).item() == 13.f);
  CHECK(shares(x, r));

  // The gradient lands in the sliced / selected positions, zero elsewhere.
  Tensor a = leaf(zeros({2, 4}));
  slice(a, 1, 1, 4, 2).backward(floats({1, 2, 3, 4}, {2, 2}));
  CHECK(a.grad().to_vector() == values({0, 1, 0, 2, 0, 3, 0, 4}));

  Generator gen(8);
  Tensor g = leaf(randn({3, 4, 5}, gen));
  check_grad([](const std::vector<Tensor>& in) { return slice(in[0], 2, -4, 5, 2); }, {g});
  check_grad([](const std::vector<Tensor>& in) { return select(in[0], 1, -2); }, {g});
  check_grad(
      [](const std::vector<Tensor>& in) { return select(slice(transpose(in[0], 0, 2), 0, 1, 4), 2, 1); },
      {g});
  check_golden("slice_step", [](const Tensor& v) {
    return slice(slice(slice(slice(v, 1, 1, 3), 2, -3, 10, 2), 3, 0, 5, 3), 0, 0, 2);
  });
}

TEST_CASE("slice with a start, end or step near INT64_MAX gives Python's slice lengths without overflowing") {
  const int64_t kMax = INT64_MAX, kMin = INT64_MIN;
  Tensor x = iota({10});
  // x[9:MAX:MAX], x[0:MAX:MAX]: one element each (the step jumps past the end).
  CHECK(slice(x, 0, 9, kMax, kMax).shape() == Shape{1});
  CHECK(slice(x, 0, 9, kMax, kMax).item() == 9.f);
  CHECK(slice(x, 0, 0, kMax, kMax).to_vector() == values({0}));
  CHECK(slice(x, 0, kMin, kMax, kMax - 1).to_vector() == values({0}));
  CHECK(slice(x, 0, 3, kMax, 4).to_vector() == values({3, 7}));
  CHECK(slice(x, 0, kMax, kMax, 1).shape() == Shape{0});
  CHECK(slice(x, 0, kMin, kMin, 1).shape() == Shape{0});
  CHECK(slice(x, 0, kMin, 2, kMax).to_vector() == values({0}));
  // A one-element result of a big step is still a valid view (and gradient).
  Tensor a = leaf(zeros({2, 4}));
  Tensor one = slice(a, 1, 2, kMax, kMax);
  CHECK(one.shape() == Shape{2, 1});
  one.backward(floats({5, 6}, {2, 1}));
  CHECK(a.grad().to_vector() == values({0, 0, 5, 0, 0, 0, 6, 0}));
}

TEST_CASE("expand: stride-0 views whose gradient sums the copies") {
  Tensor x = floats({1, 2, 3}, {3, 1});
  Tensor e = expand(x, {2, 3, 4});
  CHECK(e.shape() == Shape{2, 3, 4});
  CHECK(e.strides() == Shape{0, 1, 0});
  CHECK(shares(x, e));
  CHECK(e.at({1, 2, 3}) == 3.f);
  CHECK(expand(x, {-1, 2}).shape() == Shape{3, 2});

  // PyTorch golden: y = x.expand(4, 3, 5, 2) backpropagated with g * k (k = index along dim 2).
  auto gd = load_npz(std::string(CONVGRAD_TEST_DATA) + "/shape/expand_sum.npz");
  Tensor xs = leaf(gd["x"]);
  Tensor y = expand(xs, {4, 3, 5, 2});
  std::vector<float> g = gd["g"].to_vector(), yv = y.to_vector(), want = gd["y"].to_vector();
  for (size_t i = 0; i < g.size(); ++i) {
    float k = static_cast<float>((i / 2) % 5);
    g[i] *= k;
    yv[i] *= k;
  }
  check_close(floats(yv, y.shape()), gd["y"]);
  y.backward(floats(g, y.shape()));
  check_close(xs.grad(), gd["dx"], 1e-5f);

  Generator gen(9);
  check_grad(
      [](const std::vector<Tensor>& in) {
        return expand(in[0], {2, 3, 4});
      },
      {leaf(randn({3, 1}, gen))});
}

TEST_CASE("concat and stack") {
  Tensor a = iota({2, 2}), b = floats({10, 11, 12, 13, 14, 15}, {2, 3});
  Tensor c = concat({a, b}, 1);
  CHECK(c.shape() == Shape{2, 5});
  CHECK(c.to_vector() == values({0, 1, 10, 11, 12, 2, 3, 13, 14, 15}));
  CHECK(concat({a, a, a}, -2).shape() == Shape{6, 2});
  CHECK(concat({a, zeros({0, 2})}, 0).to_vector() == a.to_vector());
  CHECK(concat({transpose(a, 0, 1)}, 0).to_vector() == values({0, 2, 1, 3}));
  Tensor li =
      concat({from_vector(std::vector<int64_t>{1, 2}, {2}), from_vector(std::vector<int64_t>{3}, {1})}, 0);
  CHECK(li.dtype() == DType::Int64);
  CHECK(li.to_vector<int64_t>() == std::vector<int64_t>{1, 2, 3});

  Tensor s = stack({a, a}, 1);
  CHECK(s.shape() == Shape{2, 2, 2});
  CHECK(s.to_vector() == values({0, 1, 0, 1, 2, 3, 2, 3}));
  CHECK(stack({a, a, a}, -1).shape() == Shape{2, 2, 3});
  CHECK(stack({full({}, 1.0), full({}, 2.0)}, 0).to_vector() == values({1, 2}));

  Generator gen(10);
  Tensor x = leaf(randn({2, 3}, gen)), y = leaf(randn({2, 1}, gen)), z = leaf(randn({2, 3}, gen));
  check_grad([](const std::vector<Tensor>& in) { return concat({in[0], in[1], in[0]}, 1); }, {x, y});
  check_grad([](const std::vector<Tensor>& in) { return stack({in[0], in[1]}, 2); }, {x, z});
}

TEST_CASE("pad: constant padding, negative pads crop, PyTorch goldens") {
  Tensor x = floats({1, 2, 3}, {3});
  CHECK(pad(x, {2, 1}).to_vector() == values({0, 0, 1, 2, 3, 0}));
  CHECK(pad(x, {-1, 1}, 9.f).to_vector() == values({2, 3, 9}));
  CHECK(pad(x, {-3, 0}).shape() == Shape{0});
  CHECK(pad(x, {}).to_vector() == x.to_vector());
  Tensor m = pad(iota({2, 2}), {0, 0, 1, 0}, -1.f);
  CHECK(m.to_vector() == values({-1, -1, 0, 1, 2, 3}));
  // Padding a strided view reads it correctly.
  CHECK(pad(transpose(iota({2, 2}), 0, 1), {1, 0}).to_vector() == values({0, 0, 2, 0, 1, 3}));

  check_golden("pad_mixed", [](const Tensor& v) { return pad(v, {2, -1, -1, 3}, 0.5f); });
  check_golden("pad_three_dims", [](const Tensor& v) { return pad(v, {1, 1, 0, 2, 1, 0}); });
  Generator gen(11);
  check_grad(
      [](const std::vector<Tensor>& in) {
        return pad(in[0], {1, -2, -1, 2});
      },
      {leaf(randn({3, 4}, gen))});
}

TEST_CASE("views of an int64 tensor and chains of views keep values") {
  Tensor i = from_vector(std::vector<int64_t>{0, 1, 2, 3, 4, 5}, {2, 3});
  CHECK(transpose(i, 0, 1).to_vector<int64_t>() == std::vector<int64_t>{0, 3, 1, 4, 2, 5});
  CHECK(reshape(slice(i, 1, 1, 3), {4}).to_vector<int64_t>() == std::vector<int64_t>{1, 2, 4, 5});
  // A gradient through a long chain of views reaches the leaf intact.
  Tensor x = leaf(iota({2, 3, 4}));
  Tensor y = sum(select(unsqueeze(flatten(permute(x, {1, 0, 2}), 1), 0), 0, 0));
  y.backward();
  CHECK(x.grad().to_vector() == std::vector<float>(24, 1.f));
}

TEST_CASE("shape ops reject bad arguments with useful messages") {
  Tensor x = zeros({2, 3});
  CHECK_THROWS_WITH_AS(reshape(x, {4, 2}),
                       doctest::Contains("shape [2, 3] (6 elements) into shape [4, 2] (8 elements)"), Error);
  CHECK_THROWS_WITH_AS(reshape(x, {-1, -1}), doctest::Contains("only one size may be -1"), Error);
  CHECK_THROWS_WITH_AS(reshape(x, {4, -1}), doctest::Contains("cannot be inferred"), Error);
  CHECK_THROWS_WITH_AS(reshape(x, {-2, 3}), doctest::Contains("invalid size -2"), Error);
  CHECK_THROWS_WITH_AS(permute(x, {0, 0}), doctest::Contains("appears more than once"), Error);
  CHECK_THROWS_WITH_AS(permute(x, {0}), doctest::Contains("got 1 dims [0] for a tensor of shape [2, 3]"),
                       Error);
  CHECK_THROWS_WITH_AS(permute(x, {0, 2}), doctest::Contains("out of range"), Error);
  CHECK_THROWS_WITH_AS(transpose(x, 0, 2), doctest::Contains("transpose: dim 2 is out of range"), Error);
  CHECK_THROWS_WITH_AS(flatten(zeros({2, 3, 4}), 2, 1), doctest::Contains("comes after"), Error);
  CHECK_THROWS_WITH_AS(unsqueeze(x, 3), doctest::Contains("unsqueeze"), Error);
  CHECK_THROWS_WITH_AS(slice(x, 1, 0, 2, 0), doctest::Contains("step must be positive, got 0"), Error);
  CHECK_THROWS_WITH_AS(slice(x, 1, 0, 2, -1), doctest::Contains("step must be positive"), Error);
  CHECK_THROWS_WITH_AS(select(x, 0, 2), doctest::Contains("index 2 is out of range for dim 0 of size 2"),
                       Error);
  CHECK_THROWS_WITH_AS(expand(x, {2, 4}), doctest::Contains("cannot expand dim 1 of size 3 to size 4"),
                       Error);
  CHECK_THROWS_WITH_AS(expand(x, {3}), doctest::Contains("fewer dims"), Error);
  CHECK_THROWS_WITH_AS(concat({}, 0), doctest::Contains("empty list"), Error);
  CHECK_THROWS_WITH_AS(concat({x, zeros({3, 3})}, 1),
                       doctest::Contains("tensor 1 has shape [3, 3], tensor 0 has shape [2, 3]"), Error);
  CHECK_THROWS_WITH_AS(concat({x, zeros({2, 3}, DType::Int64)}, 0), doctest::Contains("int64"), Error);
  CHECK_THROWS_WITH_AS(stack({x, zeros({3, 2})}, 0), doctest::Contains("stack needs equal shapes"), Error);
  CHECK_THROWS_WITH_AS(stack({}, 0), doctest::Contains("empty list"), Error);
  CHECK_THROWS_WITH_AS(pad(x, {1}), doctest::Contains("pairs"), Error);
  CHECK_THROWS_WITH_AS(pad(x, {0, 0, 0, 0, 1, 1}), doctest::Contains("cover 3 dims"), Error);
  CHECK_THROWS_WITH_AS(pad(x, {-2, -2}), doctest::Contains("negative size -1"), Error);
}
