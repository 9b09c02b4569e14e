// Operand caches (ConvCaches, core/backend.h) and the oneDNN backend's one-thread path for tiny calls:
// the cached path gives the same numbers as the uncached one, a cache is really read (and CONVGRAD_CHECK
// catches a stale one), each autograd node converts x and dy once, and a retained graph converts each
// pass's gradient afresh. The agreement test (test_conv_agreement.cpp) also runs all its configurations
// with shared caches.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "autograd/grad_mode.h"
#include "autograd/ops_conv.h"
#include "core/backend.h"
#include "core/factory.h"
#include "core/random.h"
#include "core/threading.h"
#include "test_conv_util.h"
#include "test_util.h"
#ifdef CONVGRAD_WITH_ONEDNN
#include "core/backends/onednn/conv.h"
#endif

using namespace convgrad;
using convgrad::testing::as_double;
using convgrad::testing::check_close;
using convgrad::testing::VerboseCapture;

namespace {

// Conv view of a 3x3 padding-1 convolution wide enough for oneDNN's blocked (16-channel) layouts.
const Shape kSrc{2, 32, 9, 7}, kWei{48, 32, 3, 3}, kDst{2, 48, 9, 7};
ConvParams pad1() {
  ConvParams p;
  p.pad_begin = {1, 1};
  p.pad_end = {1, 1};
  return p;
}

void check_equal(const Tensor& got, const Tensor& want, const char* what) {
  std::vector<float> g = got.to_vector(), w = want.to_vector();
  REQUIRE(g.size() == w.size());
  size_t bad = 0;
  for (size_t i = 0; i < g.size(); ++i) bad += !(g[i] == w[i]);
  CHECK_MESSAGE(bad == 0, what << ": " << bad << " elements differ");
}

}  // namespace

TEST_CASE("operand caches: the three kernels give the same numbers with and without caches") {
  for (const std::string& name : available_backends()) {
    INFO(name);
    set_backend(name);
    Generator gen(21);
    Tensor x = uniform(kSrc, -1.f, 1.f, gen), w = uniform(kWei, -1.f, 1.f, gen),
           dy = uniform(kDst, -1.f, 1.f, gen);
    Tensor b = uniform({kWei[0]}, -1.f, 1.f, gen);
    Tensor y0 = full(kDst, NAN), dx0 = full(kSrc, NAN), dw0 = full(kWei, NAN), db0 = full({kWei[0]}, NAN);
    conv_forward(x, w, b, y0, pad1());
    conv_backward_data(dy, w, Tensor(), dx0, pad1());
    conv_backward_weights(x, dy, dw0, db0, pad1());

    ConvOperandCache xc, wc, dyc;
    Tensor y = full(kDst, NAN), dx = full(kSrc, NAN), dw = full(kWei, NAN), db = full({kWei[0]}, NAN);
    conv_forward(x, w, b, y, pad1(), {&xc, &wc, nullptr});
    conv_backward_data(dy, w, Tensor(), dx, pad1(), {nullptr, &wc, &dyc});
    conv_backward_weights(x, dy, dw, db, pad1(), {&xc, nullptr, &dyc});
    check_equal(y, y0, "y");
    check_equal(dx, dx0, "dx");
    check_equal(dw, dw0, "dw");
    check_equal(db, db0, "db");
    if (name == "reference") CHECK(xc.size() + wc.size() + dyc.size() == 0);  // it converts nothing
  }
  set_backend("reference");
}

