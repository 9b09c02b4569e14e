// AutocastGuard: conv2d, conv_transpose2d and matmul compute on bfloat16-rounded inputs (PyTorch 1.13
// CPU autocast goldens), on oneDNN's bfloat16 primitives where the CPU has AVX512_BF16 and on the
// float32 kernels otherwise (forced here, so both run), with float32 parameters and gradients, and the
// rounded weight made once per storage version.
#include <doctest/doctest.h>

#include <cmath>
#include <string>
#include <thread>

#include "autograd/autocast.h"
#include "core/kernels/layout.h"
#include "layers/convgrad.h"
#include "test_util.h"
#ifdef CONVGRAD_WITH_ONEDNN
#include "core/backends/onednn/conv.h"
#endif

using namespace convgrad;
using testing::golden_error;

namespace {

// Runs `body` on every backend, and on oneDNN both with its bfloat16 primitives (when the CPU has
// them) and with the float32 kernels forced; `kernels` names the configuration.
template <class F>
void on_every_path(F&& body) {
  testing::on_every_backend([&] {
#ifdef CONVGRAD_WITH_ONEDNN
    if (current_backend() == "onednn") {
      struct Restore {
        int saved = onednn::bf16_kernels();
        ~Restore() { onednn::set_bf16_kernels(saved); }
      } restore;
      for (int mode : {-1, 0}) {
        onednn::set_bf16_kernels(mode);
        const std::string kernels = onednn::bf16_kernels_active() ? "bf16 primitives" : "float32 kernels";
        INFO("kernels: " << kernels);
        body();
      }
      return;
    }
#endif
    body();
  });
}

// The fraction of elements of `got` that, rounded to bfloat16, differ from `want` (bfloat16 values).
double rounded_mismatch(const Tensor& got, const Tensor& want) {
  const std::vector<float> a = got.to_vector(), b = want.to_vector();
  if (a.size() != b.size() || a.empty()) return 1.0;
  size_t n = 0;
  for (size_t i = 0; i < a.size(); ++i) n += !(round_to_bfloat16(a[i]) == b[i]);
  return double(n) / double(a.size());
}

// Relative 1e-2 of the largest golden magnitude: PyTorch rounds its output and its gradients to
// bfloat16 (a relative error up to 2^-9 each) and sums in another order; convgrad keeps the float32
// accumulation. Then, sharper: rounded to bfloat16, most elements equal PyTorch's exactly (only sums
// within an accumulation-order difference of a rounding boundary may land on the neighbour), which a
// float32 computation on unrounded inputs does not achieve. Not for a bias gradient (`reduction`): a
// sum over the batch, float32 in convgrad, which PyTorch's bfloat16 sum rounds along the way.
void check_golden(const std::string& what, const Tensor& got, const Tensor& want, bool reduction = false) {
  CAPTURE(what);
  REQUIRE(got.defined());
  REQUIRE(got.dtype() == DType::Float32);
  const auto e = golden_error(got, want);
  CHECK(e.err <= 1e-2 * e.scale);
  if (!reduction) CHECK(rounded_mismatch(got, want) <= 0.01);
}

std::map<std::string, Tensor> golden(const std::string& name) {
  return load_npz(std::string(CONVGRAD_TEST_DATA) + "/bf16/autocast_" + name + ".npz");
}

// Runs one golden case: y = op(x, w, b) under autocast, backward with g, checks y and the gradients.
template <class Op>
void run_golden(const std::string& name, Op op) {
  CAPTURE(name);
  auto g = golden(name);
  Tensor x = testing::leaf(clone_data(g.at("x"))), w = testing::leaf(clone_data(g.at("w")));
  Tensor b = g.count("b") ? testing::leaf(clone_data(g.at("b"))) : Tensor();
  Tensor y;
  {
    AutocastGuard autocast(DType::BFloat16);
    y = op(x, w, b);
  }
  y.backward(g.at("g"));
  check_golden("y", y, g.at("y"));
  check_golden("dx", x.grad(), g.at("dx"));
  check_golden("dw", w.grad(), g.at("dw"));
  if (b.defined()) {
    CHECK(b.grad().dtype() == DType::Float32);
    check_golden("db", b.grad(), g.at("db"), true);
  }
}

}  // namespace

