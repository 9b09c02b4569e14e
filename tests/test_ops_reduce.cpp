// Reductions, the softmax family and matmul: hand-computed values, PyTorch goldens
// (tools/gen_shape_goldens.py -> tests/data/shape/), gradcheck on every op, and error messages.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <map>
#include <string>

#include "autograd/gradcheck.h"
#include "autograd/ops_reduce.h"
#include "autograd/ops_shape.h"
#include "core/factory.h"
#include "core/kernels/matmul.h"
#include "core/npy.h"
#include "core/random.h"
#include "core/threading.h"
#include "test_util.h"

using namespace convgrad;
using convgrad::testing::check_close;
using convgrad::testing::floats;
using convgrad::testing::leaf;

namespace {

using Golden = std::map<std::string, Tensor>;
using Fn = std::function<Tensor(const std::vector<Tensor>&)>;

Golden golden(const std::string& name) {
  return load_npz(std::string(CONVGRAD_TEST_DATA) + "/shape/" + name + ".npz");
}

// Runs fn on a leaf copy of golden x, backpropagates g and compares y and dx.
void check_unary_golden(const std::string& name, const std::function<Tensor(const Tensor&)>& fn,
                        float atol = 1e-5f) {
  INFO("golden case " << name);
  Golden gd = golden(name);
  Tensor x = leaf(gd["x"]);
  Tensor y = fn(x);
  check_close(y, gd["y"], atol);
  y.backward(gd["g"]);
  check_close(x.grad(), gd["dx"], atol);
}

void check_grad(const Fn& fn, const std::vector<Tensor>& inputs) {
  auto r = gradcheck(fn, inputs);
  CHECK_MESSAGE(r.ok, r.report);
}

}  // namespace

TEST_CASE("sum and mean: hand-computed values, shapes and keepdim") {
  Tensor x = floats({1, 2, 3, 4, 5, 6}, {2, 3});
  Tensor s = sum(x);
  CHECK(s.shape() == Shape{});
  CHECK(s.item() == 21.f);
  CHECK(sum(x, {0}).to_vector() == std::vector<float>{5, 7, 9});
  Tensor rows = sum(x, {-1}, true);
  CHECK(rows.shape() == Shape{2, 1});
  CHECK(rows.to_vector() == std::vector<float>{6, 15});
  CHECK(sum(x, {}, true).shape() == Shape{1, 1});  // empty dims = all
  CHECK(sum(x, {1, 0}).item() == 21.f);
  CHECK(mean(x).item() == 3.5f);
  CHECK(mean(x, {0}).to_vector() == std::vector<float>{2.5f, 3.5f, 4.5f});
  CHECK(sum(full({}, 4.0)).item() == 4.f);  // 0-d input
  CHECK(sum(zeros({0, 3}), {0}).to_vector() == std::vector<float>{0, 0, 0});
  CHECK(std::isnan(mean(zeros({0})).item()));

  // Strided inputs: the same result from a transposed view as from its contiguous copy.
  Tensor t = transpose(randn({5, 7, 3}), 0, 2);
  check_close(sum(t, {0, 2}), sum(contiguous(t), {0, 2}));
  check_close(sum(t, {1}), sum(contiguous(t), {1}));

  // Float64 accumulation: 1e7 ones plus small values sum exactly.
  CHECK(sum(ones({10000000})).item() == 10000000.f);

  // The gradient is the upstream value spread over the reduced dims (and divided by the count for mean).
  Tensor a = leaf(floats({1, 2, 3, 4, 5, 6}, {2, 3}));
  mean(a, {1}).backward(floats({3, 6}, {2}));
  CHECK(a.grad().to_vector() == std::vector<float>{1, 1, 1, 2, 2, 2});
}

