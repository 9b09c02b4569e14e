// The training step's fused and in-place paths: the fused cross entropy against a float64 reference,
// the engine taking over or adding into gradients only when nothing else can see them, relu's in-place
// backward, and Adam's vector lanes against its padded tail. Each runs at 1 and 2 threads.
#include <doctest/doctest.h>

#include <cmath>
#include <memory>
#include <vector>

#include "autograd/ops_math.h"
#include "core/factory.h"
#include "core/random.h"
#include "core/threading.h"
#include "layers/loss.h"
#include "layers/optim.h"
#include "test_util.h"

using namespace convgrad;
using convgrad::testing::at_1_and_2_threads;

namespace {

void check_close(const std::vector<double>& got, const std::vector<double>& want, double rtol, double atol) {
  REQUIRE(got.size() == want.size());
  size_t bad = 0;
  for (size_t i = 0; i < got.size(); ++i)
    if (!(std::abs(got[i] - want[i]) <= atol + rtol * std::abs(want[i])) && ++bad < 4)
      FAIL_CHECK("element " << i << ": " << got[i] << " vs " << want[i]);
  CHECK(bad == 0);
}

// Cross entropy over dim 1 in float64, straight from the definition: loss and d loss / d logits.
struct CeReference {
  std::vector<double> loss, grad;
};
CeReference ce_reference(const Tensor& x, const Tensor& y, const std::vector<float>& w, int64_t ignore,
                         Reduction r, const std::vector<float>& upstream) {
  const int64_t N = x.size(0), C = x.size(1), S = x.numel() / (N * C);
  std::vector<float> xv = x.to_vector<float>();
  std::vector<int64_t> yv = y.to_vector<int64_t>();
  std::vector<double> per(N * S, 0.0), grad(xv.size(), 0.0);
  double total = 0, wsum = 0;
  for (int64_t n = 0; n < N; ++n)
    for (int64_t s = 0; s < S; ++s) {
      const int64_t t = yv[n * S + s];
      if (t == ignore) continue;
      double m = -INFINITY, z = 0;
      for (int64_t c = 0; c < C; ++c) m = std::max(m, double(xv[(n * C + c) * S + s]));
      for (int64_t c = 0; c < C; ++c) z += std::exp(xv[(n * C + c) * S + s] - m);
      per[n * S + s] = w[t] * (m + std::log(z) - xv[(n * C + t) * S + s]);
      total += per[n * S + s];
      wsum += w[t];
    }
  for (int64_t n = 0; n < N; ++n)
    for (int64_t s = 0; s < S; ++s) {
      const int64_t t = yv[n * S + s];
      if (t == ignore) continue;
      double up = r == Reduction::None ? upstream[n * S + s] : 1.0;
      double coef = up * w[t] / (r == Reduction::Mean ? wsum : 1.0);
      double m = -INFINITY, z = 0;
      for (int64_t c = 0; c < C; ++c) m = std::max(m, double(xv[(n * C + c) * S + s]));
      for (int64_t c = 0; c < C; ++c) z += std::exp(xv[(n * C + c) * S + s] - m);
      for (int64_t c = 0; c < C; ++c)
        grad[(n * C + c) * S + s] = coef * (std::exp(xv[(n * C + c) * S + s] - m) / z - (c == t ? 1.0 : 0.0));
    }
  if (r == Reduction::None) return {per, grad};
  return {{r == Reduction::Mean ? total / wsum : total}, grad};
}

}  // namespace

