// The bad-input catalog, tensors to nn ops (tests/bad_input_catalog.h): each invalid use throws
// convgrad::Error naming the offending value and leaves every object it touched usable.
#include <doctest/doctest.h>

#include "bad_input_catalog.h"

using namespace convgrad;
using namespace convgrad::testing;

namespace {

std::vector<Case> catalog(World& W) {
  Tensor& x = W.x;
  auto conv_t = [&](Pair stride, Pair pad, Pair out_pad) {
    return conv_transpose2d(randn({1, 4, 3, 3}, W.gen), randn({4, 2, 3, 3}, W.gen), Tensor(),
                            ConvTranspose2dFuncOptions().stride(stride).padding(pad).output_padding(out_pad));
  };
  return {
      // ---- tensors and factories ----
      {"from_vector with too few values",
       [] {
         from_vector(std::vector<float>{1, 2, 3}, {2, 2});
       },
       {"3 values", "[2, 2]"}},
      {"negative size",
       [] {
         zeros({2, -3});
       },
       {"[2, -3]", "non-negative"}},
      {"element count overflows int64",
       [] {
         empty({int64_t{1} << 32, int64_t{1} << 32});
       },
       {"[4294967296, 4294967296]", "overflow"}},
      {"byte size overflows size_t", [] { empty({int64_t{1} << 61}); }, {"[2305843009213693952]"}},
      {"index out of range",
       [&] {
         x.at({1, 3, 0});
       },
       {"index 3", "size 3"}},
      {"wrong number of indices",
       [&] {
         x.at({0, 0});
       },
       {"2 indices", "[2, 3, 4]"}},
      {"item() of many elements", [&] { x.item(); }, {"[2, 3, 4]"}},
      {"data<int64_t>() of float32", [&] { x.data<int64_t>(); }, {"float32", "int64"}},
      {"dim out of range", [&] { x.size(3); }, {"dim 3 is out of range", "3 dims"}},
      {"requires_grad on int64", [&] { Tensor(W.labels).detach().set_requires_grad(); }, {"int64"}},
      {"backward without requires_grad", [&] { sum(x).backward(); }, {"does not require grad"}},
      {"backward of non-scalar without gradient",
       [&] { mul(leaf_copy(x), x).backward(); },
       {"[2, 3, 4]", "scalar"}},
      {"backward gradient of the wrong shape",
       [&] { mul(leaf_copy(x), x).backward(ones({4})); },
       {"[4]", "[2, 3, 4]"}},
      {"tensor rows of different lengths",
       [] {
         tensor({{1.f, 2.f}, {3.f}});
       },
       {"2 and 1"}},
      {"arange with step 0", [] { arange(0, 5, 0); }, {"step must be non-zero"}},
      // ---- elementwise and reductions ----
      {"broadcast mismatch", [&] { add(x, ones({5})); }, {"[2, 3, 4]", "[5]"}},
      {"matmul inner sizes",
       [] {
         matmul(ones({2, 3}), ones({4, 5}));
       },
       {"[2, 3]", "[4, 5]"}},
      {"conv2d of an int64 tensor", [&] { conv2d(to_dtype(W.img, DType::Int64), W.w); }, {"int64"}},
      {"softmax of an int64 tensor", [&] { softmax(W.labels, 0); }, {"int64"}},
      {"sum over a dim out of range", [&] { sum(x, {5}); }, {"dim 5", "3 dims"}},
      {"softmax dim out of range", [&] { softmax(x, -4); }, {"dim -4 is out of range", "3 dims"}},
      {"argmax dim out of range", [&] { argmax(x, 3); }, {"dim 3 is out of range", "3 dims"}},
      // ---- shape ops ----
      {"reshape to another element count",
       [&] {
         reshape(x, {5, 5});
       },
       {"[5, 5]", "[2, 3, 4]"}},
      {"reshape with two -1",
       [&] {
         reshape(x, {-1, -1});
       },
       {"only one size may be -1", "[-1, -1]"}},
      {"permute with a repeated dim",
       [&] {
         permute(x, {0, 0, 1});
       },
       {"[0, 0, 1]"}},
      {"transpose dim out of range", [&] { transpose(x, 0, 7); }, {"dim 7 is out of range", "3 dims"}},
      {"slice with step 0", [&] { slice(x, 0, 0, 2, 0); }, {"step must be positive, got 0"}},
      {"select index out of range", [&] { select(x, 2, 9); }, {"index 9 is out of range", "size 4"}},
      {"expand to an incompatible shape",
       [&] {
         expand(x, {2, 5, 4});
       },
       {"[2, 5, 4]"}},
      {"concat of mismatched shapes",
       [&] {
         concat({x, ones({2, 2, 5})}, 1);
       },
       {"[2, 2, 5]"}},
      {"concat of nothing", [] { concat({}, 0); }, {"concat", "at least one tensor"}},
      {"pad with an odd pad count",
       [&] {
         pad(x, {1, 1, 1});
       },
       {"(low, high) pairs, got 3 values"}},
      {"as_strided past the end of the storage",
       [&] { as_strided(x, {5}, {1}, 20); },
       {"address element 24", "storage of 24 float32 elements"}},
      {"as_strided with a negative storage offset",
       [&] { as_strided(x, {2}, {1}, -1); },
       {"offset -1 is negative"}},
      {"as_strided with a negative stride",
       [&] { as_strided(x, {2}, {-1}, 5); },
       {"negative strides", "[-1]"}},
      {"element count overflow behind a zero size",
       [] {
         zeros({0, int64_t{1} << 62, 4});
       },
       {"[0, 4611686018427387904, 4]", "overflows int64"}},
      // ---- autograd and in-place changes ----
      {"backward after a saved tensor was changed in place",
       [&] {
         Tensor a = leaf_copy(x), c = clone_data(x);
         Tensor loss = sum(mul(a, c));
         detail::copy_values(c, zeros({2, 3, 4}));
         loss.backward();
       },
       {"modified by an inplace operation", "backward of 'mul'", "is at version 1; expected version 0"}},
      // ---- convolutions ----
      {"conv2d stride 0",
       [&] { conv2d(W.img, W.w, Tensor(), Conv2dFuncOptions().stride(0)); },
       {"stride=[0, 0]"}},
      {"conv2d negative padding",
       [&] { conv2d(W.img, W.w, Tensor(), Conv2dFuncOptions().padding(-1)); },
       {"padding=[-1, -1]"}},
      {"conv2d dilation 0",
       [&] {
         conv2d(W.img, W.w, Tensor(), Conv2dFuncOptions().dilation({1, 0}));
       },
       {"dilation=[1, 0]"}},
      {"conv2d groups not dividing channels",
       [&] {
         conv2d(W.img, randn({4, 1, 3, 3}), Tensor(), Conv2dFuncOptions().groups(3));
       },
       {"groups=3"}},
      {"conv2d channel mismatch",
       [&] {
         conv2d(W.img, randn({4, 3, 3, 3}), Tensor());
       },
       {"2 channels", "[4, 3, 3, 3]"}},
      {"conv2d kernel larger than padded input",
       [&] {
         conv2d(W.img, randn({4, 2, 7, 7}));
       },
       {"[4, 2, 7, 7]", "extent 7"}},
      {"conv2d 2-D input",
       [&] {
         conv2d(ones({5, 5}), W.w);
       },
       {"[5, 5]", "2-D"}},
      {"conv2d bias of the wrong length", [&] { conv2d(W.img, W.w, ones({3})); }, {"bias shape [3]", "[4]"}},
      {"conv2d padding='same' with stride 2",
       [&] { conv2d(W.img, W.w, Tensor(), Conv2dFuncOptions().padding(PaddingMode::Same).stride(2)); },
       {"same", "stride=[2, 2]"}},
      {"conv_transpose2d output_padding >= stride",
       [conv_t] {
         conv_t({2, 2}, {1, 1}, {2, 2});
       },
       {"output_padding=[2, 2]", "stride=[2, 2]"}},
      {"conv_transpose2d negative output_padding",
       [conv_t] {
         conv_t({2, 2}, {0, 0}, {-1, 0});
       },
       {"output_padding=[-1, 0]"}},
      {"conv_transpose2d unreachable output_size",
       [&] {
         conv_transpose2d(randn({1, 4, 3, 3}), randn({4, 2, 3, 3}), Tensor(),
                          ConvTranspose2dFuncOptions().stride(2).output_size({20, 7}));
       },
       {"output_size=[20, 7]", "7..8"}},
      {"conv_transpose2d padding removes everything",
       [conv_t] {
         conv_t({1, 1}, {3, 3}, {0, 0});
       },
       {"padding <= 2"}},
      {"conv_transpose2d channel mismatch",
       [&] { conv_transpose2d(W.img, W.w); },
       {"2 channels", "[4, 2, 3, 3]"}},
      // ---- nn ops ----
      {"max_pool2d kernel 0",
       [&] {
         max_pool2d(W.img, {0, 2});
       },
       {"[0, 2]"}},
      {"dropout p = 1", [&] { dropout(x, 1.f, true); }, {"got 1"}},
      {"batch_norm training on one value per channel",
       [] {
         batch_norm(ones({1, 3}), Tensor(), Tensor(), Tensor(), Tensor(), true);
       },
       {"[1, 3]"}},
      {"batch_norm with a NaN momentum",
       [&] {
         Tensor rm = zeros({2}), rv = ones({2});
         batch_norm(W.img, rm, rv, Tensor(), Tensor(), true, std::nanf(""));
       },
       {"momentum", "nan"}},
      {"batch_norm with momentum 1.5",
       [&] { batch_norm(W.img, zeros({2}), ones({2}), Tensor(), Tensor(), true, 1.5f); },
       {"momentum", "[0, 1]", "1.5"}},
      {"batch_norm running_mean of the wrong length",
       [&] { batch_norm(W.img, zeros({3}), ones({3}), Tensor(), Tensor(), false); },
       {"running_mean", "[3]"}},
      {"upsample to size 0",
       [&] {
         upsample_bilinear2d(W.img, {0, 4});
       },
       {"[0, 4]"}},
      {"reflect pad as wide as the input",
       [&] {
         pad(W.img, {5, 0, 0, 0}, PadMode::Reflect);
       },
       {"reflect", "[5, 0]", "[1, 2, 5, 5]"}},
      {"circular pad of an unbatched input",
       [&] {
         pad(zeros({2, 5, 5}), {1, 1, 1, 1}, PadMode::Circular);
       },
       {"circular", "[2, 5, 5]"}},
      {"avg_pool2d divisor_override 0",
       [&] { avg_pool2d(W.img, AvgPool2dOptions(2).divisor_override(0)); },
       {"divisor_override must not be zero"}},
      {"max_pool2d kernel beyond the input",
       [&] { max_pool2d(W.img, MaxPool2dOptions(7).stride(1)); },
       {"[7, 7]", "[1, 2, 5, 5]"}},
  };
}

}  // namespace

TEST_CASE(
    "bad-input catalog (tensors, shapes, autograd, convolutions, nn ops): every invalid use throws convgrad::Error naming the value; nothing is damaged") {
  World W;
  std::vector<Case> cases = catalog(W);
  CHECK(cases.size() >= 60);
  MESSAGE(cases.size() << " invalid uses in this part of the catalog");
  check_cases(cases, &W);
  check_still_trains(W);
}