#ifdef CONVGRAD_WITH_ONEDNN
TEST_CASE("onednn: a cached operand is converted once and read from the cache after") {
  set_backend("onednn");
  Generator gen(22);
  Tensor x = uniform(kSrc, -1.f, 1.f, gen), w = uniform(kWei, -1.f, 1.f, gen),
         dy = uniform(kDst, -1.f, 1.f, gen);
  ConvOperandCache xc, dyc;
  const onednn::OperandCacheStats before = onednn::operand_cache_stats();
  conv_forward(x, w, Tensor(), uninitialized(kDst), pad1(), {&xc, nullptr, nullptr});
  REQUIRE(xc.size() == 1);  // oneDNN computes in a blocked layout here: x was reordered into the cache
  conv_backward_data(dy, w, Tensor(), uninitialized(kSrc), pad1(), {nullptr, nullptr, &dyc});
  REQUIRE(dyc.size() == 1);
  Tensor dw = full(kWei, NAN);
  conv_backward_weights(x, dy, dw, Tensor(), pad1(), {&xc, nullptr, &dyc});
  const onednn::OperandCacheStats after = onednn::operand_cache_stats();
  CHECK(after.copies_made - before.copies_made == 2);
  CHECK(after.copies_reused - before.copies_reused == 2);  // backward-weights reordered neither x nor dy
  CHECK(xc.size() == 1);
  CHECK(dyc.size() == 1);

  // Proof that the copies are read: change x in place (what the contract forbids) and the cached call
  // still sees the old x, while an uncached call sees the new one. (With the dual-run check off, even
  // when the suite runs under CONVGRAD_CHECK=1: it would catch exactly this, as checked below.)
  const bool check_was_on = check_backends();
  set_check_backends(false);
  for (int64_t i = 0; i < x.numel(); ++i) x.data<float>()[i] *= 2.f;
  Tensor dw_stale = full(kWei, NAN), dw_fresh = full(kWei, NAN);
  conv_backward_weights(x, dy, dw_stale, Tensor(), pad1(), {&xc, nullptr, &dyc});
  conv_backward_weights(x, dy, dw_fresh, Tensor(), pad1());
  check_equal(dw_stale, dw, "dw from the cached (old) x");
  check_close(
      dw_fresh,
      [&] {
        std::vector<double> v = as_double(dw);
        for (double& e : v) e *= 2;
        return v;
      }(),
      "dw from the new x");

  // CONVGRAD_CHECK runs the reference without caches, so a stale cache is caught.
  set_check_backends(true);
  try {
    conv_backward_weights(x, dy, uninitialized(kWei), Tensor(), pad1(), {&xc, nullptr, &dyc});
    FAIL("expected CONVGRAD_CHECK to catch the stale cache");
  } catch (const Error& e) {
    CHECK(std::string(e.what()).find("CONVGRAD_CHECK: conv_backward_weights dw differs") !=
          std::string::npos);
  }
  // clear() forgets the copies: the check passes again.
  xc.clear();
  CHECK_NOTHROW(conv_backward_weights(x, dy, uninitialized(kWei), Tensor(), pad1(), {&xc, nullptr, &dyc}));
  set_check_backends(check_was_on);
  set_backend("reference");
}

TEST_CASE("onednn: an autograd node converts x and dy once; results match the uncached kernels") {
  set_backend("onednn");
  Generator gen(23);
  Tensor x = uniform(kSrc, -1.f, 1.f, gen).set_requires_grad();
  Tensor w = uniform(kWei, -1.f, 1.f, gen).set_requires_grad();
  Tensor b = uniform({kWei[0]}, -1.f, 1.f, gen).set_requires_grad();
  Tensor g = uniform(kDst, -1.f, 1.f, gen);
  const onednn::OperandCacheStats before = onednn::operand_cache_stats();
  Tensor y = conv2d(x, w, b, Conv2dFuncOptions().padding(1));
  y.backward(g);
  const onednn::OperandCacheStats after = onednn::operand_cache_stats();
  CHECK(after.copies_reused - before.copies_reused >= 2);  // x and dy in backward-weights

  Tensor y0 = uninitialized(kDst), dx0 = uninitialized(kSrc), dw0 = uninitialized(kWei),
         db0 = uninitialized({48});
  conv_forward(x.detach(), w.detach(), b.detach(), y0, pad1());
  conv_backward_data(g, w.detach(), Tensor(), dx0, pad1());
  conv_backward_weights(x.detach(), g, dw0, db0, pad1());
  check_equal(y, y0, "y");
  check_equal(x.grad(), dx0, "dx");
  check_equal(w.grad(), dw0, "dw");
  check_equal(b.grad(), db0, "db");

  // The transposed convolution: in the conv view x is the dst (converted by the forward, read again
  // by backward-weights) and the output gradient is the src of both backward kernels.
  Tensor xt = uniform(kDst, -1.f, 1.f, gen).set_requires_grad();
  Tensor wt = uniform(kWei, -1.f, 1.f, gen).set_requires_grad();
  Tensor gt = uniform(kSrc, -1.f, 1.f, gen);
  const onednn::OperandCacheStats t0 = onednn::operand_cache_stats();
  Tensor yt = conv_transpose2d(xt, wt, Tensor(), ConvTranspose2dFuncOptions().padding(1));
  yt.backward(gt);
  CHECK(onednn::operand_cache_stats().copies_reused - t0.copies_reused >= 2);
  Tensor yt0 = uninitialized(kSrc), dxt0 = uninitialized(kDst), dwt0 = uninitialized(kWei);
  conv_backward_data(xt.detach(), wt.detach(), Tensor(), yt0, pad1());
  conv_forward(gt, wt.detach(), Tensor(), dxt0, pad1());
  conv_backward_weights(gt, xt.detach(), dwt0, Tensor(), pad1());
  check_equal(yt, yt0, "convT y");
  check_equal(xt.grad(), dxt0, "convT dx");
  check_equal(wt.grad(), dwt0, "convT dw");

  // Without a graph (inference) nothing is cached.
  const onednn::OperandCacheStats n0 = onednn::operand_cache_stats();
  {
    NoGradGuard no_grad;
    conv2d(x, w, b, Conv2dFuncOptions().padding(1));
  }
  CHECK(onednn::operand_cache_stats().copies_made == n0.copies_made);
  set_backend("reference");
}

