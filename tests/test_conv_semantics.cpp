// PyTorch semantics at the op level: unbatched input, batch 0, "same"/"valid", non-contiguous
// operands, partial gradients, and conv_transpose2d being conv2d's input gradient (no weight flip).
#include <doctest/doctest.h>

#include "autograd/ops_conv.h"
#include "core/backend.h"
#include "core/factory.h"
#include "core/random.h"
#include "test_conv_util.h"
#include "test_util.h"

using namespace convgrad;
using convgrad::testing::as_double;
using convgrad::testing::check_close;
using convgrad::testing::on_every_backend;

namespace {

// The (C, H, W) sample n of an (N, C, H, W) tensor, as a copy.
std::vector<double> sample(const Tensor& t, int64_t n) {
  std::vector<double> all = as_double(t);
  int64_t per = t.numel() / t.size(0);
  return std::vector<double>(all.begin() + n * per, all.begin() + (n + 1) * per);
}

}  // namespace

TEST_CASE("unbatched input equals the batched op on a batch of one") {
  on_every_backend([] {
    Generator gen(1);
    Tensor x = uniform({3, 7, 6}, -1.f, 1.f, gen), w = uniform({4, 3, 3, 2}, -1.f, 1.f, gen);
    Tensor b = uniform({4}, -1.f, 1.f, gen);
    Tensor x4 = from_vector(x.to_vector(), {1, 3, 7, 6});
    Tensor y = conv2d(x, w, b, Conv2dFuncOptions().stride(2).padding(1));
    CHECK(y.shape() == Shape{4, 4, 4});
    check_close(y, sample(conv2d(x4, w, b, Conv2dFuncOptions().stride(2).padding(1)), 0), "conv2d");
    Tensor t = conv_transpose2d(x, ones({3, 2, 3, 2}), Tensor(), ConvTranspose2dFuncOptions().stride(2));
    CHECK(t.shape() == Shape{2, 15, 12});
  });
}

TEST_CASE("batch 0 gives an empty result and empty or zero gradients") {
  on_every_backend([] {
    Tensor x = zeros({0, 3, 8, 8}).set_requires_grad(), w = ones({5, 3, 3, 3}).set_requires_grad();
    Tensor b = ones({5}).set_requires_grad();
    Tensor y = conv2d(x, w, b, Conv2dFuncOptions().stride(2));
    CHECK(y.shape() == Shape{0, 5, 3, 3});
    y.backward(zeros(y.shape()));
    CHECK(x.grad().shape() == Shape{0, 3, 8, 8});
    CHECK(w.grad().to_vector() == std::vector<float>(5 * 3 * 9, 0.f));
    CHECK(b.grad().to_vector() == std::vector<float>(5, 0.f));

    Tensor wt = ones({3, 2, 4, 4}).set_requires_grad();
    Tensor t = conv_transpose2d(x, wt, Tensor(), ConvTranspose2dFuncOptions().stride(2).padding(1));
    CHECK(t.shape() == Shape{0, 2, 16, 16});
    t.backward(zeros(t.shape()));
    CHECK(wt.grad().to_vector() == std::vector<float>(3 * 2 * 16, 0.f));
  });
}

TEST_CASE("padding same and valid") {
  on_every_backend([] {
    Tensor x = ones({1, 1, 5, 6});
    // Even kernel 4 with dilation 1: total padding 3 split as 1 before, 2 after (PyTorch's split).
    Tensor y = conv2d(x, ones({1, 1, 4, 4}), Tensor(), Conv2dFuncOptions().padding(PaddingMode::Same));
    CHECK(y.shape() == Shape{1, 1, 5, 6});
    CHECK(y.at({0, 0, 0, 0}) == 9.f);  // rows 0..2 x cols 0..2 of the input (1 row/col of padding before)
    CHECK(y.at({0, 0, 4, 5}) == 4.f);  // rows 3..4 x cols 4..5 (2 of padding after)
    Tensor v = conv2d(x, ones({1, 1, 4, 4}), Tensor(), Conv2dFuncOptions().padding(PaddingMode::Valid));
    CHECK(v.shape() == Shape{1, 1, 2, 3});
    CHECK(v.to_vector() == std::vector<float>(6, 16.f));
  });
}

TEST_CASE("non-contiguous operands give the same values and gradients") {
  on_every_backend([] {
    Generator gen(4);
    Tensor base = uniform({1, 2, 6, 5}, -1.f, 1.f, gen);
    // A transposed view (H and W swapped): non-contiguous, shape (1, 2, 5, 6).
    Tensor view = as_strided(base, {1, 2, 5, 6}, {60, 30, 1, 5}, 0);
    REQUIRE(!view.is_contiguous());
    view.set_requires_grad();
    Tensor copy = clone_data(view).set_requires_grad();
    Tensor w = uniform({3, 2, 2, 3}, -1.f, 1.f, gen);
    Tensor a = conv2d(view, w), c = conv2d(copy, w);
    check_close(a, as_double(c), "forward");
    a.backward(ones(a.shape()));
    c.backward(ones(c.shape()));
    check_close(view.grad(), as_double(copy.grad()), "grad input");
  });
}

TEST_CASE("only the operands that require grad get a gradient") {
  on_every_backend([] {
    Tensor x = ones({1, 2, 4, 4}), w = ones({3, 2, 3, 3}), b = ones({3}).set_requires_grad();
    Tensor y = conv2d(x, w, b);
    y.backward(ones(y.shape()));
    CHECK(b.grad().to_vector() == std::vector<float>{4, 4, 4});
    CHECK(!x.grad().defined());
    CHECK(!w.grad().defined());
    Tensor bt = ones({2}).set_requires_grad();
    Tensor t = conv_transpose2d(ones({1, 3, 2, 2}), ones({3, 2, 2, 2}), bt);
    t.backward(ones(t.shape()));
    CHECK(bt.grad().to_vector() == std::vector<float>{9, 9});
  });
}

TEST_CASE("conv_transpose2d(g, w) is conv2d's input gradient, with the same weight tensor") {
  on_every_backend([] {
    Generator gen(8);
    Tensor x = uniform({2, 4, 9, 8}, -1.f, 1.f, gen).set_requires_grad();
    Tensor w = uniform({6, 2, 3, 4}, -1.f, 1.f, gen);
    auto conv = Conv2dFuncOptions().stride(2).padding(Pair{1, 2}).dilation(Pair{2, 1}).groups(2);
    Tensor y = conv2d(x, w, Tensor(), conv);
    Tensor g = uniform(y.shape(), -1.f, 1.f, gen);
    y.backward(g);
    Tensor t = conv_transpose2d(g, w, Tensor(),
                                ConvTranspose2dFuncOptions()
                                    .stride(2)
                                    .padding(Pair{1, 2})
                                    .dilation(Pair{2, 1})
                                    .groups(2)
                                    .output_size(Pair{9, 8}));
    // Both sides run the backend's conv_backward_data, so each is compared with the oracle, which computes
    // dx = sum dy w straight from the definition of the convolution.
    ConvParams p;
    p.stride = {2, 2};
    p.dilation = {2, 1};
    p.pad_begin = p.pad_end = {1, 2};
    p.groups = 2;
    convgrad::testing::Oracle ref(ConvShapes{x.shape(), w.shape(), y.shape(), p}, x.to_vector(),
                                  w.to_vector(), g.to_vector());
    check_close(x.grad(), ref.dx, "conv2d input gradient vs oracle");
    check_close(t, ref.dx, "conv_transpose2d(g, w) vs oracle");
  });
}