TEST_CASE("autocast conv2d, conv_transpose2d, linear and matmul match PyTorch's bfloat16 results") {
  on_every_path([] {
    auto conv = [](int64_t s, int64_t p, int64_t d, int64_t groups) {
      return [=](const Tensor& x, const Tensor& w, const Tensor& b) {
        return conv2d(x, w, b, Conv2dFuncOptions().stride(s).padding(p).dilation(d).groups(groups));
      };
    };
    run_golden("conv2d_3x3", conv(1, 1, 1, 1));
    run_golden("conv2d_s2", conv(2, 1, 1, 1));
    run_golden("conv2d_groups", conv(1, 0, 1, 4));
    run_golden("conv2d_dilated", conv(1, 2, 2, 1));
    auto convt = [](int64_t s, int64_t p, int64_t op, int64_t groups) {
      return [=](const Tensor& x, const Tensor& w, const Tensor& b) {
        return conv_transpose2d(
            x, w, b, ConvTranspose2dFuncOptions().stride(s).padding(p).output_padding(op).groups(groups));
      };
    };
    run_golden("conv_transpose2d_k4s2", convt(2, 1, 0, 1));
    run_golden("conv_transpose2d_k3s2op", convt(2, 1, 1, 1));
    run_golden("conv_transpose2d_groups", convt(1, 1, 0, 2));
  });
  // Linear and matmul run on the float32 GEMM with rounded operands.
  auto linear = [](const Tensor& x, const Tensor& w, const Tensor& b) {
    Linear lin(LinearOptions(w.size(1), w.size(0)).bias(b.defined()));
    lin.weight = w;  // the golden's leaves themselves, so their gradients are checked
    if (b.defined()) lin.bias = b;
    return lin.forward(x);
  };
  run_golden("linear", linear);
  run_golden("linear_3d", linear);
  run_golden("matmul", [](const Tensor& a, const Tensor& b, const Tensor&) { return matmul(a, b); });
}

TEST_CASE("autocast computes the float32 op on bfloat16-rounded inputs; float32 outside the guard") {
  Tensor x = randn({2, 6, 9, 9}), w = testing::leaf(mul(randn({8, 6, 3, 3}), full({}, 0.3)));
  const auto opts = Conv2dFuncOptions().padding(1).stride(2);
  const Tensor exact = conv2d(x, w.detach(), Tensor(), opts);
  // The rule, through the independent conversion: the float32 reference on rounded operands.
  Tensor want;
  {
    testing::on_every_backend([&] {
      if (current_backend() == "reference")
        want = conv2d(x.to(DType::BFloat16).to(DType::Float32),
                      w.detach().to(DType::BFloat16).to(DType::Float32), Tensor(), opts);
    });
  }
  REQUIRE(want.defined());
  on_every_path([&] {
    Tensor y;
    {
      AutocastGuard autocast;
      CHECK(is_autocast_enabled());
      y = conv2d(x, w, Tensor(), opts);
    }
    CHECK(!is_autocast_enabled());
    CHECK(y.dtype() == DType::Float32);
    // The same bfloat16 products, summed in float32 in another order: a few float32 ulps of the sum.
    const auto e = golden_error(y, want);
    CHECK(e.err <= 1e-5 * e.scale);
    // And not the float32 result: bfloat16 inputs move it by about 2^-9 of its scale.
    const auto d = golden_error(y, exact);
    CHECK(d.err >= 1e-4 * d.scale);
    // Outside the guard the op is float32 again.
    CHECK(testing::max_abs_diff(conv2d(x, w.detach(), Tensor(), opts), exact) <= 1e-5 * d.scale);
  });
}

