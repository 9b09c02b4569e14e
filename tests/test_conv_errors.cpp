// Every invalid convolution throws convgrad::Error naming the op, the shapes, the formula and the fix.
#include <doctest/doctest.h>

#include <string>

#include "autograd/ops_conv.h"
#include "core/backend.h"
#include "core/factory.h"

using namespace convgrad;

namespace {

// The message of the Error `f` throws; fails the test when it throws nothing.
template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  FAIL("expected a convgrad::Error");
  return {};
}

#define CHECK_HAS(msg, text) \
  CHECK_MESSAGE((msg).find(text) != std::string::npos, "'" << (text) << "' not in: " << (msg))

Tensor z(const Shape& s) { return zeros(s); }

}  // namespace

TEST_CASE("conv2d: wrong ranks") {
  std::string m = error_of([] { conv2d(z({4, 4}), z({1, 1, 3, 3})); });
  CHECK_HAS(m, "conv2d");
  CHECK_HAS(m, "3-D (C, H, W) or 4-D (N, C, H, W)");
  CHECK_HAS(m, "[4, 4]");
  m = error_of([] { conv2d(z({1, 1, 4, 4}), z({1, 3, 3})); });
  CHECK_HAS(m, "4-D weight (out_channels, in_channels/groups, kH, kW)");
  CHECK_HAS(m, "weight shape [1, 3, 3]");
  CHECK_HAS(m, "input shape [1, 1, 4, 4]");
}

TEST_CASE("conv2d: mismatched channels name both shapes and the weight that would fit") {
  std::string m = error_of([] { conv2d(z({2, 4, 8, 8}), z({8, 3, 3, 3})); });
  CHECK_HAS(m, "conv2d: input shape [2, 4, 8, 8] has 4 channels");
  CHECK_HAS(m, "weight shape [8, 3, 3, 3] with groups=1 expects 3");
  CHECK_HAS(m, "a weight of shape [8, 4, 3, 3]");
  m = error_of([] { conv2d(z({1, 4, 8, 8}), z({6, 1, 3, 3}), Tensor(), Conv2dFuncOptions().groups(2)); });
  CHECK_HAS(m, "with groups=2 expects 2 (weight.size(1) * groups = 1 * 2)");
}

TEST_CASE("conv2d: bad groups") {
  std::string m = error_of([] {
    conv2d(z({1, 4, 8, 8}), z({6, 1, 3, 3}), Tensor(), Conv2dFuncOptions().groups(4));
  });
  CHECK_HAS(m, "6 output channels, which groups=4 does not divide");
  m = error_of([] { conv2d(z({1, 4, 8, 8}), z({6, 4, 3, 3}), Tensor(), Conv2dFuncOptions().groups(0)); });
  CHECK_HAS(m, "groups must be >= 1, got groups=0");
  m = error_of([] {
    conv_transpose2d(z({1, 6, 4, 4}), z({6, 1, 3, 3}), Tensor(), ConvTranspose2dFuncOptions().groups(4));
  });
  CHECK_HAS(
      m, "conv_transpose2d: weight shape [6, 1, 3, 3] has 6 input channels, which groups=4 does not divide");
}

TEST_CASE("non-positive stride or dilation, negative padding") {
  std::string m = error_of([] {
    conv2d(z({1, 1, 5, 5}), z({1, 1, 3, 3}), Tensor(), Conv2dFuncOptions().stride(Pair{0, 1}));
  });
  CHECK_HAS(m, "conv2d: stride must be >= 1 in each dimension, got stride=[0, 1]");
  CHECK_HAS(m, "input shape [1, 1, 5, 5], weight shape [1, 1, 3, 3]");
  m = error_of([] { conv2d(z({1, 1, 5, 5}), z({1, 1, 3, 3}), Tensor(), Conv2dFuncOptions().dilation(-1)); });
  CHECK_HAS(m, "dilation must be >= 1");
  m = error_of([] {
    conv2d(z({1, 1, 5, 5}), z({1, 1, 3, 3}), Tensor(), Conv2dFuncOptions().padding(Pair{1, -2}));
  });
  CHECK_HAS(m, "padding must be >= 0 in each dimension, got padding=[1, -2]");
  m = error_of([] {
    conv_transpose2d(z({1, 1, 5, 5}), z({1, 1, 3, 3}), Tensor(), ConvTranspose2dFuncOptions().stride(0));
  });
  CHECK_HAS(m, "conv_transpose2d: stride must be >= 1");
  m = error_of([] {
    conv_transpose2d(z({1, 1, 5, 5}), z({1, 1, 3, 3}), Tensor(), ConvTranspose2dFuncOptions().padding(-1));
  });
  CHECK_HAS(m, "conv_transpose2d: padding must be >= 0");
  m = error_of([] { conv2d(z({1, 1, 5, 5}), z({1, 1, 0, 3})); });
  CHECK_HAS(m, "at least one tap");
}

