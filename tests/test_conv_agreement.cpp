// Backend agreement: every built backend's three kernels against a naive oracle (and so against each
// other) on >= 100 configurations, outputs pre-filled with NaN so an unwritten element fails.
#include <doctest/doctest.h>
#include <fmt/format.h>

#include <cmath>

#include "core/backend.h"
#include "core/factory.h"
#include "core/random.h"
#include "test_conv_util.h"

using namespace convgrad;
using convgrad::testing::check_close;
using convgrad::testing::Oracle;

namespace {

// One op call in user terms. conv: x (N, C, H, W), w (O, C/g, kh, kw). convT: x (N, C, H, W),
// w (C, O/g, kh, kw), output O channels.
struct Case {
  std::string name;
  bool transposed;
  int64_t N, C, H, W, O, kh, kw, sh, sw, ph, pw, dh, dw, g;
  int64_t oph = 0, opw = 0;
  bool same = false, bias = false;
};

ConvShapes shapes_of(const Case& c) {
  if (!c.transposed) {
    auto args = Conv2dFuncOptions().stride({c.sh, c.sw}).dilation({c.dh, c.dw}).groups(c.g);
    if (c.same)
      args.padding(PaddingMode::Same);
    else
      args.padding(Pair{c.ph, c.pw});
    return conv2d_geometry({c.N, c.C, c.H, c.W}, {c.O, c.C / c.g, c.kh, c.kw}, {c.O}, c.bias, args);
  }
  auto args = ConvTranspose2dFuncOptions()
                  .stride({c.sh, c.sw})
                  .padding({c.ph, c.pw})
                  .output_padding({c.oph, c.opw})
                  .dilation({c.dh, c.dw})
                  .groups(c.g);
  return conv_transpose2d_geometry({c.N, c.C, c.H, c.W}, {c.C, c.O / c.g, c.kh, c.kw}, {c.O}, c.bias, args);
}

// The configurations the issue lists by name.
std::vector<Case> named_cases() {
  return {
      {"k64 s32 p16 conv (FCN head)", false, 1, 2, 64, 96, 3, 64, 64, 32, 32, 16, 16, 1, 1, 1},
      {"k64 s32 p16 convT (FCN head)",
       true,
       2,
       3,
       2,
       3,
       2,
       64,
       64,
       32,
       32,
       16,
       16,
       1,
       1,
       1,
       0,
       0,
       false,
       true},
      {"convT output_padding > padding", true, 2, 2, 4, 5, 3, 3, 3, 3, 3, 1, 1, 1, 1, 1, 2, 2, false, true},
      {"convT output_padding < padding", true, 1, 2, 4, 3, 2, 5, 5, 3, 3, 2, 2, 1, 1, 1, 1, 1},
      {"convT output_padding >= stride, dilation > stride", true, 2, 3, 5, 4, 3, 3, 3, 1, 1, 1, 1, 3, 3, 1, 2,
       2},
      {"convT output_padding 2, stride 2, dilation 3, padding 0",
       true,
       1,
       2,
       3,
       4,
       2,
       2,
       3,
       2,
       2,
       0,
       0,
       3,
       3,
       1,
       2,
       2,
       false,
       true},
      {"convT op 0/2 mixed, stride 1x2, dilation 3x1", true, 1, 2, 3, 4, 4, 3, 3, 1, 2, 1, 0, 3, 1, 2, 2, 1},
      {"same, even kernel, dilation 2 (asymmetric)",
       false,
       2,
       3,
       7,
       9,
       4,
       4,
       4,
       1,
       1,
       0,
       0,
       2,
       2,
       1,
       0,
       0,
       true,
       true},
      {"same, kernel 3x2", false, 1, 2, 5, 6, 3, 3, 2, 1, 1, 0, 0, 1, 1, 1, 0, 0, true},
      {"k7 padding 5 (above half the kernel), stride 2",
       false,
       2,
       3,
       9,
       11,
       4,
       7,
       7,
       2,
       2,
       5,
       5,
       1,
       1,
       1,
       0,
       0,
       false,
       true},
      {"convT k7 padding 5", true, 1, 3, 6, 5, 2, 7, 7, 2, 2, 5, 5, 1, 1, 1},
      {"depthwise conv", false, 2, 5, 8, 7, 5, 3, 3, 2, 2, 1, 1, 1, 1, 5, 0, 0, false, true},
      {"depthwise convT", true, 2, 5, 4, 3, 5, 4, 4, 2, 2, 1, 1, 1, 1, 5, 1, 1, false, true},
      {"depthwise multiplier 2", false, 1, 3, 6, 6, 6, 3, 3, 1, 1, 1, 1, 2, 2, 3},
      {"N = 0 conv", false, 0, 3, 6, 5, 4, 3, 3, 1, 1, 1, 1, 1, 1, 1, 0, 0, false, true},
      {"N = 0 convT", true, 0, 3, 6, 5, 4, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1, false, true},
      {"kernel 3x15, dilation 2", false, 1, 2, 7, 40, 3, 3, 15, 1, 2, 1, 3, 2, 2, 1},
      {"convT kernel 3x15, dilation 2", true, 2, 2, 3, 4, 3, 3, 15, 2, 3, 1, 3, 2, 2, 1, 1, 2, false, true},
      {"1x1 stride 3, H != W", false, 2, 4, 10, 7, 3, 1, 1, 3, 3, 0, 0, 1, 1, 1},
      {"1x1 convT stride 3 op 2", true, 1, 4, 3, 2, 6, 1, 1, 3, 3, 0, 0, 1, 1, 2, 2, 2, false, true},
      {"tutorial conv (k5 s3 p2)", false, 1, 10, 16, 16, 20, 5, 5, 3, 3, 2, 2, 1, 1, 1, 0, 0, false, true},
      {"tutorial convT (k5 s3 p2)", true, 1, 20, 6, 6, 10, 5, 5, 3, 3, 2, 2, 1, 1, 1, 0, 0, false, true},
      // Wide enough for oneDNN's blocked layouts (16-channel blocks): reorders, and cached copies.
      {"32 -> 48 channels k3 p1 (blocked layouts)",
       false,
       2,
       32,
       9,
       7,
       48,
       3,
       3,
       1,
       1,
       1,
       1,
       1,
       1,
       1,
       0,
       0,
       false,
       true},
      {"convT 48 -> 32 channels k4 s2 p1 (blocked layouts)",
       true,
       2,
       48,
       5,
       4,
       32,
       4,
       4,
       2,
       2,
       1,
       1,
       1,
       1,
       1,
       0,
       0,
       false,
       true},
      {"grouped 32 -> 32 channels g2 s2 (blocked layouts)", false, 1, 32, 8, 8, 32, 3, 3, 2, 2, 1, 1, 1, 1,
       2},
  };
}

// Rotates through every listed value of each parameter (kernels 1, 3x2, 4, 7, 3x15, 2x5; stride and
// dilation 1-3 per dimension; groups 1/2/3 with odd channels per group, depthwise; N 0-2; bias on/off;
// conv and convT with output_padding up to max(stride, dilation) - 1).
std::vector<Case> generated_cases() {
  const int64_t kernels[][2] = {{1, 1}, {3, 2}, {4, 4}, {7, 7}, {3, 15}, {2, 5}};
  const int64_t channels[][3] = {{1, 3, 5}, {2, 6, 10}, {3, 9, 3}, {4, 4, 4}, {3, 3, 6}};  // g, C, O
  std::vector<Case> out;
  for (int64_t i = 0; i < 96; ++i) {
    Case c;
    c.transposed = (i / 2) % 2 == 1;
    c.kh = kernels[i % 6][0], c.kw = kernels[i % 6][1];
    c.sh = 1 + (i / 6) % 3, c.sw = 1 + (i / 2) % 3;
    c.dh = 1 + (i / 3) % 3, c.dw = 1 + (i / 18) % 3;
    c.g = channels[i % 5][0], c.C = channels[i % 5][1], c.O = channels[i % 5][2];
    c.N = i % 3;
    c.bias = (i / 4) % 2 == 0;
    // Padding up to beyond half the kernel ("padding above half" when i % 4 == 3).
    c.ph = i % 4 == 3 ? c.kh : (i / 5) % 3;
    c.pw = i % 4 == 3 ? c.kw : (i / 7) % 3;
    if (!c.transposed) {
      c.H = std::max<int64_t>(4, c.dh * (c.kh - 1) + 1 - 2 * c.ph) + i % 4;
      c.W = std::max<int64_t>(5, c.dw * (c.kw - 1) + 1 - 2 * c.pw) + i % 3;
    } else {
      c.H = 2 + i % 3, c.W = 3 + i % 4;
      c.oph = (i / 7) % std::max(c.sh, c.dh);
      c.opw = (i / 11) % std::max(c.sw, c.dw);
      // Keep the output non-empty: padding may not remove more than the full output.
      if (conv_transpose_out_size(c.H, c.kh, c.sh, c.dh, c.ph, c.oph) < 1) c.ph = 0;
      if (conv_transpose_out_size(c.W, c.kw, c.sw, c.dw, c.pw, c.opw) < 1) c.pw = 0;
    }
    c.name = fmt::format("generated #{}", i);
    out.push_back(c);
  }
  return out;
}

Tensor nan_like(const Shape& s) { return full(s, NAN); }

// One case on one backend. With `with_caches` the three kernels share operand caches the way one autograd
// node does (core/backend.h, ConvCaches): backward-weights reads the src the forward converted and the
// dst backward-data converted.
void run_case(const Case& c, Backend& backend, uint64_t seed, bool with_caches = false) {
  const ConvShapes s = shapes_of(c);
  const ConvParams& p = s.params;
  Generator gen(seed);
  Tensor x = uniform(s.src, -1.f, 1.f, gen), w = uniform(s.wei, -1.f, 1.f, gen),
         dy = uniform(s.dst, -1.f, 1.f, gen);
  Tensor b = c.bias ? uniform({s.dst[1]}, -1.f, 1.f, gen) : Tensor();
  Tensor b_src = c.bias ? uniform({s.src[1]}, -1.f, 1.f, gen) : Tensor();
  Oracle ref(s, x.to_vector(), w.to_vector(), dy.to_vector());
  std::string where = fmt::format("{} on {}{}: src {}, wei {}, dst {}, {}", c.name, backend.name(),
                                  with_caches ? " with operand caches" : "", shape_str(s.src),
                                  shape_str(s.wei), shape_str(s.dst), params_str(p));
  ConvOperandCache src_cache, wei_cache, dst_cache;
  ConvOperandCache* sc = with_caches ? &src_cache : nullptr;
  ConvOperandCache* wc = with_caches ? &wei_cache : nullptr;
  ConvOperandCache* dc = with_caches ? &dst_cache : nullptr;
  INFO(where);

  Tensor y = nan_like(s.dst);
  backend.conv_forward(x, w, b, y, p, {sc, wc, nullptr});
  std::vector<double> want_y = ref.y;
  if (c.bias) {
    const int64_t O = s.dst[1], HW = s.dst[2] * s.dst[3];
    for (size_t i = 0; i < want_y.size(); ++i) want_y[i] += b.to_vector()[(i / HW) % O];
  }
  check_close(y, want_y, "forward");

  Tensor dx = nan_like(s.src);
  backend.conv_backward_data(dy, w, b_src, dx, p, {nullptr, wc, dc});
  std::vector<double> want_dx = ref.dx;
  if (c.bias) {
    const int64_t C = s.src[1], HW = s.src[2] * s.src[3];
    std::vector<float> bv = b_src.to_vector();
    for (size_t i = 0; i < want_dx.size(); ++i) want_dx[i] += bv[(i / HW) % C];
  }
  check_close(dx, want_dx, "backward data");

  Tensor dw = nan_like(s.wei), db = c.bias ? nan_like({s.dst[1]}) : Tensor();
  backend.conv_backward_weights(x, dy, dw, db, p, {sc, nullptr, dc});
  check_close(dw, ref.dw, "backward weights");
  if (c.bias) {
    const int64_t N = s.dst[0], O = s.dst[1], HW = s.dst[2] * s.dst[3];
    std::vector<double> want_db(O, 0.0);
    std::vector<float> g = dy.to_vector();
    for (int64_t n = 0; n < N; ++n)
      for (int64_t o = 0; o < O; ++o)
        for (int64_t i = 0; i < HW; ++i) want_db[o] += g[(n * O + o) * HW + i];
    check_close(db, want_db, "backward bias");
  }
}

}  // namespace

