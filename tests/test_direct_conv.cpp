// The direct convolution forward, weight gradient and input gradient (core/backends/onednn/direct_conv.h)
// against the reference kernel on every shape family it covers (strides dividing the kernel or not, unequal
// strides and kernels, paddings above a stride, output_padding, kernel rows not a multiple of 8 and below 8,
// windows wholly outside src, channels 1..8, odd sizes, batch 1), at one and two threads, with NaN-filled
// outputs so that an element left unwritten fails; and what it declines.
#include <doctest/doctest.h>

#ifdef CONVGRAD_WITH_ONEDNN

#include <limits>
#include <string>

#include "core/backends/onednn/direct_conv.h"
#include "core/backends/onednn/phase_conv.h"
#include "core/backends/reference/conv.h"
#include "core/factory.h"
#include "core/random.h"
#include "core/threading.h"
#include "test_conv_util.h"

using namespace convgrad;
using convgrad::testing::as_double;
using convgrad::testing::check_close;

namespace {

// One convolution in the conv view: x (N, C, H, W), w (O, C, kh, kw), stride, pad_begin, pad_end.
struct Case {
  const char* name;
  int64_t N, C, H, W, O, kh, kw, sh, sw, ph, pw, eh, ew;
};

const Case kCases[] = {
    {"tinyfcn head input gradient k16 s8 p4", 32, 4, 64, 64, 4, 16, 16, 8, 8, 4, 4, 4, 4},
    {"k16 s8 p4, batch 1, 1 channel", 1, 1, 64, 64, 1, 16, 16, 8, 8, 4, 4, 4, 4},
    {"k16 s8, 3 -> 5 channels, odd size", 2, 3, 37, 45, 5, 16, 16, 8, 8, 4, 4, 3, 7},
    {"k8 s4 p2, 8 -> 8 channels", 2, 8, 20, 28, 8, 8, 8, 4, 4, 2, 2, 2, 2},
    {"k8 s8 p0 (kernel = stride)", 2, 2, 24, 32, 3, 8, 8, 8, 8, 0, 0, 0, 0},
    {"k24 s8 p8 (kernel = 3 x stride)", 1, 2, 40, 40, 2, 24, 24, 8, 8, 8, 8, 8, 8},
    {"k12 s5 p3: stride does not divide the kernel, tail of 4 lanes", 2, 3, 31, 29, 2, 12, 12, 5, 5, 3, 3, 3,
     3},
    {"k10x13 s3x4 p2x5 unequal", 2, 2, 19, 33, 3, 10, 13, 3, 4, 2, 5, 1, 2},
    {"k9 s1 p4 (stride 1)", 1, 2, 12, 17, 6, 9, 9, 1, 1, 4, 4, 4, 4},
    {"k3 s2 p1 (row shorter than a vector)", 2, 3, 9, 11, 7, 3, 3, 2, 2, 1, 1, 1, 1},
    {"k16 s8 p4, pad_end -4 (output_padding)", 2, 2, 60, 60, 2, 16, 16, 8, 8, 4, 4, -4, -4},
    {"k16 s8 p12: padding above a stride, windows wholly outside src", 1, 2, 16, 16, 3, 16, 16, 8, 8, 12, 12,
     20, 20},
    {"k32 s16 p8, kernel wider than src", 2, 2, 20, 36, 2, 32, 32, 16, 16, 8, 8, 8, 8},
    {"k64 s32 p16", 1, 2, 70, 96, 2, 64, 64, 32, 32, 16, 16, 16, 16},
    {"k16 s8 p4, 1x1 output", 1, 4, 8, 8, 4, 16, 16, 8, 8, 4, 4, 4, 4},
    {"k8x16 s4x8 p2x4 unequal, 7 channels", 2, 7, 20, 36, 3, 8, 16, 4, 8, 2, 4, 2, 4},
    {"k6x32 s2x16 p1x3 odd pads", 1, 2, 11, 50, 2, 6, 32, 2, 16, 1, 3, 1, 5},
};

ConvShapes view_of(const Case& c) {
  ConvShapes s;
  s.params.stride = {c.sh, c.sw};
  s.params.pad_begin = {c.ph, c.pw};
  s.params.pad_end = {c.eh, c.ew};
  const int64_t OH = conv_out_size(c.H, c.kh, c.sh, 1, c.ph, c.eh),
                OW = conv_out_size(c.W, c.kw, c.sw, 1, c.pw, c.ew);
  s.src = {c.N, c.C, c.H, c.W};
  s.wei = {c.O, c.C, c.kh, c.kw};
  s.dst = {c.N, c.O, OH, OW};
  return s;
}

int data_checks = 0;  // configurations where the direct input gradient ran

void check_case(const Case& c, int threads) {
  const ConvShapes s = view_of(c);
  INFO(std::string(c.name) << " (" << threads << " threads): src " << shape_str(s.src) << ", weights "
                           << shape_str(s.wei) << ", dst " << shape_str(s.dst) << ", "
                           << params_str(s.params));
  REQUIRE(onednn::direct_conv_supported(s));
  Generator gen(29);
  Tensor x = uniform(s.src, -1.f, 1.f, gen), w = uniform(s.wei, -1.f, 1.f, gen),
         b = uniform({s.dst[1]}, -1.f, 1.f, gen);
  Tensor dy = uniform(s.dst, -1.f, 1.f, gen);
  const int saved = get_num_threads();
  set_num_threads(threads);
  for (bool with_bias : {true, false}) {
    const Tensor bias = with_bias ? b : Tensor();
    Tensor y = full(s.dst, std::numeric_limits<float>::quiet_NaN()), y_ref = empty(s.dst);
    onednn::direct_conv_forward(x, w, bias, y, s.params);
    reference::conv_forward(x, w, bias, y_ref, s.params);
    check_close(y, as_double(y_ref), with_bias ? "forward with bias" : "forward");
    Tensor dw = full(s.wei, std::numeric_limits<float>::quiet_NaN()), dw_ref = empty(s.wei);
    Tensor db = with_bias ? full({s.dst[1]}, std::numeric_limits<float>::quiet_NaN()) : Tensor();
    Tensor db_ref = with_bias ? empty({s.dst[1]}) : Tensor();
    onednn::direct_conv_backward_weights(x, dy, dw, db, s.params);
    reference::conv_backward_weights(x, dy, dw_ref, db_ref, s.params);
    check_close(dw, as_double(dw_ref), "weight gradient");
    if (with_bias) check_close(db, as_double(db_ref), "bias gradient");
    // The input gradient: only where the width stride is a multiple of 8 and the strides divide the kernel.
    if (!onednn::direct_conv_data_supported(s)) continue;
    const Tensor bias_c = with_bias ? uniform({s.src[1]}, -1.f, 1.f, gen) : Tensor();
    Tensor dx = full(s.src, std::numeric_limits<float>::quiet_NaN()), dx_ref = empty(s.src);
    onednn::direct_conv_backward_data(dy, w, bias_c, dx, s.params);
    reference::conv_backward_data(dy, w, bias_c, dx_ref, s.params);
    check_close(dx, as_double(dx_ref), with_bias ? "input gradient with bias" : "input gradient");
    ++data_checks;
  }
  set_num_threads(saved);
}

}  // namespace

