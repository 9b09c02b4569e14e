// The worked example of docs/adding-a-layer.md. The doc's code blocks are the "// [doc:NAME]" regions of
// this file, and the last test case fails when they differ, so the page cannot go stale.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <sstream>

#include "layers/convgrad.h"

using namespace convgrad;

// [doc:layer]
/// A depthwise-separable convolution (MobileNet): a k x k filter per input channel, then a 1x1
/// convolution that mixes channels; about k*k/out of the multiply-adds of a full Conv2d.
class DepthwiseSeparableConv2d : public Module {
 public:
  DepthwiseSeparableConv2d(int64_t in, int64_t out, int64_t kernel_size, int64_t stride = 1)
      : stride_(stride), padding_(kernel_size / 2) {
    // PyTorch's weight layouts, so init, state dicts and checkpoints work as for any Conv2d.
    depthwise = register_parameter("depthwise", empty({in, 1, kernel_size, kernel_size}));
    pointwise = register_parameter("pointwise", empty({out, in, 1, 1}));
    bias = register_parameter("bias", zeros({out}));
    init::kaiming_uniform_(depthwise, std::sqrt(5.0));
    init::kaiming_uniform_(pointwise, std::sqrt(5.0));
  }

  // Differentiable ops only: autograd derives the backward.
  Tensor forward(const Tensor& x) override {
    auto per_channel = Conv2dFuncOptions().stride(stride_).padding(padding_).groups(depthwise.size(0));
    return conv2d(conv2d(x, depthwise, Tensor(), per_channel), pointwise, bias);
  }
  std::string name() const override { return "DepthwiseSeparableConv2d"; }

  Tensor depthwise, pointwise, bias;

 private:
  int64_t stride_, padding_;
};
// [/doc]

TEST_CASE("DepthwiseSeparableConv2d works like any layer") {
  // [doc:use]
  auto net = std::make_shared<Sequential>(std::make_shared<DepthwiseSeparableConv2d>(3, 8, 3, /*stride=*/2),
                                          std::make_shared<ReLU>());
  Tensor y = net->forward(randn({1, 3, 8, 8}));  // (1, 8, 4, 4)
  auto named = net->named_parameters();  // 0.depthwise [3, 1, 3, 3], 0.pointwise [8, 3, 1, 1], 0.bias [8]
  // [/doc]
  CHECK(y.shape() == Shape{1, 8, 4, 4});
  REQUIRE(named.size() == 3);
  CHECK(named[0].first == "0.depthwise");
  CHECK(named[1].second.shape() == Shape{8, 3, 1, 1});
  CHECK(to_string(*net) == "Sequential(\n  (0): DepthwiseSeparableConv2d()\n  (1): ReLU()\n)");
}

TEST_CASE("DepthwiseSeparableConv2d matches the depthwise-separable formula, written as loops") {
  // y[n, o, i, j] = bias[o] + sum_c pointwise[o, c] * sum_{a, b} depthwise[c, a, b] * x[n, c, s i - p + a, s
  // j - p + b] with zero padding p = k / 2: computed here in double, independently of conv2d.
  Generator gen(3);
  for (int64_t stride : {1, 2}) {
    CAPTURE(stride);
    DepthwiseSeparableConv2d layer(2, 3, 3, stride);
    const float bias[3] = {0.5f, -0.25f, 1.f};  // non-zero, so a dropped bias shows
    std::copy(bias, bias + 3, layer.bias.data<float>());
    Tensor x = randn({2, 2, 5, 6}, gen);
    Tensor y = layer.forward(x);
    const int64_t OH = (5 + 2 - 3) / stride + 1, OW = (6 + 2 - 3) / stride + 1;
    REQUIRE(y.shape() == Shape{2, 3, OH, OW});
    for (int64_t n = 0; n < 2; ++n)
      for (int64_t o = 0; o < 3; ++o)
        for (int64_t i = 0; i < OH; ++i)
          for (int64_t j = 0; j < OW; ++j) {
            double want = layer.bias.at({o});
            for (int64_t c = 0; c < 2; ++c) {
              double d = 0;
              for (int64_t a = 0; a < 3; ++a)
                for (int64_t b = 0; b < 3; ++b) {
                  const int64_t r = stride * i - 1 + a, q = stride * j - 1 + b;
                  if (r >= 0 && r < 5 && q >= 0 && q < 6)
                    d += double(layer.depthwise.at({c, 0, a, b})) * x.at({n, c, r, q});
                }
              want += double(layer.pointwise.at({o, c, 0, 0})) * d;
            }
            CHECK(std::abs(y.at({n, o, i, j}) - want) <= 1e-5 * (1 + std::abs(want)));  // NaN fails
          }
  }
}

TEST_CASE("DepthwiseSeparableConv2d: gradients by gradcheck") {
  // [doc:gradcheck]
  Generator gen(0);
  DepthwiseSeparableConv2d layer(2, 3, 3, /*stride=*/2);
  Tensor x = randn({2, 2, 5, 5}, gen);
  x.set_requires_grad();
  auto r = gradcheck([&](const std::vector<Tensor>& in) { return layer.forward(in[0]); },
                     {x, layer.depthwise, layer.pointwise, layer.bias});
  CHECK_MESSAGE(r.ok, r.report);
  // [/doc]
}

