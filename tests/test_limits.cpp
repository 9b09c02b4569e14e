// Limits: sizes that overflow an index type or cannot be allocated give a clear convgrad::Error, and
// ordinary calls still work after them.
#include <doctest/doctest.h>

#include "bad_input_catalog.h"

using namespace convgrad;
using namespace convgrad::testing;

TEST_CASE("limits: sizes that overflow an index type or cannot be allocated give a clear error") {
  constexpr int64_t kHuge = int64_t{1} << 62;
  Tensor img = ones({1, 1, 4, 4}), w = ones({1, 1, 3, 3});
  std::vector<Case> cases{
      {"128 TiB tensor", [] { empty({int64_t{1} << 45}); }, {"140737488355328 bytes"}},
      {"element count of an expand view",
       [] {
         expand(ones({1, 1}), {int64_t{1} << 40, int64_t{1} << 40});
       },
       {"overflow"}},
      {"upsample to 2^40 x 2^40",
       [&] {
         upsample_bilinear2d(img, {int64_t{1} << 40, int64_t{1} << 40});
       },
       {"overflow"}},
      {"conv2d padding 2^62",
       [&] { conv2d(img, w, Tensor(), Conv2dFuncOptions().padding(kHuge)); },
       {"4611686018427387904"}},
      {"conv2d dilation 2^62",
       [&] { conv2d(img, w, Tensor(), Conv2dFuncOptions().dilation(kHuge)); },
       {"4611686018427387904"}},
      {"conv2d stride 2^62 (valid: one output)",
       [&] { conv2d(img, w, Tensor(), Conv2dFuncOptions().stride(kHuge).padding(kHuge)); },
       {"4611686018427387904"}},
      {"conv_transpose2d stride 2^62",
       [&] { conv_transpose2d(img, w, Tensor(), ConvTranspose2dFuncOptions().stride(kHuge)); },
       {"4611686018427387904"}},
      {"conv_transpose2d output_size 2^62",
       [&] {
         conv_transpose2d(img, w, Tensor(),
                          ConvTranspose2dFuncOptions().stride(kHuge).output_size({kHuge, kHuge}));
       },
       {"4611686018427387904"}},
      {"conv2d on a zero-size input of huge height",
       [&] {
         conv2d(zeros({0, 1, kHuge, kHuge}), w, Tensor(), Conv2dFuncOptions().padding(kHuge));
       },
       {"4611686018427387904"}},
      {"max_pool2d padding 2^62",
       [&] {
         max_pool2d(img, {3, 3}, {1, 1}, {kHuge, kHuge});
       },
       {"4611686018427387904"}},
      {"pad by 2^62",
       [&] {
         pad(img, {kHuge, kHuge});
       },
       {"4611686018427387904"}},
      {"replicate pad by 2^62",
       [&] {
         pad(img, {kHuge, kHuge}, PadMode::Replicate);
       },
       {"4611686018427387904"}},
      {"arange of 1e30 elements", [] { arange(0, 1e30); }, {"1e+30"}},
      {"arange to NaN", [] { arange(0, std::nan("")); }, {"nan"}},
      {"randint over 2^61 elements", [] { randint(0, 2, {int64_t{1} << 61}); }, {"[2305843009213693952]"}},
  };
  check_cases(cases);
  CHECK(sum(conv2d(img, w)).item() == 36.f);  // and ordinary calls still work

  // A zero-size shape whose other sizes multiply past int64 is refused like any other, whichever dim is
  // zero (found by fuzz_npy: tests/fuzz/corpus/npy/regress_*): its strides could not be represented.
  CHECK_THROWS_WITH_AS(reshape(zeros({0}), {0, int64_t{1} << 40, int64_t{1} << 40}),
                       doctest::Contains("overflows int64"), Error);
  CHECK_THROWS_WITH_AS(zeros({int64_t{1} << 40, int64_t{1} << 40, 0}), doctest::Contains("overflows int64"),
                       Error);
  Tensor z = reshape(zeros({0}), {0, int64_t{1} << 40, int64_t{1} << 20});
  CHECK(z.numel() == 0);
  CHECK(z.strides() == Shape{int64_t{1} << 60, int64_t{1} << 20, 1});
  CHECK(sum(z).item() == 0.f);
}