TEST_CASE("direct convolution matches the reference on every shape family, 1 and 2 threads") {
  for (const Case& c : kCases)
    for (int threads : {1, 2}) check_case(c, threads);
  CHECK(data_checks >= 40);  // the input gradient ran on the width-stride-8/16/32 families
}

TEST_CASE("direct convolution: src values next to a window never leak into it") {
  // Infinities in the src columns right of every window of a k12 row (tail of 4 masked lanes) and left
  // of the first one: the reference never reads them, so neither may the masked loads.
  const Case c{"k12 s16 p0", 1, 1, 4, 64, 2, 4, 12, 4, 16, 0, 0, 0, 0};
  const ConvShapes s = view_of(c);
  Generator gen(5);
  Tensor x = uniform(s.src, -1.f, 1.f, gen), w = uniform(s.wei, -1.f, 1.f, gen);
  float* xp = x.data<float>();
  for (int64_t h = 0; h < c.H; ++h)
    for (int64_t ow = 0; ow < s.dst[3]; ++ow)
      for (int64_t k = 12; k < 16; ++k) xp[h * c.W + ow * 16 + k] = std::numeric_limits<float>::infinity();
  Tensor y = full(s.dst, std::numeric_limits<float>::quiet_NaN()), y_ref = empty(s.dst);
  onednn::direct_conv_forward(x, w, Tensor(), y, s.params);
  reference::conv_forward(x, w, Tensor(), y_ref, s.params);
  check_close(y, as_double(y_ref), "forward");
  // The weight gradient reads the same src vectors; lanes past kw are dropped.
  Tensor dy = uniform(s.dst, -1.f, 1.f, gen);
  Tensor dw = full(s.wei, std::numeric_limits<float>::quiet_NaN()), dw_ref = empty(s.wei);
  onednn::direct_conv_backward_weights(x, dy, dw, Tensor(), s.params);
  reference::conv_backward_weights(x, dy, dw_ref, Tensor(), s.params);
  check_close(dw, as_double(dw_ref), "weight gradient");
}