TEST_CASE("sum and mean match PyTorch goldens and pass gradcheck") {
  check_unary_golden("sum_dims02", [](const Tensor& x) { return sum(x, {0, 2}); });
  check_unary_golden("mean_dim1_keep", [](const Tensor& x) { return mean(x, {1}, true); });
  check_unary_golden("sum_neg_dim", [](const Tensor& x) { return sum(x, {-1}, true); });
  Generator gen(1);
  Tensor x = leaf(randn({2, 3, 4}, gen));
  check_grad([](const std::vector<Tensor>& in) { return sum(in[0]); }, {x});
  check_grad([](const std::vector<Tensor>& in) { return sum(in[0], {0, 2}, true); }, {x});
  check_grad([](const std::vector<Tensor>& in) { return mean(in[0]); }, {x});
  check_grad([](const std::vector<Tensor>& in) { return mean(in[0], {-1}); }, {x});
}

TEST_CASE("max and min: values, first-index ties, gradients and NaN") {
  Tensor x = floats({1, 7, 3, 7, -2, 0}, {2, 3});
  CHECK(max(x).item() == 7.f);
  CHECK(min(x).item() == -2.f);
  CHECK(max(x, 1).to_vector() == std::vector<float>{7, 7});
  CHECK(min(x, 0, true).shape() == Shape{1, 3});
  CHECK(min(x, 0, true).to_vector() == std::vector<float>{1, -2, 0});
  Tensor am = argmax(x, 1);
  CHECK(am.dtype() == DType::Int64);
  CHECK(am.to_vector<int64_t>() == std::vector<int64_t>{1, 0});
  CHECK(argmin(x, -1, true).to_vector<int64_t>() == std::vector<int64_t>{0, 1});
  CHECK(argmax(x, 0).to_vector<int64_t>() == std::vector<int64_t>{1, 0, 0});

  // The full max sends the whole gradient to the first maximum in row-major order.
  Tensor t = leaf(floats({1, 5, 5, 2}, {2, 2}));
  max(t).backward(full({}, 3.0));
  CHECK(t.grad().to_vector() == std::vector<float>{0, 3, 0, 0});

  // NaN propagates, like PyTorch.
  Tensor n = floats({1, NAN, 3}, {3});
  CHECK(std::isnan(max(n).item()));
  CHECK(std::isnan(min(n, 0).item()));
  CHECK(argmax(n, 0).item<int64_t>() == 1);

  check_unary_golden("max_dim1_ties", [](const Tensor& v) { return max(v, 1); });
  check_unary_golden("min_dim0_keep_ties", [](const Tensor& v) { return min(v, 0, true); });
  Golden gd = golden("max_dim1_ties");
  CHECK(argmax(gd["x"], 1).to_vector<int64_t>() == gd["idx"].to_vector<int64_t>());
  gd = golden("min_dim0_keep_ties");
  CHECK(argmin(gd["x"], 0, true).to_vector<int64_t>() == gd["idx"].to_vector<int64_t>());

  // Distinct values (a scaled permutation) keep gradcheck away from ties.
  std::vector<float> v(24);
  for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<float>((i * 7) % 24) * 0.25f;
  Tensor xm = leaf(floats(v, {2, 3, 4}));
  check_grad([](const std::vector<Tensor>& in) { return max(in[0], 1); }, {xm});
  check_grad([](const std::vector<Tensor>& in) { return min(in[0], -1, true); }, {xm});
  check_grad([](const std::vector<Tensor>& in) { return max(in[0]); }, {xm});
  check_grad([](const std::vector<Tensor>& in) { return min(in[0]); }, {xm});
}