TEST_CASE("oneDNN's bfloat16 primitives agree with the reference on rounded inputs, in all three kernels") {
  // Both compute exact products of bfloat16 values summed in float32; only the order differs (and
  // vdpbf16ps flushes denormals, absent here), so the tolerance is float32 accumulation error, far below
  // bfloat16's 2^-9. The reference run on the same rounded operands is the checker.
  struct Case {
    Shape x, w;
    int64_t stride, padding, groups;
  };
  const Case cases[] = {{{2, 16, 14, 14}, {32, 16, 3, 3}, 1, 1, 1},
                        {{2, 32, 15, 16}, {16, 32, 3, 3}, 2, 1, 1},
                        {{1, 16, 9, 9}, {16, 4, 3, 3}, 1, 1, 4}};
  for (const Case& c : cases) {
    CAPTURE(shape_str(c.x));
    const Tensor x0 = randn(c.x), w0 = mul(randn(c.w), full({}, 0.2));
    const auto opts = Conv2dFuncOptions().stride(c.stride).padding(c.padding).groups(c.groups);
    const Tensor g = randn(conv2d(x0, w0, Tensor(), opts).shape());
    Tensor outs[2][3];
    int run = 0;
    testing::on_every_backend([&] {
      const int slot = current_backend() == "reference" ? 0 : 1;
      Tensor x = testing::leaf(clone_data(x0)), w = testing::leaf(clone_data(w0));
      Tensor y;
      {
        AutocastGuard autocast;
        y = conv2d(x, w, Tensor(), opts);
      }
      y.backward(g);
      outs[slot][0] = y, outs[slot][1] = x.grad(), outs[slot][2] = w.grad();
      ++run;
    });
    if (run < 2) continue;  // built without oneDNN
    for (int k = 0; k < 3; ++k) {
      CAPTURE(k);
      const auto e = golden_error(outs[1][k], outs[0][k]);
      CHECK(e.err <= 1e-4 * e.scale);
    }
  }
#ifdef CONVGRAD_WITH_ONEDNN
  // Where the CPU has AVX512_BF16 the bfloat16 primitive is what ran (ONEDNN_VERBOSE's name for it).
  if (onednn::bf16_kernels_available()) {
    struct Restore {
      std::string saved = current_backend();
      ~Restore() { set_backend(saved); }
    } restore;
    set_backend("onednn");
    testing::VerboseCapture v;
    AutocastGuard autocast;
    conv2d(randn({2, 16, 14, 14}), randn({32, 16, 3, 3}), Tensor(), Conv2dFuncOptions().padding(1));
    CHECK(v.any("compute bfloat16"));
    CHECK(v.any("bf16"));
    onednn::set_bf16_kernels(0);
    conv2d(randn({2, 16, 14, 14}), randn({32, 16, 3, 3}), Tensor(), Conv2dFuncOptions().padding(1));
    onednn::set_bf16_kernels(-1);
    CHECK(v.count("bf16") == 1);
  }
#endif
}

TEST_CASE("autocast: parameters and gradients stay float32; the rounded weight is made once per version") {
  Tensor x = randn({1, 3, 6, 6}), w = testing::leaf(randn({4, 3, 3, 3}));
  {
    AutocastGuard autocast;
    Tensor y1 = conv2d(x, w), y2 = conv2d(x, w);
    CHECK(detail::autocast_cache_stats().entries == 1);
    CHECK(detail::autocast_cache_stats().hits == 1);
    CHECK(testing::max_abs_diff(y1, y2) == 0.0);
    add(sum(y1), sum(y2)).backward();
    CHECK(w.dtype() == DType::Float32);
    CHECK(w.grad().dtype() == DType::Float32);
    // An in-place write bumps the version: the next call rounds the new values.
    kernels::fill(w, 0.25);
    Tensor y3 = conv2d(x, w);
    CHECK(detail::autocast_cache_stats().entries == 1);
    CHECK(detail::autocast_cache_stats().hits == 1);
    AutocastGuard off(DType::BFloat16, false);
    CHECK(!is_autocast_enabled());
    const Tensor want = conv2d(x.to(DType::BFloat16).to(DType::Float32), full({4, 3, 3, 3}, 0.25));
    CHECK(testing::max_abs_diff(y3, want) <= 1e-5);
  }
  CHECK(detail::autocast_cache_stats().entries == 0);
  CHECK(!is_autocast_enabled());
  // The state is per thread.
  AutocastGuard autocast;
  bool other = true;
  std::thread([&] { other = is_autocast_enabled(); }).join();
  CHECK(is_autocast_enabled());
  CHECK(!other);
  CHECK_THROWS_WITH_AS(AutocastGuard(DType::Int64), doctest::Contains("AutocastGuard: dtype int64"), Error);
}

TEST_CASE("the mixed-precision training step of docs/mixed-precision.md") {
  // [doc:step]
  Conv2d conv(Conv2dOptions(3, 8, 3).padding(1));
  SGD opt(conv.parameters(), SGDOptions(0.1));
  Tensor x = randn({4, 3, 16, 16}), target = randn({4, 8, 16, 16});
  Tensor loss;
  {
    AutocastGuard autocast(DType::BFloat16);   // conv2d computes in bfloat16 in this scope
    loss = mse_loss(conv.forward(x), target);  // mse_loss stays float32
  }
  loss.backward();  // float32 gradients for the float32 parameters
  opt.step();
  // [/doc]
  CHECK(conv.weight.dtype() == DType::Float32);
  CHECK(conv.weight.grad().dtype() == DType::Float32);
  CHECK(std::isfinite(loss.item()));
}