TEST_CASE("direct convolution declines what it does not compute, and is preferred only for few channels") {
  auto view = [](int64_t O, int64_t k, int64_t groups, int64_t dil) {
    ConvShapes s;
    s.params.stride = {8, 8}, s.params.pad_begin = {4, 4}, s.params.pad_end = {4, 4};
    s.params.groups = groups, s.params.dilation = {dil, dil};
    s.src = {2, 4, 64, 64};
    s.wei = {O, 4 / groups, k, k};
    s.dst = {2, O, conv_out_size(64, k, 8, dil, 4, 4), conv_out_size(64, k, 8, dil, 4, 4)};
    return s;
  };
  CHECK(onednn::direct_conv_supported(view(4, 16, 1, 1)));
  CHECK(onednn::direct_conv_preferred(view(4, 16, 1, 1)));        // the TinyFCN head
  CHECK_FALSE(onednn::direct_conv_supported(view(4, 16, 2, 1)));  // groups
  CHECK_FALSE(onednn::direct_conv_supported(view(4, 16, 1, 2)));  // dilation
  CHECK(onednn::direct_conv_supported(view(16, 16, 1, 1)));
  CHECK_FALSE(onednn::direct_conv_preferred(view(16, 16, 1, 1)));  // many output channels: oneDNN / GEMM
  CHECK(onednn::direct_conv_supported(view(4, 3, 1, 1)));
  CHECK_FALSE(onednn::direct_conv_preferred(view(4, 3, 1, 1)));  // a kernel row shorter than a vector
  CHECK(onednn::direct_conv_data_supported(view(4, 16, 1, 1)));
  CHECK(onednn::direct_conv_data_preferred(view(4, 16, 1, 1)));
  CHECK_FALSE(onednn::direct_conv_data_preferred(view(16, 16, 1, 1)));  // many dy channels: the phase GEMM
  CHECK_FALSE(onednn::direct_conv_data_supported(view(4, 12, 1, 1)));   // stride 8 does not divide 12
  CHECK_FALSE(onednn::direct_conv_data_supported(view(4, 16, 2, 1)));   // groups
  ConvShapes s4 = view(4, 16, 1, 1);
  s4.params.stride = {4, 4};
  s4.dst[2] = s4.dst[3] = conv_out_size(64, 16, 4, 1, 4, 4);
  CHECK_FALSE(onednn::direct_conv_data_supported(s4));  // width stride 4: runs shorter than a vector
  ConvShapes zero = view(4, 16, 1, 1);
  zero.src[0] = zero.dst[0] = 0;
  CHECK_FALSE(onednn::direct_conv_supported(zero));
  CHECK_FALSE(onednn::direct_conv_data_supported(zero));
}

#else
TEST_CASE("direct convolution: built without oneDNN, nothing to test") {}
#endif
