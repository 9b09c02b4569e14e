// Memory formats (core/memory_format.h): the strides of each format, PyTorch 1.13's reading of strides
// (is_contiguous / suggest_memory_format, including its ambiguous cases), and copies between formats
// that keep every logical value and pass gradients through.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "autograd/ops.h"
#include "core/factory.h"
#include "core/layout_stats.h"
#include "core/random.h"
#include "test_util.h"

using namespace convgrad;

TEST_CASE("channels_last strides order C, W, H, N from the innermost out") {
  CHECK(strides_for({2, 3, 4, 5}, MemoryFormat::ChannelsLast) == Shape{60, 1, 15, 3});
  CHECK(strides_for({2, 3, 4, 5}, MemoryFormat::Contiguous) == Shape{60, 20, 5, 1});
  Tensor t = zeros({2, 3, 4, 5}, MemoryFormat::ChannelsLast);
  CHECK(t.strides() == Shape{60, 1, 15, 3});
  CHECK(t.is_contiguous(MemoryFormat::ChannelsLast));
  CHECK_FALSE(t.is_contiguous());
  CHECK(t.suggest_memory_format() == MemoryFormat::ChannelsLast);
  CHECK_THROWS_WITH_AS(strides_for({2, 3, 4}, MemoryFormat::ChannelsLast),
                       doctest::Contains("expected a 4-D (N, C, H, W) shape, got [2, 3, 4]"), Error);
  CHECK_THROWS_AS(zeros({3, 4}, MemoryFormat::ChannelsLast), Error);
}

TEST_CASE("is_contiguous and suggest_memory_format read strides as PyTorch 1.13 does") {
  // Each row: sizes, strides, is_contiguous(), is_contiguous(channels_last), suggest_memory_format,
  // as torch.empty_strided(sizes, strides) reports them.
  struct Row {
    Shape shape, strides;
    bool nchw, nhwc;
    MemoryFormat suggested;
  };
  const std::vector<Row> rows = {
      {{2, 3, 4, 5}, {60, 20, 5, 1}, true, false, MemoryFormat::Contiguous},
      {{2, 3, 4, 5}, {60, 1, 15, 3}, false, true, MemoryFormat::ChannelsLast},
      // C == 1: both formats are dense; the strides of a channels_last tensor still read as such.
      {{2, 1, 4, 5}, {20, 20, 5, 1}, true, true, MemoryFormat::Contiguous},
      {{2, 1, 4, 5}, {20, 1, 5, 1}, true, true, MemoryFormat::ChannelsLast},
      // N x 1 x 1 x 1: ambiguous, read as contiguous.
      {{3, 1, 1, 1}, {1, 1, 1, 1}, true, true, MemoryFormat::Contiguous},
      // H == W == 1 in channels_last: dense both ways, suggested channels_last.
      {{2, 3, 1, 1}, {3, 1, 3, 3}, true, true, MemoryFormat::ChannelsLast},
      // A transposed (N, W, H, C) view is neither.
      {{2, 3, 4, 5}, {60, 1, 3, 12}, false, false, MemoryFormat::Contiguous},
  };
  for (const Row& r : rows) {
    CAPTURE(shape_str(r.shape));
    CAPTURE(shape_str(r.strides));
    Tensor t = as_strided(zeros({120}), r.shape, r.strides, 0);
    CHECK(t.is_contiguous() == r.nchw);
    CHECK(t.is_contiguous(MemoryFormat::ChannelsLast) == r.nhwc);
    CHECK(t.suggest_memory_format() == r.suggested);
  }
}

TEST_CASE("contiguous(x, format) keeps every value, and the gradient passes through") {
  Generator gen(3);
  Tensor x = randn({2, 3, 4, 5}, gen).set_requires_grad();
  Tensor y = contiguous(x, MemoryFormat::ChannelsLast);
  CHECK(y.is_contiguous(MemoryFormat::ChannelsLast));
  CHECK(y.to_vector() == x.to_vector());
  // Element (n, c, h, w) sits at n*60 + h*15 + w*3 + c in the new storage.
  const float* p = y.data<float>();
  CHECK(p[1 * 60 + 2 * 15 + 3 * 3 + 1] == x.at({1, 1, 2, 3}));
  CHECK(contiguous(y, MemoryFormat::ChannelsLast).is_same(y));
  Tensor back = contiguous(y, MemoryFormat::Contiguous);
  CHECK(back.is_contiguous());
  CHECK(back.to_vector() == x.to_vector());
  Tensor w = randn({2, 3, 4, 5}, gen);
  sum(mul(back, w)).backward();
  CHECK(x.grad().to_vector() == w.to_vector());
  CHECK(parse_memory_format("channels_last") == MemoryFormat::ChannelsLast);
  CHECK(parse_memory_format("nchw") == MemoryFormat::Contiguous);
  CHECK_THROWS_WITH_AS(parse_memory_format("nwhc"), doctest::Contains("channels_last"), Error);
}

TEST_CASE("a copy into another memory format counts as a format copy; a no-op does not") {
  Generator gen(5);
  Tensor x = randn({2, 3, 4, 5}, gen);
  reset_layout_stats();
  Tensor y = contiguous(x, MemoryFormat::ChannelsLast);
  CHECK(layout_stats().format_copies == 1);
  Tensor z = contiguous(y, MemoryFormat::ChannelsLast);
  CHECK(z.is_same(y));
  CHECK(layout_stats().format_copies == 1);
  contiguous(y, MemoryFormat::Contiguous);
  CHECK(layout_stats().format_copies == 2);
  reset_layout_stats();
  CHECK(layout_stats().format_copies == 0);
}

TEST_CASE("an op's hidden contiguous copy of a channels_last tensor counts too") {
  Generator gen(6);
  Tensor y = contiguous(randn({2, 3, 4, 5}, gen), MemoryFormat::ChannelsLast);
  reset_layout_stats();
  Tensor c = contiguous(y);
  CHECK(c.is_contiguous());
  CHECK(layout_stats().format_copies == 1);
  clone_data(randn({2, 3, 4, 5}, gen));  // already contiguous: a copy, but no format change
  CHECK(layout_stats().format_copies == 1);
}