TEST_CASE("every backend matches the oracle on >= 100 configurations") {
  std::vector<Case> all = named_cases();
  for (const Case& c : generated_cases()) all.push_back(c);
  REQUIRE(all.size() >= 100);
  for (const std::string& name : available_backends()) {
    Backend& backend = get_backend(name);
    for (size_t i = 0; i < all.size(); ++i) run_case(all[i], backend, 1000 + i);
  }
}

TEST_CASE("every backend matches the oracle with operand caches shared across the three kernels") {
  std::vector<Case> all = named_cases();
  for (const Case& c : generated_cases()) all.push_back(c);
  for (const std::string& name : available_backends()) {
    Backend& backend = get_backend(name);
    for (size_t i = 0; i < all.size(); ++i) run_case(all[i], backend, 1000 + i, true);
  }
}

TEST_CASE("the generated table covers what the issue lists") {
  bool depthwise = false, op_ge_stride = false, op_gt_pad = false, neg_pad_end = false, n0 = false;
  for (const Case& c : generated_cases()) {
    depthwise |= c.g == c.C && c.C == c.O;
    op_ge_stride |= c.transposed && c.oph >= c.sh && c.dh > c.sh;
    op_gt_pad |= c.transposed && c.oph > c.ph;
    neg_pad_end |= c.transposed && c.ph - c.oph < 0;
    n0 |= c.N == 0;
  }
  CHECK(depthwise);
  CHECK(op_ge_stride);
  CHECK(op_gt_pad);
  CHECK(neg_pad_end);
  CHECK(n0);
}
