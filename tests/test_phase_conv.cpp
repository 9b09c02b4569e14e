// The phase convolution (core/backends/onednn/phase_conv.h): its three kernels against the reference
// kernels on every family of "stride divides kernel" shapes, at one and two threads, every output
// element written; what it declines; and that the oneDNN backend routes to it instead of oneDNN's GEMM.
#include <doctest/doctest.h>

#ifdef CONVGRAD_WITH_ONEDNN

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "autograd/ops_conv.h"
#include "core/backend.h"
#include "core/backends/onednn/conv_algo.h"
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

// One test shape, as the user writes it: a transposed conv (weight Ci x Co x kh x kw) or a conv.
struct Case {
  const char* name;
  bool transposed;
  int64_t N, Ci, H, W, Co, kh, kw, sh, sw, ph, pw, oph = 0, opw = 0;
};

// The shape families: kernel = 2 x stride (the FCN heads), kernel = stride (no overlap), kernel =
// 3 x stride, output_padding (pad_end below pad_begin, negative too), padding of more than a stride,
// unequal strides, stride 1 along one dimension, plain strided convolutions, batch 1, odd sizes.
const Case kCases[] = {
    {"k4s2p1", true, 2, 3, 5, 6, 4, 4, 4, 2, 2, 1, 1},
    {"k6s3p1", true, 2, 2, 4, 5, 3, 6, 6, 3, 3, 1, 1},
    {"k8s4p2", true, 1, 3, 3, 4, 2, 8, 8, 4, 4, 2, 2},
    {"k16s8p4 tinyfcn head", true, 32, 4, 8, 8, 4, 16, 16, 8, 8, 4, 4},
    {"k64s32p16 fcn head, 2 channels", true, 2, 2, 10, 15, 2, 64, 64, 32, 32, 16, 16},
    {"k2s2p0 no overlap", true, 3, 4, 5, 3, 2, 2, 2, 2, 2, 0, 0},
    {"k3s3p1", true, 2, 2, 4, 4, 3, 3, 3, 3, 3, 1, 1},
    {"k6s2p0 three taps", true, 2, 3, 4, 5, 2, 6, 6, 2, 2, 0, 0},
    {"k6s2p2", true, 1, 2, 6, 4, 3, 6, 6, 2, 2, 2, 2},
    {"k4s2p0 op1", true, 2, 2, 4, 5, 3, 4, 4, 2, 2, 0, 0, 1, 1},
    {"k6s3p1 op2 (pad_end -1)", true, 2, 2, 3, 4, 2, 6, 6, 3, 3, 1, 1, 2, 2},
    {"k4s2p3 padding over a stride", true, 2, 2, 6, 7, 2, 4, 4, 2, 2, 3, 3},
    {"k4x6 s2x3 p1x2", true, 2, 3, 5, 4, 2, 4, 6, 2, 3, 1, 2},
    {"k3x4 s1x2 p1x1", true, 2, 2, 5, 6, 3, 3, 4, 1, 2, 1, 1},
    {"k4x2 s4x1 p0x0 op1x0", true, 1, 2, 3, 5, 2, 4, 2, 4, 1, 0, 0, 1, 0},
    {"conv k4s2p1", false, 2, 3, 11, 9, 4, 4, 4, 2, 2, 1, 1},
    {"conv k2s2p0", false, 2, 4, 8, 6, 3, 2, 2, 2, 2, 0, 0},
    {"conv k6s3p2 odd", false, 1, 2, 13, 10, 3, 6, 6, 3, 3, 2, 2},
    {"conv k4x3 s2x3 p0x1", false, 3, 2, 9, 11, 2, 4, 3, 2, 3, 0, 1},
    {"conv k4s4p1 on 3x3: phases without src rows", false, 1, 1, 3, 3, 2, 4, 4, 4, 4, 1, 1},
    {"convT k8s4p3 on 1x2: grid of one row", true, 1, 2, 1, 2, 1, 8, 8, 4, 4, 3, 3},
};

ConvShapes view_of(const Case& c) {
  if (c.transposed) {
    auto a = ConvTranspose2dFuncOptions()
                 .stride({c.sh, c.sw})
                 .padding({c.ph, c.pw})
                 .output_padding({c.oph, c.opw});
    return conv_transpose2d_geometry({c.N, c.Ci, c.H, c.W}, {c.Ci, c.Co, c.kh, c.kw}, {}, false, a);
  }
  auto a = Conv2dFuncOptions().stride({c.sh, c.sw}).padding(Pair{c.ph, c.pw});
  return conv2d_geometry({c.N, c.Ci, c.H, c.W}, {c.Co, c.Ci, c.kh, c.kw}, {}, false, a);
}

Tensor nan_filled(const Shape& s) { return full(s, std::numeric_limits<float>::quiet_NaN()); }