TEST_CASE("onednn: tiny calls run on one thread and agree with the reference at 2 threads") {
  const int saved = get_num_threads();
  set_num_threads(2);
  Generator gen(24);
  // The tutorial convolution (0.36 MFLOP): below the one-thread threshold.
  Tensor x = uniform({1, 10, 16, 16}, -1.f, 1.f, gen).set_requires_grad();
  Tensor w = uniform({20, 10, 5, 5}, -1.f, 1.f, gen).set_requires_grad();
  Tensor g = uniform({1, 20, 6, 6}, -1.f, 1.f, gen);
  auto opts = Conv2dFuncOptions().stride(3).padding(2);
  set_backend("reference");
  Tensor y_ref = conv2d(x, w, Tensor(), opts);
  y_ref.backward(g);
  std::vector<double> dx_ref = as_double(x.grad()), dw_ref = as_double(w.grad());
  Tensor x2 = x.detach().set_requires_grad(), w2 = w.detach().set_requires_grad();
  set_backend("onednn");
  {
    VerboseCapture cap;
    Tensor y = conv2d(x2, w2, Tensor(), opts);
    y.backward(g);
    check_close(y, as_double(y_ref), "y");
    REQUIRE(cap.lines.size() == 3);
    for (const auto& l : cap.lines) CHECK_MESSAGE(l.find("[1 thread]") != std::string::npos, l);
  }
  check_close(x2.grad(), dx_ref, "dx");
  check_close(w2.grad(), dw_ref, "dw");
  CHECK(get_num_threads() == 2);  // the one-thread scope restored the caller's count
  {
    // 2 x 32 x 28 x 28 * 32 * 9 MACs (29 MFLOP): split across the threads as usual.
    VerboseCapture cap;
    conv2d(ones({2, 32, 28, 28}), ones({32, 32, 3, 3}), Tensor(), Conv2dFuncOptions().padding(1));
    REQUIRE(cap.lines.size() == 1);
    CHECK(cap.lines[0].find("[1 thread]") == std::string::npos);
  }
  set_num_threads(saved);
  set_backend("reference");
}
#endif

TEST_CASE("a retained graph converts each backward pass's gradient afresh") {
  for (const std::string& name : available_backends()) {
    INFO(name);
    set_backend(name);
    Generator gen(25);
    Tensor x = uniform(kSrc, -1.f, 1.f, gen).set_requires_grad();
    Tensor w = uniform(kWei, -1.f, 1.f, gen).set_requires_grad();
    Tensor g1 = uniform(kDst, -1.f, 1.f, gen), g2 = uniform(kDst, -1.f, 1.f, gen);
    Tensor y = conv2d(x, w, Tensor(), Conv2dFuncOptions().padding(1));
    y.backward(g1, true);
    y.backward(g2);
    // The gradients accumulate: g1's plus g2's, each computed without caches.
    Tensor dx1 = uninitialized(kSrc), dx2 = uninitialized(kSrc), dw1 = uninitialized(kWei),
           dw2 = uninitialized(kWei);
    conv_backward_data(g1, w.detach(), Tensor(), dx1, pad1());
    conv_backward_data(g2, w.detach(), Tensor(), dx2, pad1());
    conv_backward_weights(x.detach(), g1, dw1, Tensor(), pad1());
    conv_backward_weights(x.detach(), g2, dw2, Tensor(), pad1());
    std::vector<double> want_dx = as_double(dx1), want_dw = as_double(dw1);
    std::vector<float> b_dx = dx2.to_vector(), b_dw = dw2.to_vector();
    for (size_t i = 0; i < want_dx.size(); ++i) want_dx[i] += b_dx[i];
    for (size_t i = 0; i < want_dw.size(); ++i) want_dw[i] += b_dw[i];
    check_close(x.grad(), want_dx, "dx");
    check_close(w.grad(), want_dw, "dw");
  }
  set_backend("reference");
}
