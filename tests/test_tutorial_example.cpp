// The tutorial's hand-written helpers beyond the book's fixed example: general shapes against the
// framework ops, the lax padding rules, and gradients through the reader-style trans_conv.
// (tests/CMakeLists.txt builds one file per test, so the helpers' sources are included here.)
#include <doctest/doctest.h>

#include "../examples/tutorial_transposed_conv/handwritten.cpp"

using namespace convgrad;
using tutorial::PadPair;

namespace {
Tensor nchw(const Tensor& t) { return reshape(t, {1, 1, t.size(0), t.size(1)}); }
bool same_pads(PadPair got, int64_t lo, int64_t hi) { return got.lo == lo && got.hi == hi; }
}  // namespace

TEST_CASE("trans_conv and corr2d match the framework ops on non-square shapes") {
  Generator gen(1);
  Tensor X = randn({3, 4}, gen), K = randn({2, 3}, gen);
  Tensor Y = tutorial::trans_conv(X, K);
  CHECK(Y.shape() == Shape{4, 6});
  CHECK(allclose(nchw(Y), conv_transpose2d(nchw(X), nchw(K)), 1e-5, 1e-5));
  Tensor C = tutorial::corr2d(X, K);
  CHECK(C.shape() == Shape{2, 2});
  CHECK(allclose(nchw(C), conv2d(nchw(X), nchw(K)), 1e-5, 1e-5));
}

TEST_CASE("kernel2matrix: W x is the convolution and W^T y the transposed convolution") {
  Generator gen(2);
  Tensor X = randn({4, 5}, gen), K = randn({3, 2}, gen);
  Tensor W = tutorial::kernel2matrix(K, 4, 5);
  CHECK(W.shape() == Shape{2 * 4, 20});
  Tensor Y = conv2d(nchw(X), nchw(K));
  CHECK(allclose(matmul(W, reshape(X, {-1})), reshape(Y, {-1}), 1e-5, 1e-5));
  Tensor G = randn({2, 4}, gen);
  CHECK(allclose(matmul(transpose(W, 0, 1), reshape(G, {-1})),
                 reshape(conv_transpose2d(nchw(G), nchw(K)), {-1}), 1e-5, 1e-5));
}

TEST_CASE("dilate2d inserts s - 1 zeros; flip2d rotates by 180 degrees") {
  Tensor x = reshape(arange(1, 7), {1, 1, 2, 3});
  Tensor d = tutorial::dilate2d(x, 3);
  REQUIRE(d.shape() == Shape{1, 1, 4, 7});
  CHECK(d.at({0, 0, 0, 0}) == 1.f);
  CHECK(d.at({0, 0, 0, 3}) == 2.f);
  CHECK(d.at({0, 0, 3, 6}) == 6.f);
  CHECK(d.at({0, 0, 1, 3}) == 0.f);
  CHECK(sum(d).item() == 21.f);
  CHECK(
      allclose(d, conv_transpose2d(x, ones({1, 1, 1, 1}), Tensor(), ConvTranspose2dFuncOptions().stride(3))));
  CHECK(tutorial::flip2d(tensor({{0, 1, 2}, {3, 4, 5}})).to_vector() == std::vector<float>{5, 4, 3, 2, 1, 0});
}

TEST_CASE("PyTorch's transposed convolution is the flipped-kernel correlation recipe") {
  Generator gen(3);
  Tensor x = randn({2, 3, 4, 5}, gen), w = randn({3, 2, 3, 4}, gen);  // (in, out, kh, kw)
  for (int64_t s : {1, 2, 3}) {
    for (int64_t p : {0, 1, 2}) {
      CAPTURE(s);
      CAPTURE(p);
      Tensor want = conv_transpose2d(x, w, Tensor(), ConvTranspose2dFuncOptions().stride(s).padding(p));
      Tensor got = tutorial::torch_conv_transpose_as_correlation(x, w, s, p);
      CHECK(got.shape() == want.shape());
      CHECK(allclose(got, want, 1e-4, 1e-4));
    }
  }
}

TEST_CASE("lax 'SAME' paddings and Flax's output size n * s") {
  CHECK(same_pads(tutorial::lax_transpose_same_padding(2, 1), 1, 0));
  CHECK(same_pads(tutorial::lax_transpose_same_padding(2, 2), 1, 1));
  CHECK(same_pads(tutorial::lax_transpose_same_padding(5, 3), 3, 3));
  CHECK(same_pads(tutorial::lax_transpose_same_padding(4, 2), 2, 2));
  CHECK(same_pads(tutorial::lax_transpose_same_padding(3, 1), 1, 1));
  CHECK(same_pads(tutorial::lax_conv_same_padding(16, 5, 3), 2, 2));
  CHECK(same_pads(tutorial::lax_conv_same_padding(7, 2, 1), 0, 1));
  Generator gen(4);
  for (int64_t k : {1, 2, 3, 4, 5}) {
    for (int64_t s : {1, 2, 3}) {
      const PadPair p = tutorial::lax_transpose_same_padding(k, s);
      Tensor y = tutorial::flax_conv_transpose(randn({1, 2, 3, 4}, gen), randn({1, 2, k, k}, gen), s, p, p);
      CAPTURE(k);
      CAPTURE(s);
      CHECK(y.shape() == Shape{1, 1, 3 * s, 4 * s});
    }
  }
  Tensor conv = tutorial::flax_conv_same(randn({1, 2, 16, 17}, gen), randn({3, 2, 5, 5}, gen), 3);
  CHECK(conv.shape() == Shape{1, 3, 6, 6});
}

TEST_CASE("gradients flow through the reader-style trans_conv like through conv_transpose2d") {
  Generator gen(5);
  Tensor X = randn({2, 3}, gen).set_requires_grad();
  Tensor K = randn({2, 2}, gen).set_requires_grad();
  auto r =
      gradcheck([](const std::vector<Tensor>& in) { return tutorial::trans_conv(in[0], in[1]); }, {X, K});
  CHECK_MESSAGE(r.ok, r.report);

  Tensor G = randn({3, 4}, gen);
  tutorial::trans_conv(X, K).backward(G);
  Tensor gx = X.grad(), gk = K.grad();
  Tensor X2 = clone_data(nchw(X)).set_requires_grad(), K2 = clone_data(nchw(K)).set_requires_grad();
  conv_transpose2d(X2, K2).backward(nchw(G));
  CHECK(allclose(nchw(gx), X2.grad(), 1e-5, 1e-5));
  CHECK(allclose(nchw(gk), K2.grad(), 1e-5, 1e-5));
}