TEST_CASE("logsumexp, softmax and log_softmax match PyTorch and are stable") {
  check_unary_golden(
      "logsumexp_dim1", [](const Tensor& x) { return logsumexp(x, 1); }, 1e-4f);
  check_unary_golden("logsumexp_dim2_keep", [](const Tensor& x) { return logsumexp(x, 2, true); });
  check_unary_golden("softmax_dim_last", [](const Tensor& x) { return softmax(x, -1); });
  check_unary_golden("softmax_dim0", [](const Tensor& x) { return softmax(x, 0); });
  check_unary_golden(
      "log_softmax_dim1", [](const Tensor& x) { return log_softmax(x, 1); }, 1e-4f);

  // Huge logits do not overflow: softmax([1000, 1000 + ln 3]) = [1/4, 3/4].
  Tensor big = floats({1000.f, 1000.f + std::log(3.f)}, {2});
  check_close(softmax(big, 0), floats({0.25f, 0.75f}, {2}), 1e-5f);
  check_close(logsumexp(big, 0), full({}, 1000.0 + std::log(4.0)), 1e-3f, 0.f);
  check_close(log_softmax(floats({-1000.f, 0.f}, {2}), 0), floats({-1000.f, 0.f}, {2}), 1e-3f, 0.f);
  // A row of -inf: logsumexp is -inf (PyTorch too), not NaN.
  float ninf = -std::numeric_limits<float>::infinity();
  CHECK(logsumexp(floats({ninf, ninf}, {2}), 0).item() == ninf);

  Generator gen(2);
  Tensor x = leaf(randn({3, 4, 2}, gen));
  check_grad([](const std::vector<Tensor>& in) { return logsumexp(in[0], 1); }, {x});
  check_grad([](const std::vector<Tensor>& in) { return logsumexp(in[0], -1, true); }, {x});
  check_grad([](const std::vector<Tensor>& in) { return softmax(in[0], 1); }, {x});
  check_grad([](const std::vector<Tensor>& in) { return softmax(in[0], 2); }, {x});
  check_grad([](const std::vector<Tensor>& in) { return log_softmax(in[0], 0); }, {x});
  check_grad([](const std::vector<Tensor>& in) { return log_softmax(in[0], -1); }, {x});
}

TEST_CASE("matmul: hand-computed, every rank combination vs PyTorch, gradcheck") {
  Tensor a = floats({1, 2, 3, 4}, {2, 2}), b = floats({5, 6, 7, 8}, {2, 2});
  CHECK(matmul(a, b).to_vector() == std::vector<float>{19, 22, 43, 50});
  CHECK(matmul(transpose(a, 0, 1), b).to_vector() == std::vector<float>{26, 30, 38, 44});
  Tensor dot = matmul(floats({1, 2, 3}, {3}), floats({4, 5, 6}, {3}));
  CHECK(dot.shape() == Shape{});
  CHECK(dot.item() == 32.f);

  for (const char* name : {"matmul_2d", "matmul_dot", "matmul_vec_mat", "matmul_mat_vec", "matmul_batch_vec",
                           "matmul_vec_batch", "matmul_broadcast", "matmul_shared_rhs"}) {
    INFO("golden case " << name);
    Golden gd = golden(name);
    Tensor ga = leaf(gd["a"]), gb = leaf(gd["b"]);
    Tensor y = matmul(ga, gb);
    check_close(y, gd["y"]);
    y.backward(gd["g"]);
    check_close(ga.grad(), gd["da"]);
    check_close(gb.grad(), gd["db"]);
  }

  Generator gen(3);
  const std::vector<std::pair<Shape, Shape>> cases = {
      {{2, 3}, {3, 4}},          {{3}, {3}},         {{3}, {3, 2}}, {{2, 3}, {3}},
      {{2, 1, 2, 3}, {3, 3, 2}}, {{2, 2, 3}, {3, 2}}};
  // Transposed (strided) operands inside the differentiated function.
  check_grad(
      [](const std::vector<Tensor>& in) { return matmul(transpose(in[0], 0, 1), transpose(in[1], 0, 1)); },
      {leaf(randn({3, 2}, gen)), leaf(randn({4, 3}, gen))});
  for (const auto& [sa, sb] : cases) {
    INFO("shapes " << shape_str(sa) << " @ " << shape_str(sb));
    check_grad([](const std::vector<Tensor>& in) { return matmul(in[0], in[1]); },
               {leaf(randn(sa, gen)), leaf(randn(sb, gen))});
  }
}