// Runs the three phase kernels and the reference ones on random operands; every output must match.
void check_case(const Case& c, int threads) {
  const ConvShapes s = view_of(c);
  INFO(c.name << " (" << threads << " threads): src " << shape_str(s.src) << ", weights " << shape_str(s.wei)
              << ", dst " << shape_str(s.dst) << ", " << params_str(s.params));
  REQUIRE(onednn::phase_conv_supported(s));
  Generator gen(17);
  Tensor x = uniform(s.src, -1.f, 1.f, gen), w = uniform(s.wei, -1.f, 1.f, gen),
         dy = uniform(s.dst, -1.f, 1.f, gen);
  Tensor bias_o = uniform({s.dst[1]}, -1.f, 1.f, gen), bias_c = uniform({s.src[1]}, -1.f, 1.f, gen);
  const ConvParams& p = s.params;
  const int saved = get_num_threads();
  set_num_threads(threads);

  Tensor y = nan_filled(s.dst), y_ref = empty(s.dst);
  onednn::phase_conv_forward(x, w, bias_o, y, p);
  reference::conv_forward(x, w, bias_o, y_ref, p);
  check_close(y, as_double(y_ref), "forward");

  Tensor dx = nan_filled(s.src), dx_ref = empty(s.src);
  onednn::phase_conv_backward_data(dy, w, bias_c, dx, p);
  reference::conv_backward_data(dy, w, bias_c, dx_ref, p);
  check_close(dx, as_double(dx_ref), "backward data");
  onednn::phase_conv_backward_data(dy, w, Tensor(), dx, p);
  reference::conv_backward_data(dy, w, Tensor(), dx_ref, p);
  check_close(dx, as_double(dx_ref), "backward data, no bias");

  Tensor dw = nan_filled(s.wei), db = nan_filled({s.dst[1]}), dw_ref = empty(s.wei),
         db_ref = empty({s.dst[1]});
  onednn::phase_conv_backward_weights(x, dy, dw, db, p);
  reference::conv_backward_weights(x, dy, dw_ref, db_ref, p);
  check_close(dw, as_double(dw_ref), "backward weights");
  check_close(db, as_double(db_ref), "backward bias");
  set_num_threads(saved);
}

}  // namespace

TEST_CASE("phase kernels match the reference on every shape family, 1 and 2 threads") {
  for (const Case& c : kCases)
    for (int threads : {1, 2}) check_case(c, threads);
}

TEST_CASE("the phase decomposition declines what it does not compute") {
  auto view = [](int64_t k, int64_t s, int64_t groups, int64_t dil) {
    auto a = ConvTranspose2dFuncOptions().stride(s).padding(1).groups(groups).dilation(dil);
    return conv_transpose2d_geometry({1, 4, 5, 5}, {4, 4 / groups, k, k}, {}, false, a);
  };
  CHECK(onednn::phase_conv_supported(view(4, 2, 1, 1)));
  CHECK_FALSE(onednn::phase_conv_supported(view(4, 2, 2, 1)));  // groups: the oneDNN primitive runs
  CHECK_FALSE(onednn::phase_conv_supported(view(4, 2, 1, 2)));  // dilation
  CHECK_FALSE(onednn::phase_conv_supported(view(5, 2, 1, 1)));  // stride does not divide the kernel
  CHECK_FALSE(onednn::phase_conv_supported(view(4, 1, 1, 1)));  // stride 1: nothing to split

  // Which algorithm runs (choose_algo): the direct kernels for few channels and rows of 8+ taps (the
  // input gradient also needs a width stride that is a multiple of 8) where oneDNN declines, else the
  // phase GEMMs; with oneDNN's jit kernel, the direct kernels for the forward and weight gradient only.
  // (The rules as they stand without CONVGRAD_PHASE_CONV, which forces them either way.)
  if (onednn::env_switch("CONVGRAD_PHASE_CONV") != -1) return;
  using onednn::ConvAlgo;
  using onednn::ConvKind;
  const ConvShapes k4s2 = view(4, 2, 1, 1), k16s8 = view(16, 8, 1, 1);
  auto choose = [](ConvKind k, const ConvShapes& s, const char* impl, const char* refusal = "") {
    return onednn::choose_algo(k, s, [&] { return onednn::PrimitiveOffer{impl, refusal}; }).algo;
  };
  for (ConvKind k : {ConvKind::Forward, ConvKind::BackwardData, ConvKind::BackwardWeights}) {
    CHECK(choose(k, k4s2, "", "oneDNN: unimplemented") == ConvAlgo::Phase);
    CHECK(choose(k, k16s8, "", "oneDNN: unimplemented") == ConvAlgo::Direct);
    CHECK(choose(k, k4s2, "x64:gemm:jit") == ConvAlgo::Phase);
    CHECK(choose(k, k4s2, "ref:any") == ConvAlgo::Phase);
    CHECK(choose(k, k4s2, "jit:avx512_core") == ConvAlgo::Primitive);
    CHECK(choose(k, view(4, 2, 2, 1), "x64:gemm:jit") == ConvAlgo::Primitive);  // groups
  }
  CHECK(std::string(onednn::own_kernel_name(ConvAlgo::Phase)) == "phase:sgemm");
  CHECK(std::string(onednn::own_kernel_name(ConvAlgo::Direct)) == "direct:avx2");
  CHECK(choose(ConvKind::Forward, k16s8, "jit:avx512_core") == ConvAlgo::Direct);
  CHECK(choose(ConvKind::BackwardWeights, k16s8, "jit:avx512_core") == ConvAlgo::Direct);
  CHECK(choose(ConvKind::BackwardData, k16s8, "jit:avx512_core") == ConvAlgo::Primitive);
  CHECK(choose(ConvKind::BackwardData, k16s8, "x64:gemm:jit") == ConvAlgo::Direct);
  CHECK(choose(ConvKind::Forward, view(4, 2, 2, 1), "", "oneDNN: unimplemented") == ConvAlgo::Reference);
  auto a = ConvTranspose2dFuncOptions().stride(2).padding(1);
  const ConvShapes empty_batch = conv_transpose2d_geometry({0, 4, 5, 5}, {4, 4, 4, 4}, {}, false, a);
  const onednn::AlgoChoice zero = onednn::choose_algo(ConvKind::Forward, empty_batch, {});
  CHECK(zero.algo == ConvAlgo::Reference);
  CHECK(zero.reason == "zero-size tensor");
}

