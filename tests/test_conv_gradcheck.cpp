// Gradients of conv2d and conv_transpose2d (input, weight, bias) against finite differences, and the
// adjoint identity <conv2d(x, w), y> = <x, conv_transpose2d(y, w)>, on every built backend.
#include <doctest/doctest.h>
#include <fmt/format.h>

#include "autograd/gradcheck.h"
#include "autograd/ops_conv.h"
#include "core/backend.h"
#include "core/factory.h"
#include "core/random.h"

using namespace convgrad;

namespace {

Tensor leaf(const Shape& s, Generator& gen) {
  Tensor t = uniform(s, -1.f, 1.f, gen);
  t.set_requires_grad();
  return t;
}

// Convolutions are linear in each argument, so central differences are exact for any step: a large
// step keeps float32 rounding out of the numeric gradient.
GradcheckOptions linear_options() {
  GradcheckOptions o;
  o.eps = 0.5;
  o.atol = 1e-3;
  o.rtol = 1e-3;
  return o;
}

double dot(const Tensor& a, const Tensor& b) {
  std::vector<float> x = a.to_vector(), y = b.to_vector();
  REQUIRE(x.size() == y.size());
  double s = 0;
  for (size_t i = 0; i < x.size(); ++i) s += double(x[i]) * y[i];
  return s;
}

struct ConvCase {
  const char* name;
  Shape x, w;
  bool bias;
  Conv2dFuncOptions opts;
};

struct TransposedCase {
  const char* name;
  Shape x, w;
  bool bias;
  ConvTranspose2dFuncOptions opts;
};

std::vector<ConvCase> conv_cases() {
  return {
      {"groups 2, stride 2x1, padding 1x0, dilation 1x2",
       {2, 4, 5, 6},
       {6, 2, 3, 2},
       true,
       Conv2dFuncOptions().groups(2).stride(Pair{2, 1}).padding(Pair{1, 0}).dilation(Pair{1, 2})},
      {"same, even kernel, dilation 2",
       {1, 2, 5, 4},
       {3, 2, 4, 3},
       true,
       Conv2dFuncOptions().padding(PaddingMode::Same).dilation(2)},
      {"depthwise, stride 3, padding above half the kernel",
       {1, 3, 7, 6},
       {3, 1, 3, 3},
       false,
       Conv2dFuncOptions().groups(3).stride(3).padding(2)},
      {"unbatched", {3, 5, 4}, {2, 3, 3, 2}, true, Conv2dFuncOptions().padding(1)},
  };
}

std::vector<TransposedCase> transposed_cases() {
  return {
      {"groups 2, stride 2, padding 1, output_padding 1",
       {2, 4, 3, 3},
       {4, 3, 3, 3},
       true,
       ConvTranspose2dFuncOptions().groups(2).stride(2).padding(1).output_padding(1)},
      {"dilation 2 > stride 1, output_padding 1 > padding 0",
       {1, 2, 3, 4},
       {2, 3, 2, 3},
       true,
       ConvTranspose2dFuncOptions().dilation(2).output_padding(1)},
      {"stride 3x2, kernel 4x1, output_size",
       {1, 3, 2, 3},
       {3, 2, 4, 1},
       false,
       ConvTranspose2dFuncOptions().stride(Pair{3, 2}).padding(Pair{1, 0}).output_size(Pair{6, 6})},
      {"unbatched", {2, 3, 3}, {2, 2, 3, 3}, true, ConvTranspose2dFuncOptions().stride(2)},
  };
}

// Runs `body` once per built backend, restoring the selection afterwards.
template <class F>
void on_every_backend(F&& body) {
  std::string saved = current_backend();
  for (const std::string& name : available_backends()) {
    set_backend(name);
    body(name);
  }
  set_backend(saved);
}

}  // namespace

TEST_CASE("conv2d: gradients of input, weight and bias match finite differences") {
  on_every_backend([](const std::string& backend) {
    for (const ConvCase& c : conv_cases()) {
      INFO(backend << ": " << c.name);
      Generator gen(7);
      std::vector<Tensor> in{leaf(c.x, gen), leaf(c.w, gen)};
      if (c.bias) in.push_back(leaf({c.w[0]}, gen));
      Conv2dFuncOptions opts = c.opts;
      auto r = gradcheck(
          [opts](const std::vector<Tensor>& t) {
            return conv2d(t[0], t[1], t.size() > 2 ? t[2] : Tensor(), opts);
          },
          in, linear_options());
      CHECK_MESSAGE(r.ok, r.report);
    }
  });
}

TEST_CASE("conv_transpose2d: gradients of input, weight and bias match finite differences") {
  on_every_backend([](const std::string& backend) {
    for (const TransposedCase& c : transposed_cases()) {
      INFO(backend << ": " << c.name);
      Generator gen(11);
      std::vector<Tensor> in{leaf(c.x, gen), leaf(c.w, gen)};
      if (c.bias) in.push_back(leaf({c.w[1] * c.opts.groups()}, gen));
      ConvTranspose2dFuncOptions opts = c.opts;
      auto r = gradcheck(
          [opts](const std::vector<Tensor>& t) {
            return conv_transpose2d(t[0], t[1], t.size() > 2 ? t[2] : Tensor(), opts);
          },
          in, linear_options());
      CHECK_MESSAGE(r.ok, r.report);
    }
  });
}

TEST_CASE("adjoint identity: <conv2d(x, w), y> == <x, conv_transpose2d(y, w)>") {
  struct Case {
    Shape x, w;
    int64_t stride, padding, dilation, groups;
  };
  const std::vector<Case> cases = {
      {{2, 3, 8, 7}, {4, 3, 3, 3}, 1, 1, 1, 1},       {{1, 4, 9, 10}, {6, 2, 3, 2}, 2, 1, 1, 2},
      {{2, 6, 11, 8}, {6, 1, 4, 4}, 3, 2, 1, 6},      {{1, 3, 12, 13}, {5, 3, 3, 3}, 2, 0, 2, 1},
      {{1, 2, 64, 96}, {3, 2, 64, 64}, 32, 16, 1, 1},
  };
  on_every_backend([&](const std::string& backend) {
    for (const Case& c : cases) {
      INFO(backend << ": x " << shape_str(c.x) << ", w " << shape_str(c.w) << ", stride " << c.stride);
      Generator gen(3);
      Tensor x = uniform(c.x, -1.f, 1.f, gen), w = uniform(c.w, -1.f, 1.f, gen);
      Tensor cx = conv2d(
          x, w, Tensor(),
          Conv2dFuncOptions().stride(c.stride).padding(c.padding).dilation(c.dilation).groups(c.groups));
      Tensor y = uniform(cx.shape(), -1.f, 1.f, gen);
      // output_size makes the transposed output exactly x's shape (output_padding derived).
      Tensor ty = conv_transpose2d(y, w, Tensor(),
                                   ConvTranspose2dFuncOptions()
                                       .stride(c.stride)
                                       .padding(c.padding)
                                       .dilation(c.dilation)
                                       .groups(c.groups)
                                       .output_size(Pair{c.x[2], c.x[3]}));
      REQUIRE(ty.shape() == x.shape());
      double lhs = dot(cx, y), rhs = dot(x, ty);
      CHECK(lhs == doctest::Approx(rhs).epsilon(1e-5));
    }
  });
}