TEST_CASE("conv2d: an empty output shows the formula and the padding that fixes it") {
  std::string m = error_of([] { conv2d(z({1, 3, 4, 9}), z({2, 3, 5, 5})); });
  CHECK_HAS(m,
            "conv2d: input shape [1, 3, 4, 9] with weight shape [2, 3, 5, 5] gives an empty output height");
  CHECK_HAS(m, "conv out = floor((in + 2p - d(k-1) - 1)/s) + 1 = floor((4 + 0 - 1*(5-1) - 1)/1) + 1 = 0");
  CHECK_HAS(m, "padding >= 1 per side");
  m = error_of([] { conv2d(z({1, 1, 9, 3}), z({1, 1, 3, 3}), Tensor(), Conv2dFuncOptions().dilation(3)); });
  CHECK_HAS(m, "empty output width");
  CHECK_HAS(m, "extent 7");
  CHECK_HAS(m, "padding >= 2 per side");
}

TEST_CASE("conv2d: padding='same' needs stride 1") {
  std::string m = error_of([] {
    conv2d(z({1, 1, 8, 8}), z({1, 1, 3, 3}), Tensor(),
           Conv2dFuncOptions().padding(PaddingMode::Same).stride(2));
  });
  CHECK_HAS(m, "padding='same' is not supported for strided convolutions (stride=[2, 2]");
}

TEST_CASE("bias of the wrong length") {
  std::string m = error_of([] { conv2d(z({1, 3, 5, 5}), z({4, 3, 3, 3}), z({3})); });
  CHECK_HAS(m, "conv2d: bias shape [3] does not match the 4 output channels");
  CHECK_HAS(m, "expected bias shape [4]");
  m = error_of([] {
    conv_transpose2d(z({1, 4, 5, 5}), z({4, 3, 3, 3}), z({4}), ConvTranspose2dFuncOptions().groups(2));
  });
  CHECK_HAS(m, "conv_transpose2d: bias shape [4] does not match the 6 output channels");
}

TEST_CASE("conv_transpose2d: mismatched channels explain the (in, out/groups) layout") {
  std::string m = error_of([] { conv_transpose2d(z({1, 4, 5, 5}), z({3, 4, 3, 3})); });
  CHECK_HAS(
      m,
      "conv_transpose2d: input shape [1, 4, 5, 5] has 4 channels, but weight shape [3, 4, 3, 3] expects 3");
  CHECK_HAS(m, "(in_channels, out_channels/groups, kH, kW)");
}

TEST_CASE("conv_transpose2d: output_padding must be smaller than stride or dilation") {
  std::string m = error_of([] {
    conv_transpose2d(z({1, 1, 3, 3}), z({1, 1, 3, 3}), Tensor(),
                     ConvTranspose2dFuncOptions().stride(2).output_padding(2));
  });
  CHECK_HAS(m, "output_padding=[2, 2] must be smaller than stride=[2, 2] or dilation=[1, 1] along height");
  CHECK_HAS(m, "output_padding in 0..1, or pass output_size");
  m = error_of([] {
    conv_transpose2d(z({1, 1, 3, 3}), z({1, 1, 3, 3}), Tensor(),
                     ConvTranspose2dFuncOptions().output_padding(-1));
  });
  CHECK_HAS(m, "output_padding must be >= 0");
  // Allowed: smaller than the dilation even when not smaller than the stride.
  Tensor y = conv_transpose2d(z({1, 1, 3, 3}), z({1, 1, 3, 3}), Tensor(),
                              ConvTranspose2dFuncOptions().dilation(3).output_padding(2));
  CHECK(y.shape() == Shape{1, 1, 3 + 6 + 2, 3 + 6 + 2});
}

TEST_CASE("conv_transpose2d: an empty output shows the formula and the largest padding") {
  std::string m = error_of([] {
    conv_transpose2d(z({1, 1, 1, 4}), z({1, 1, 3, 3}), Tensor(), ConvTranspose2dFuncOptions().padding(2));
  });
  CHECK_HAS(
      m,
      "conv_transpose2d: input shape [1, 1, 1, 4], weight shape [1, 1, 3, 3] gives an empty output height");
  CHECK_HAS(
      m,
      "transposed out = (in-1)s - 2p + d(k-1) + output_padding + 1 = (1-1)*1 - 2*2 + 1*(3-1) + 0 + 1 = -1");
  CHECK_HAS(m, "padding <= 1 along height");
}