TEST_CASE("fused cross entropy matches a float64 reference: blocks, weights, ignore_index, reductions") {
  // (4, 5, 61, 67): 81,740 logits (parallel), S = 4087 = 7 full blocks of 512 and a partial one.
  for (Shape shape : {Shape{4, 5, 61, 67}, Shape{9, 7}, Shape{2, 3, 5}}) {
    CAPTURE(shape_str(shape));
    Generator gen(11);
    Tensor x = randn(shape, gen);
    x = from_vector(
        [&] {
          auto v = x.to_vector<float>();
          for (auto& e : v) e *= 3.f;
          return v;
        }(),
        shape);
    Shape tshape{shape[0]};
    tshape.insert(tshape.end(), shape.begin() + 2, shape.end());
    Tensor t = randint(0, shape[1], tshape, gen);
    int64_t* tp = t.data<int64_t>();
    for (int64_t i = 0; i < t.numel(); i += 7) tp[i] = 255;  // ignored
    std::vector<float> w(static_cast<size_t>(shape[1]));
    for (size_t c = 0; c < w.size(); ++c) w[c] = 0.5f + 0.25f * static_cast<float>(c);
    Tensor up = rand(tshape, gen);
    std::vector<float> upv = up.to_vector<float>();
    for (Reduction r : {Reduction::Mean, Reduction::Sum, Reduction::None}) {
      CAPTURE(std::string(reduction_name(r)));
      CeReference ref = ce_reference(x, t, w, 255, r, upv);
      std::vector<float> grad_1t;
      at_1_and_2_threads([&] {
        Tensor xl = clone_data(x);
        xl.set_requires_grad();
        Tensor loss = cross_entropy(
            xl, t, CrossEntropyOptions().weight(from_vector(w, {shape[1]})).ignore_index(255).reduction(r));
        check_close(loss.to_vector<double>(), ref.loss, 2e-6, 1e-6);
        if (r == Reduction::None)
          loss.backward(up);
        else
          loss.backward();
        // Absolute 1e-6 on gradients of magnitude <= 1.5: softmax - 1 near 1 cancels float rounding.
        check_close(xl.grad().to_vector<double>(), ref.grad, 1e-5, 1e-6);
        // The gradient does not depend on the thread count.
        std::vector<float> g = xl.grad().to_vector<float>();
        if (grad_1t.empty())
          grad_1t = g;
        else
          CHECK(g == grad_1t);
        // Mean and Sum hand on a gradient computed in the forward; an upstream other than 1 scales it.
        xl.set_grad(Tensor());
        Tensor scaled = cross_entropy(
            xl, t, CrossEntropyOptions().weight(from_vector(w, {shape[1]})).ignore_index(255).reduction(r));
        if (r == Reduction::None)
          (scaled * 3.f).backward(up);
        else
          (scaled * 3.f).backward();
        std::vector<double> ref3 = ref.grad;
        for (double& v : ref3) v *= 3;
        check_close(xl.grad().to_vector<double>(), ref3, 1e-5, 3e-6);
        // Without a gradient to compute (no requires_grad), the loss is the same.
        Tensor plain = cross_entropy(
            x, t, CrossEntropyOptions().weight(from_vector(w, {shape[1]})).ignore_index(255).reduction(r));
        check_close(plain.to_vector<double>(), ref.loss, 2e-6, 1e-6);
      });
    }
  }
}

TEST_CASE("fused cross entropy reports the first bad target, serial or parallel") {
  at_1_and_2_threads([] {
    Tensor x = zeros({4, 5, 61, 67});
    std::vector<int64_t> t(4 * 61 * 67, 1);
    t[3 * 4087 + 100] = 9;
    t[2 * 4087 + 600] = -3;  // the first in flat order: sample 2, pixel 600 = (8, 64)
    CHECK_THROWS_WITH_AS(cross_entropy(x, from_vector(t, {4, 61, 67})),
                         doctest::Contains("target value -3 at index [2, 8, 64]"), Error);
    x.set_requires_grad();  // the fused forward-with-gradient path checks first too
    CHECK_THROWS_WITH_AS(cross_entropy(x, from_vector(t, {4, 61, 67})),
                         doctest::Contains("target value -3 at index [2, 8, 64]"), Error);
  });
}

