// The transposed-convolution tutorial (../shared/reference/d2l_transposed_conv.md, steps 1-6) with
// PyTorch's numbers, on every built backend.
#include <doctest/doctest.h>

#include <array>

#include "autograd/ops_conv.h"
#include "core/backend.h"
#include "core/factory.h"
#include "core/random.h"
#include "test_util.h"

using namespace convgrad;
using convgrad::testing::on_every_backend;

namespace {

// Step 1's hand-written transposed convolution: Y[i:i+kh, j:j+kw] += X[i, j] * K.
std::vector<float> trans_conv(const std::vector<float>& X, int64_t nh, int64_t nw,
                              const std::vector<float>& K, int64_t kh, int64_t kw) {
  std::vector<float> Y((nh + kh - 1) * (nw + kw - 1), 0.f);
  for (int64_t i = 0; i < nh; ++i)
    for (int64_t j = 0; j < nw; ++j)
      for (int64_t a = 0; a < kh; ++a)
        for (int64_t b = 0; b < kw; ++b) Y[(i + a) * (nw + kw - 1) + j + b] += X[i * nw + j] * K[a * kw + b];
  return Y;
}

Tensor image(const std::vector<float>& v, int64_t h, int64_t w) { return from_vector(v, {1, 1, h, w}); }

const std::vector<float> kX = {0, 1, 2, 3}, kK = {0, 1, 2, 3};

}  // namespace

TEST_CASE("step 1: conv_transpose2d equals the hand-written transposed convolution") {
  // The helper is the tutorial's definition; on its numbers it gives the tutorial's output...
  CHECK(trans_conv(kX, 2, 2, kK, 2, 2) == std::vector<float>{0, 0, 1, 0, 4, 6, 4, 12, 9});
  // ...and on random values of other sizes the library gives what it gives (integers: exact in float).
  on_every_backend([] {
    Generator gen(11);
    for (auto [nh, nw, kh, kw] : {std::array<int64_t, 4>{3, 4, 2, 3}, std::array<int64_t, 4>{5, 2, 4, 1}}) {
      CAPTURE(nh);
      CAPTURE(kh);
      std::vector<float> X = randint(-4, 5, {nh * nw}, gen).to_vector(),
                         K = randint(-4, 5, {kh * kw}, gen).to_vector();
      Tensor y = conv_transpose2d(image(X, nh, nw), image(K, kh, kw));
      CHECK(y.shape() == Shape{1, 1, nh + kh - 1, nw + kw - 1});
      CHECK(y.to_vector() == trans_conv(X, nh, nw, K, kh, kw));
    }
  });
}

TEST_CASE("step 2: conv_transpose2d gives the same 3x3 values") {
  on_every_backend([] {
    Tensor y = conv_transpose2d(image(kX, 2, 2), image(kK, 2, 2));
    CHECK(y.shape() == Shape{1, 1, 3, 3});
    CHECK(y.to_vector() == std::vector<float>{0, 0, 1, 0, 4, 6, 4, 12, 9});
  });
}

TEST_CASE("step 3: padding removes rows and columns from the output") {
  on_every_backend([] {
    Tensor y =
        conv_transpose2d(image(kX, 2, 2), image(kK, 2, 2), Tensor(), ConvTranspose2dFuncOptions().padding(1));
    CHECK(y.shape() == Shape{1, 1, 1, 1});
    CHECK(y.item() == 4.f);
  });
}

TEST_CASE("step 4: stride 2 spaces the kernel copies") {
  on_every_backend([] {
    Tensor y =
        conv_transpose2d(image(kX, 2, 2), image(kK, 2, 2), Tensor(), ConvTranspose2dFuncOptions().stride(2));
    CHECK(y.shape() == Shape{1, 1, 4, 4});
    CHECK(y.to_vector() == std::vector<float>{0, 0, 0, 1, 0, 0, 2, 3, 0, 2, 0, 3, 4, 6, 6, 9});
  });
}

TEST_CASE("step 5: conv then conv_transpose round-trips the shape") {
  on_every_backend([] {
    Generator gen(0);
    Tensor X = rand({1, 10, 16, 16}, gen);
    Tensor conv_w = rand({20, 10, 5, 5}, gen), tconv_w = rand({20, 10, 5, 5}, gen);  // (in, out) for tconv
    Tensor Y = conv2d(X, conv_w, rand({20}, gen), Conv2dFuncOptions().padding(2).stride(3));
    CHECK(Y.shape() == Shape{1, 20, 6, 6});
    Tensor Z =
        conv_transpose2d(Y, tconv_w, rand({10}, gen), ConvTranspose2dFuncOptions().padding(2).stride(3));
    CHECK(Z.shape() == X.shape());
  });
}

TEST_CASE("step 6: convolution is a matrix W, transposed convolution is W^T") {
  on_every_backend([] {
    Tensor X = from_vector(std::vector<float>{0, 1, 2, 3, 4, 5, 6, 7, 8}, {1, 1, 3, 3});
    Tensor K = from_vector(std::vector<float>{1, 2, 3, 4}, {1, 1, 2, 2});
    Tensor Y = conv2d(X, K);
    CHECK(Y.to_vector() == std::vector<float>{27, 37, 57, 67});

    // Column j of W is the convolution of the j-th unit image; row i of W^T the transposed
    // convolution of the i-th unit output.
    const std::vector<float> W_expected = {1, 2, 0, 3, 4, 0, 0, 0, 0, 0, 1, 2, 0, 3, 4, 0, 0, 0,
                                           0, 0, 0, 1, 2, 0, 3, 4, 0, 0, 0, 0, 0, 1, 2, 0, 3, 4};
    std::vector<float> W(36), WT(36);
    for (int64_t j = 0; j < 9; ++j) {
      std::vector<float> e(9, 0.f);
      e[j] = 1.f;
      std::vector<float> col = conv2d(from_vector(e, {1, 1, 3, 3}), K).to_vector();
      for (int64_t i = 0; i < 4; ++i) W[i * 9 + j] = col[i];
    }
    CHECK(W == W_expected);
    for (int64_t i = 0; i < 4; ++i) {
      std::vector<float> e(4, 0.f);
      e[i] = 1.f;
      std::vector<float> row = conv_transpose2d(from_vector(e, {1, 1, 2, 2}), K).to_vector();
      for (int64_t j = 0; j < 9; ++j) WT[j * 4 + i] = row[j];
    }
    for (int64_t i = 0; i < 4; ++i)
      for (int64_t j = 0; j < 9; ++j) CHECK(WT[j * 4 + i] == W[i * 9 + j]);

    // W @ X = Y; Z = trans_conv(Y, K) = W^T @ Y.
    std::vector<float> x = X.to_vector(), y = Y.to_vector();
    for (int64_t i = 0; i < 4; ++i) {
      float s = 0;
      for (int64_t j = 0; j < 9; ++j) s += W[i * 9 + j] * x[j];
      CHECK(s == y[i]);
    }
    Tensor Z = conv_transpose2d(Y, K);
    const std::vector<float> Z_expected = {27, 91, 74, 138, 400, 282, 171, 429, 268};
    CHECK(Z.to_vector() == Z_expected);
    CHECK(trans_conv(y, 2, 2, {1, 2, 3, 4}, 2, 2) == Z_expected);
    for (int64_t j = 0; j < 9; ++j) {
      float s = 0;
      for (int64_t i = 0; i < 4; ++i) s += W[i * 9 + j] * y[i];
      CHECK(s == Z_expected[j]);
    }
  });
}