// [doc:custom_op]
/// SiLU (swish), y = x * sigmoid(x), as one op with a hand-written backward: one pass each way, and
/// only x saved, where x * sigmoid(x) would record two ops and keep both sigmoid(x) and x.
Tensor silu(const Tensor& x) {
  CONVGRAD_CHECK(
      x.defined() && x.dtype() == DType::Float32, "silu: expected a float32 tensor, got {}",
      x.defined() ? shape_str(x.shape()) + " " + dtype_name(x.dtype()) : std::string("an undefined one"));
  Tensor xd = contiguous(x).detach();  // the data, row-major, without autograd history
  Tensor y = uninitialized(xd.shape());
  const float* px = xd.data<float>();
  float* py = y.data<float>();
  for (int64_t i = 0; i < xd.numel(); ++i) py[i] = px[i] / (1.f + std::exp(-px[i]));

  // The closure maps the output's gradient g to one gradient per input. It captures what the rule
  // reads (xd), never y itself: y -> node -> closure -> y would be a reference cycle.
  return make_result(y, {x}, "silu", [xd](const Tensor& g) {
    // d silu / dx = s + x s (1 - s), with s = sigmoid(x). The result overwrites g when nothing else can
    // see it (owns_gradient: Note [Owned gradient] in autograd/node.h), else goes to a fresh buffer.
    const bool own = owns_gradient(g);
    Tensor gc = contiguous(g);
    Tensor dx = own && gc.is_same(g) ? gc : uninitialized(xd.shape());
    const float *px = xd.data<float>(), *pg = gc.data<float>();
    float* pd = dx.data<float>();
    for (int64_t i = 0; i < xd.numel(); ++i) {
      const float s = 1.f / (1.f + std::exp(-px[i]));
      pd[i] = pg[i] * s * (1.f + px[i] * (1.f - s));
    }
    return std::vector<Tensor>{dx};
  });
}
// [/doc]

TEST_CASE("silu: values and gradients of the composed ops, gradcheck, no graph without grad") {
  Generator gen(1);
  // A non-contiguous input (a transposed view) with values of both signs and large magnitudes.
  Tensor base = randn({4, 6}, gen) * 4.f;
  Tensor x = transpose(base, 0, 1);
  Tensor y = silu(x);
  const Tensor want = x * sigmoid(x);
  CHECK(y.shape() == Shape{6, 4});
  CHECK(allclose(y, want, 1e-6, 1e-6));
  // The gradient through silu equals the gradient through x * sigmoid(x) (autograd's own rules).
  base.set_requires_grad();
  Tensor w = randn({6, 4}, gen);
  sum(silu(transpose(base, 0, 1)) * w).backward();
  Tensor by_hand = clone_data(base.grad());
  base.set_grad(Tensor());
  Tensor xt = transpose(base, 0, 1);
  sum(xt * sigmoid(xt) * w).backward();
  CHECK(allclose(by_hand, base.grad(), 1e-5, 1e-5));
  {
    NoGradGuard no_grad;
    CHECK(silu(base).grad_fn() == nullptr);  // make_result records nothing
  }
  CHECK_THROWS_AS(silu(zeros({2}, DType::Int64)), Error);
}

TEST_CASE("silu: gradcheck") {
  // [doc:custom_op_gradcheck]
  Generator gen(0);
  Tensor x = randn({3, 5}, gen);
  x.set_requires_grad();
  auto r = gradcheck([](const std::vector<Tensor>& in) { return silu(in[0]); }, {x});
  CHECK_MESSAGE(r.ok, r.report);
  // [/doc]
}

namespace {

std::string read_text(const std::string& path) {
  std::ifstream f(path);
  REQUIRE_MESSAGE(f.good(), "cannot open " << path);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream s(text);
  for (std::string l; std::getline(s, l);) out.push_back(l);
  return out;
}

// The lines between "// [doc:NAME]" and "// [/doc]" in `source`, with their common indent removed.
std::string region(const std::string& source, const std::string& name) {
  std::vector<std::string> body;
  bool inside = false;
  for (const auto& l : lines_of(source)) {
    std::string t = l.substr(std::min(l.find_first_not_of(' '), l.size()));
    if (t == "// [doc:" + name + "]")
      inside = true;
    else if (inside && t == "// [/doc]")
      break;
    else if (inside)
      body.push_back(l);
  }
  size_t cut = std::string::npos;
  for (const auto& l : body)
    if (l.find_first_not_of(' ') != std::string::npos) cut = std::min(cut, l.find_first_not_of(' '));
  std::string out;
  for (const auto& l : body) out += (l.size() > cut ? l.substr(cut) : "") + "\n";
  return out;
}

}  // namespace

TEST_CASE("docs/adding-a-layer.md shows exactly this file's code") {
  const std::string data = CONVGRAD_TEST_DATA;
  const std::string source = read_text(data + "/../test_doc_adding_a_layer.cpp");
  const auto doc = lines_of(read_text(data + "/../../docs/adding-a-layer.md"));
  const std::string marker = "<!-- test: tests/test_doc_adding_a_layer.cpp#";
  int blocks = 0;
  for (size_t i = 0; i < doc.size(); ++i) {
    if (doc[i].rfind(marker, 0) != 0) continue;
    std::string name = doc[i].substr(marker.size(), doc[i].find(" -->") - marker.size());
    REQUIRE(i + 1 < doc.size());
    REQUIRE(doc[i + 1].rfind("```", 0) == 0);
    std::string shown;
    size_t j = i + 2;
    for (; j < doc.size() && doc[j] != "```"; ++j) shown += doc[j] + "\n";
    INFO("doc block '" << name << "' at line " << i + 1);
    CHECK(!region(source, name).empty());
    CHECK(shown == region(source, name));
    ++blocks;
    i = j;
  }
  CHECK(blocks == 5);
}