TEST_CASE("the engine takes over or adds into gradients only when nothing else can see them") {
  at_1_and_2_threads([] {
    Generator gen(5);
    Tensor x = randn({50000}, gen);
    x.set_requires_grad();
    std::vector<float> xv = x.to_vector<float>();
    // clone's backward hands the incoming gradient on as is: the leaf must get a copy of the user's tensor.
    Tensor gu = randn({50000}, gen);
    std::vector<float> guv = gu.to_vector<float>();
    clone(x).backward(gu);
    gu.data<float>()[0] += 100.f;
    CHECK(x.grad().to_vector<float>() == guv);
    // A second backward while the user holds the first gradient: the held tensor keeps its values.
    Tensor held = x.grad();
    clone(x).backward(full({50000}, 1.0));
    CHECK(held.to_vector<float>() == guv);
    std::vector<float> sum = x.grad().to_vector<float>();
    for (size_t i = 0; i < sum.size(); ++i) REQUIRE(sum[i] == guv[i] + 1.f);
    // Nobody holds it now: a third backward adds in place, with the same result a fresh sum gives.
    held = Tensor();
    clone(x).backward(full({50000}, 2.0));
    std::vector<float> third = x.grad().to_vector<float>();
    for (size_t i = 0; i < third.size(); ++i) REQUIRE(third[i] == sum[i] + 2.f);
    // relu's backward overwrites only a gradient the engine owns: the user's stays intact.
    x.set_grad(Tensor());
    Tensor gr = randn({50000}, gen);
    std::vector<float> grv = gr.to_vector<float>();
    relu(x).backward(gr);
    CHECK(gr.to_vector<float>() == grv);
    std::vector<float> dx = x.grad().to_vector<float>();
    for (size_t i = 0; i < dx.size(); ++i) REQUIRE(dx[i] == (xv[i] > 0 ? grv[i] : 0.f));
    // Fan-out through in-place relu gradients: d/dx sum(relu(x) * 3 + relu(x)) = 4 [x > 0].
    x.set_grad(Tensor());
    Tensor a = relu(x);
    Tensor z = a * 3.f + relu(a);
    z.backward(ones({50000}), true);
    z.backward(ones({50000}));  // retain_graph: the second pass sees the same saved tensors
    dx = x.grad().to_vector<float>();
    for (size_t i = 0; i < dx.size(); ++i) REQUIRE(dx[i] == (xv[i] > 0 ? 8.f : 0.f));
  });
}

TEST_CASE("Adam and AdamW: every vector lane, the padded tail and the parallel split agree bit for bit") {
  using Make = std::unique_ptr<Optimizer> (*)(std::vector<Tensor>);
  const Make makes[] = {
      [](std::vector<Tensor> ps) -> std::unique_ptr<Optimizer> {
        return std::make_unique<Adam>(ps, AdamOptions(1e-2));
      },
      [](std::vector<Tensor> ps) -> std::unique_ptr<Optimizer> {
        return std::make_unique<Adam>(
            ps, AdamOptions(5e-3).betas(0.8, 0.99).eps(1e-6).weight_decay(0.1).amsgrad(true));
      },
      [](std::vector<Tensor> ps) -> std::unique_ptr<Optimizer> {
        return std::make_unique<Adam>(ps, AdamOptions(1e-2).maximize(true));
      },
      [](std::vector<Tensor> ps) -> std::unique_ptr<Optimizer> {
        return std::make_unique<AdamW>(ps,
                                       AdamWOptions(2e-2).betas(0.5, 0.9).weight_decay(0.05).amsgrad(true));
      },
  };
  constexpr int64_t kPeriod = 37, kBig = 40000;  // 40,000 elements: split across threads at 2
  at_1_and_2_threads([&] {
    for (int which = 0; which < 4; ++which) {
      CAPTURE(which);
      const Make make = makes[which];
      Generator gen(8);
      std::vector<float> p0 = randn({kPeriod}, gen).to_vector<float>();
      std::vector<std::vector<float>> grads;
      for (int s = 0; s < 4; ++s) grads.push_back(randn({kPeriod}, gen).to_vector<float>());
      auto periodic = [&](const std::vector<float>& v) {
        std::vector<float> out(kBig);
        for (int64_t i = 0; i < kBig; ++i) out[i] = v[i % kPeriod];
        return out;
      };
      Tensor big = from_vector(periodic(p0), {kBig});
      big.set_requires_grad();
      std::vector<Tensor> singles;
      for (int64_t i = 0; i < kPeriod; ++i) {
        singles.push_back(from_vector(std::vector<float>{p0[i]}, {1}));
        singles.back().set_requires_grad();
      }
      auto opt_big = make({big});
      auto opt_singles = make(singles);  // one element each: scalar loop only
      for (const auto& g : grads) {
        big.set_grad(from_vector(periodic(g), {kBig}));
        for (int64_t i = 0; i < kPeriod; ++i) singles[i].set_grad(from_vector(std::vector<float>{g[i]}, {1}));
        opt_big->step();
        opt_singles->step();
      }
      std::vector<float> got = big.to_vector<float>();
      size_t bad = 0;
      for (int64_t i = 0; i < kBig; ++i)
        if (got[i] != singles[i % kPeriod].item<float>()) ++bad;
      CHECK(bad == 0);
    }
  });
}