TEST_CASE("the oneDNN backend runs the phase kernels wherever oneDNN would fall back to its GEMM") {
  set_backend("onednn");
  std::vector<std::string> lines;
  set_verbose(true);
  set_verbose_sink([&](const std::string& l) { lines.push_back(l); });
  Generator gen(3);
  // The TinyFCN head (k16 s8 p4) with a bias, through autograd: forward, input and weight gradients.
  Tensor x = uniform({2, 4, 8, 8}, -1.f, 1.f, gen).set_requires_grad();
  Tensor w = uniform({4, 4, 16, 16}, -1.f, 1.f, gen).set_requires_grad();
  Tensor b = uniform({4}, -1.f, 1.f, gen).set_requires_grad();
  auto opts = ConvTranspose2dFuncOptions().stride(8).padding(4);
  Tensor g = uniform({2, 4, 64, 64}, -1.f, 1.f, gen);
  conv_transpose2d(x, w, b, opts).backward(g);
  set_verbose(false);
  set_verbose_sink(nullptr);
  // The rule (core/backends/onednn/conv_algo.cpp, choose_algo): a phase-capable call never runs oneDNN's GEMM
  // or reference implementation; oneDNN's direct kernels ("jit", "brg") are kept. On AVX-512 oneDNN 2.6 has a
  // direct kernel only for conv_forward here, so the transposed conv's forward and weight gradient run
  // the phase kernels; the input gradient (conv_forward, 4 output channels) runs the phase kernels'
  // direct forward (direct_conv.h), which beats oneDNN's jit kernel there.
  REQUIRE(lines.size() == 3);
  // convgrad's own kernels are logged as "phase:sgemm" or "direct:avx2" (own_kernel_name).
  auto ours = [](const std::string& impl) { return impl == "phase:sgemm" || impl == "direct:avx2"; };
  int phase_lines = 0;
  for (const auto& l : lines) {
    std::string impl = l.substr(l.rfind(": ") + 2);
    if (impl.ends_with(" (cached)")) impl.resize(impl.size() - 9);
    phase_lines += ours(impl);
    CHECK_MESSAGE((ours(impl) || (impl.find("gemm") == std::string::npos && impl.rfind("ref", 0) != 0)), l);
    if (l.find("conv_forward") != std::string::npos) CHECK_MESSAGE(ours(impl), l);
  }
  CHECK(phase_lines >= 2);  // at least the input and weight gradients (direct kernels, 4 channels)

  // The same on the reference backend.
  Tensor x2 = x.detach().set_requires_grad(), w2 = w.detach().set_requires_grad(),
         b2 = b.detach().set_requires_grad();
  set_backend("reference");
  Tensor y_ref = conv_transpose2d(x2, w2, b2, opts);
  y_ref.backward(g);
  set_backend("onednn");
  check_close(conv_transpose2d(x.detach(), w.detach(), b.detach(), opts), as_double(y_ref), "y");
  check_close(x.grad(), as_double(x2.grad()), "dx");
  check_close(w.grad(), as_double(w2.grad()), "dw");
  check_close(b.grad(), as_double(b2.grad()), "db");
  set_backend("reference");
}

#else
TEST_CASE("phase convolution: built without oneDNN, nothing to test") {}
#endif