TEST_CASE("matmul: large and strided products agree with a float64 reference, 1 and 2 threads") {
  Generator gen(4);
  const int64_t m = 67, k = 300, n = 129;
  Tensor a = randn({k, m}, gen), b = randn({n, k}, gen);
  Tensor at = transpose(a, 0, 1), bt = transpose(b, 0, 1);  // strided operands (m, k) and (k, n)
  std::vector<float> ref(m * n);
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j) {
      double s = 0;
      for (int64_t p = 0; p < k; ++p) s += static_cast<double>(at.at({i, p})) * bt.at({p, j});
      ref[i * n + j] = static_cast<float>(s);
    }
  int saved = get_num_threads();
  for (int threads : {1, 2}) {
    set_num_threads(threads);
    check_close(matmul(at, bt), floats(ref, {m, n}), 1e-3f, 1e-4f);
    // The batched path folds a stacked left operand into one tall product.
    Tensor stacked = reshape(concat({at, at}, 0), {2, m, k});
    check_close(select(matmul(stacked, bt), 0, 1), floats(ref, {m, n}), 1e-3f, 1e-4f);
  }
  set_num_threads(saved);

  // gemm accumulates into C when asked.
  std::vector<float> c = {1, 1};
  std::vector<float> av = {1, 2}, bv = {3, 4};
  kernels::gemm(1, 2, 1, av.data(), 1, 1, bv.data(), 2, c.data(), 2, true);
  CHECK(c == std::vector<float>{4, 5});
}

TEST_CASE("kernels give identical results with 1 and 2 threads") {
  Generator gen(12);
  // Large enough for every parallel path. The softmax family splits over the blocks before the reduced
  // dim, so logsumexp over dim 0 (one block) stays on one thread and over dim 1 (64 blocks) splits.
  Tensor x = randn({64, 50, 44}, gen);
  auto run = [&x] {
    return std::vector<Tensor>{sum(x, {2}),
                               sum(x, {0, 2}),
                               mean(x, {1}, true),
                               softmax(x, 1),
                               log_softmax(x, 2),
                               logsumexp(x, 0),
                               logsumexp(x, 1),
                               max(x, 2),
                               contiguous(permute(x, {2, 0, 1})),
                               matmul(x, transpose(x, 1, 2))};
  };
  int saved = get_num_threads();
  set_num_threads(1);
  std::vector<Tensor> one = run();
  set_num_threads(2);
  std::vector<Tensor> two = run();
  set_num_threads(saved);
  for (size_t i = 0; i < one.size(); ++i) {
    INFO("result " << i);
    CHECK(one[i].to_vector() == two[i].to_vector());
  }
}

TEST_CASE("reductions and matmul reject bad arguments with useful messages") {
  Tensor x = zeros({2, 3});
  CHECK_THROWS_WITH_AS(sum(x, {2}), doctest::Contains("dim 2 is out of range"), Error);
  CHECK_THROWS_WITH_AS(sum(x, {1, -1}), doctest::Contains("more than once"), Error);
  CHECK_THROWS_WITH_AS(mean(x, {-3}), doctest::Contains("mean"), Error);
  CHECK_THROWS_WITH_AS(max(zeros({0, 2})), doctest::Contains("non-empty"), Error);
  CHECK_THROWS_WITH_AS(max(zeros({2, 0}), 1), doctest::Contains("size 0"), Error);
  CHECK_THROWS_WITH_AS(softmax(x, 5), doctest::Contains("softmax"), Error);
  CHECK_THROWS_WITH_AS(sum(zeros({2}, DType::Int64)), doctest::Contains("float32"), Error);
  CHECK_THROWS_WITH_AS(matmul(zeros({2, 3}), zeros({4, 5})),
                       doctest::Contains("shapes [2, 3] and [4, 5] cannot be multiplied"), Error);
  CHECK_THROWS_WITH_AS(matmul(zeros({3}), zeros({4})), doctest::Contains("inner dims differ (3 vs 4)"),
                       Error);
  CHECK_THROWS_WITH_AS(matmul(zeros({2, 2, 3}), zeros({3, 3, 1})),
                       doctest::Contains("batch dims of shapes [2, 2, 3] and [3, 3, 1]"), Error);
  CHECK_THROWS_WITH_AS(matmul(zeros({}), zeros({3})), doctest::Contains("at least 1 dim"), Error);
}