TEST_CASE("conv_transpose2d: output_size derives output_padding, or lists the reachable range") {
  // The tutorial's round trip from 17x17: conv gives 6x6, the plain transposed conv 16x16.
  Tensor x = z({1, 2, 17, 17});
  Tensor y = conv2d(x, z({3, 2, 5, 5}), Tensor(), Conv2dFuncOptions().padding(2).stride(3));
  CHECK(y.shape() == Shape{1, 3, 6, 6});
  auto opts = ConvTranspose2dFuncOptions().padding(2).stride(3);
  CHECK(conv_transpose2d(y, z({3, 2, 5, 5}), Tensor(), opts).shape() == Shape{1, 2, 16, 16});
  CHECK(conv_transpose2d(y, z({3, 2, 5, 5}), Tensor(), opts.output_size(Pair{17, 18})).shape() ==
        Shape{1, 2, 17, 18});
  std::string m = error_of([&] {
    conv_transpose2d(y, z({3, 2, 5, 5}), Tensor(), opts.output_size(Pair{17, 19}));
  });
  CHECK_HAS(m, "conv_transpose2d: output_size=[17, 19] is unreachable along width");
  CHECK_HAS(m, "input shape [1, 3, 6, 6], weight shape [3, 2, 5, 5]");
  CHECK_HAS(m, "stride=[3, 3], padding=[2, 2], dilation=[1, 1]");
  CHECK_HAS(m, "gives 16..18 there (output_padding 0..2)");
  CHECK_HAS(m, "ask for an output_size in 16..18");
}

TEST_CASE("wrong dtype, undefined operands") {
  std::string m = error_of([] { conv2d(zeros({1, 1, 3, 3}, DType::Int64), z({1, 1, 1, 1})); });
  CHECK_HAS(m, "conv2d: input must be float32, got int64");
  m = error_of([] { conv_transpose2d(z({1, 1, 3, 3}), Tensor()); });
  CHECK_HAS(m, "conv_transpose2d: weight is undefined");
}

TEST_CASE("backend kernels called directly validate their shapes") {
  for (const std::string& name : available_backends()) {
    INFO(name);
    Backend& b = get_backend(name);
    ConvParams p;
    std::string m = error_of([&] {
      b.conv_forward(z({1, 2, 5, 5}), z({3, 2, 3, 3}), Tensor(), z({1, 3, 4, 3}), p);
    });
    CHECK_HAS(m, "conv_forward");
    CHECK_HAS(m, "dst height is 4 but conv out");
    m = error_of([&] { b.conv_backward_data(z({1, 3, 3, 3}), z({3, 2, 3, 3}), z({3}), z({1, 2, 5, 5}), p); });
    CHECK_HAS(m, "bias (per input channel) has shape [3], expected [2]");
    p.groups = 0;
    m = error_of([&] {
      b.conv_backward_weights(z({1, 2, 5, 5}), z({1, 3, 3, 3}), z({3, 2, 3, 3}), Tensor(), p);
    });
    CHECK_HAS(m, "groups must be >= 1");
  }
}

TEST_CASE("unknown backend names list the available ones") {
  std::string m = error_of([] { set_backend("cuda"); });
  CHECK_HAS(m, "set_backend: 'cuda' is not an available convolution backend; available: ");
  CHECK_HAS(m, "reference");
}

TEST_CASE("huge parameters overflow-check the size arithmetic and name the value") {
  constexpr int64_t kHuge = int64_t{1} << 62;
  const std::string huge = "4611686018427387904";
  std::string m = error_of([] {
    conv2d(z({1, 1, 4, 4}), z({1, 1, 3, 3}), Tensor(), Conv2dFuncOptions().padding(kHuge));
  });
  CHECK_HAS(m,
            "conv2d: stride=[1, 1], padding=[" + huge + ", " + huge + "], dilation=[1, 1] overflow 64-bit");
  m = error_of([] {
    conv2d(z({1, 1, 4, 4}), z({1, 1, 3, 3}), Tensor(), Conv2dFuncOptions().dilation(kHuge));
  });
  CHECK_HAS(m, "dilation=[" + huge);
  m = error_of([] {
    conv_transpose2d(z({1, 1, 4, 4}), z({1, 1, 3, 3}), Tensor(), ConvTranspose2dFuncOptions().stride(kHuge));
  });
  CHECK_HAS(m, "conv_transpose2d: stride=[" + huge);
  CHECK_HAS(m, "overflow 64-bit size arithmetic along height");
  // (An empty input whose other sizes fit in int64: [0, 1, 2^62, 4] is refused by zeros() already.)
  m = error_of([] {
    conv2d(z({0, 1, kHuge, 1}), z({1, 1, 3, 1}), Tensor(), Conv2dFuncOptions().padding(kHuge));
  });
  CHECK_HAS(m, "input shape [0, 1, " + huge + ", 1]");
  // Large but representable: a huge stride with one output per dimension is fine.
  CHECK(conv2d(ones({1, 1, 4, 4}), ones({1, 1, 3, 3}), Tensor(), Conv2dFuncOptions().stride(kHuge)).shape() ==
        Shape{1, 1, 1, 1});
}
