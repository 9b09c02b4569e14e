// The oneDNN backend's batch-split execution (docs/backends.md, "Batch split"): conv_forward,
// conv_backward_data and conv_backward_weights (per-thread partial sums) run image by image inside one
// parallel region. Forced on (set_batch_split(1)), it
// must match the oracle and the unsplit path for every batch size (N below, equal to and not divisible
// by the thread count), with and without bias, at 1 and 2 threads, with NaN-prefilled outputs, and
// keep the operand-cache contract: a copy it converts is the one an unsplit call reads, and back.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "autograd/ops_conv.h"
#include "autograd/ops_math.h"
#include "autograd/ops_reduce.h"
#include "core/backend.h"
#include "core/factory.h"
#include "core/random.h"
#include "core/threading.h"
#include "test_conv_util.h"
#ifdef CONVGRAD_WITH_ONEDNN
#include "core/backends/onednn/conv.h"
#endif

#ifdef CONVGRAD_WITH_ONEDNN
using namespace convgrad;
using convgrad::testing::as_double;
using convgrad::testing::check_close;
using convgrad::testing::Oracle;

namespace {

// Collects verbose lines while alive; restores the split mode and thread count it found.
struct Scope {
  std::vector<std::string> lines;
  int mode = onednn::batch_split(), threads = get_num_threads();
  Scope() {
    set_backend("onednn");
    set_verbose(true);
    set_verbose_sink([this](const std::string& l) { lines.push_back(l); });
  }
  ~Scope() {
    set_verbose(false);
    set_verbose_sink(nullptr);
    onednn::set_batch_split(mode);
    set_num_threads(threads);
    set_backend("reference");
  }
  // How many of the lines since the last call say the batch was split.
  int splits() {
    int n = 0;
    for (const std::string& l : lines) n += l.find("[batch split") != std::string::npos;
    lines.clear();
    return n;
  }
};

// One convolution configuration in the conv view (src, weights, dst shapes for batch 1, parameters).
struct Config {
  const char* name;
  Shape src, wei, dst;
  ConvParams p;
};

ConvParams params(int stride, int pad_begin, int pad_end) {
  ConvParams p;
  p.stride = {stride, stride};
  p.pad_begin = {pad_begin, pad_begin};
  p.pad_end = {pad_end, pad_end};
  return p;
}

// The three families of issue 6 (3x3, 3x3 stride 2, and the k4 s2 transposed convolution, whose
// forward is conv_backward_data in the conv view), with channel counts oneDNN computes in nChw16c and
// above the tiny-call threshold (2 MFLOP) even at batch 1, which is never split at 2 threads.
const Config kConfigs[] = {
    {"3x3", {1, 32, 16, 14}, {48, 32, 3, 3}, {1, 48, 16, 14}, params(1, 1, 1)},
    {"3x3 s2", {1, 32, 20, 18}, {48, 32, 3, 3}, {1, 48, 10, 9}, params(2, 1, 1)},
    {"k4 s2", {1, 32, 24, 20}, {48, 32, 4, 4}, {1, 48, 12, 10}, params(2, 1, 1)},
};

Shape batch(Shape s, int64_t n) {
  s[0] = n;
  return s;
}

void check_equal(const Tensor& got, const Tensor& want, const std::string& what) {
  std::vector<float> g = got.to_vector(), w = want.to_vector();
  REQUIRE(g.size() == w.size());
  size_t bad = 0;
  for (size_t i = 0; i < g.size(); ++i) bad += !(g[i] == w[i]);
  CHECK_MESSAGE(bad == 0, what << ": " << bad << " of " << g.size() << " elements differ");
}

}  // namespace

TEST_CASE("batch split: forward and backward-data match the oracle and the unsplit path") {
  Scope scope;
  Generator gen(61);
  for (int threads : {1, 2})
    for (const Config& c : kConfigs)
      for (int64_t N : {1, 2, 3, 5})
        for (bool with_bias : {false, true}) {
          INFO(std::string(c.name) << ", N " << N << ", " << threads << " threads, bias " << with_bias);
          set_num_threads(threads);
          const Shape src = batch(c.src, N), dst = batch(c.dst, N);
          Tensor x = uniform(src, -1.f, 1.f, gen), w = uniform(c.wei, -1.f, 1.f, gen);
          Tensor dy = uniform(dst, -1.f, 1.f, gen);
          Tensor b = with_bias ? uniform({c.wei[0]}, -1.f, 1.f, gen) : Tensor();
          Tensor bd = with_bias ? uniform({c.src[1]}, -1.f, 1.f, gen) : Tensor();
          Oracle want(ConvShapes{src, c.wei, dst, c.p}, x.to_vector(), w.to_vector(), dy.to_vector());
          std::vector<double> y_want = want.y, dx_want = want.dx;
          for (int64_t i = 0; i < int64_t(y_want.size()); ++i)
            if (with_bias) y_want[i] += b.to_vector()[(i / (dst[2] * dst[3])) % dst[1]];
          for (int64_t i = 0; i < int64_t(dx_want.size()); ++i)
            if (with_bias) dx_want[i] += bd.to_vector()[(i / (src[2] * src[3])) % src[1]];

          Tensor y[2], dx[2];
          for (int mode : {0, 1}) {
            onednn::set_batch_split(mode);
            y[mode] = full(dst, NAN), dx[mode] = full(src, NAN);
            conv_forward(x, w, b, y[mode], c.p);
            conv_backward_data(dy, w, bd, dx[mode], c.p);
            CHECK(scope.splits() == 2 * mode);
            check_close(y[mode], y_want, mode ? "split y" : "unsplit y");
            check_close(dx[mode], dx_want, mode ? "split dx" : "unsplit dx");
          }
          check_close(y[1], as_double(y[0]), "split vs unsplit y", 1e-6, 0);
          check_close(dx[1], as_double(dx[0]), "split vs unsplit dx", 1e-6, 0);
        }
}

TEST_CASE("batch split: backward-weights matches the oracle and the unsplit path") {
  Scope scope;
  Generator gen(65);
  for (int threads : {1, 2})
    for (const Config& c : kConfigs)
      for (int64_t N : {1, 2, 3, 5})
        for (bool with_bias : {false, true})
          for (bool with_caches : {false, true}) {
            INFO(std::string(c.name) << ", N " << N << ", " << threads << " threads, bias " << with_bias
                                     << ", caches " << with_caches);
            set_num_threads(threads);
            const Shape src = batch(c.src, N), dst = batch(c.dst, N);
            Tensor x = uniform(src, -1.f, 1.f, gen), w = uniform(c.wei, -1.f, 1.f, gen);
            Tensor dy = uniform(dst, -1.f, 1.f, gen);
            Oracle want(ConvShapes{src, c.wei, dst, c.p}, x.to_vector(), w.to_vector(), dy.to_vector());
            std::vector<double> db_want(size_t(c.wei[0]), 0.0);
            const std::vector<float> dyv = dy.to_vector();
            for (int64_t i = 0; i < int64_t(dyv.size()); ++i)
              db_want[(i / (dst[2] * dst[3])) % dst[1]] += dyv[i];
            Tensor dw[2], db[2];
            for (int mode : {0, 1}) {
              onednn::set_batch_split(mode);
              ConvOperandCache xc, dyc;
              const ConvCaches caches = with_caches ? ConvCaches{&xc, nullptr, &dyc} : ConvCaches{};
              // Twice: the first call fills the caches (when given), the second reads them.
              for (int call = 0; call < 2; ++call) {
                dw[mode] = full(c.wei, NAN), db[mode] = with_bias ? full({c.wei[0]}, NAN) : Tensor();
                conv_backward_weights(x, dy, dw[mode], db[mode], c.p, caches);
                CHECK(scope.splits() == mode);
                check_close(dw[mode], want.dw, mode ? "split dw" : "unsplit dw");
                if (with_bias) check_close(db[mode], db_want, mode ? "split db" : "unsplit db");
              }
              if (with_caches) CHECK(xc.size() + dyc.size() >= 1);
            }
            check_close(dw[1], as_double(dw[0]), "split vs unsplit dw", 1e-5, 1e-6);
            if (with_bias) check_close(db[1], as_double(db[0]), "split vs unsplit db", 1e-5, 1e-6);
          }
}

TEST_CASE("batch split: operand caches filled by a split call are read by unsplit ones, and back") {
  Scope scope;
  Generator gen(62);
  for (int threads : {1, 2}) {
    INFO(threads << " threads");
    set_num_threads(threads);
    const Config& c = kConfigs[0];
    const Shape src = batch(c.src, 3), dst = batch(c.dst, 3);
    Tensor x = uniform(src, -1.f, 1.f, gen), w = uniform(c.wei, -1.f, 1.f, gen),
           dy = uniform(dst, -1.f, 1.f, gen);
    Tensor b = uniform({c.wei[0]}, -1.f, 1.f, gen);
    onednn::set_batch_split(0);
    Tensor y0 = full(dst, NAN), dx0 = full(src, NAN), dw0 = full(c.wei, NAN), db0 = full({c.wei[0]}, NAN);
    conv_forward(x, w, b, y0, c.p);
    conv_backward_data(dy, w, Tensor(), dx0, c.p);
    conv_backward_weights(x, dy, dw0, db0, c.p);

    // Split calls convert x and dy into the caches, image by image; unsplit backward-weights reads them.
    onednn::set_batch_split(1);
    ConvOperandCache xc, dyc;
    const onednn::OperandCacheStats s0 = onednn::operand_cache_stats();
    Tensor y = full(dst, NAN), dx = full(src, NAN), dw = full(c.wei, NAN), db = full({c.wei[0]}, NAN);
    conv_forward(x, w, b, y, c.p, {&xc, nullptr, nullptr});
    conv_backward_data(dy, w, Tensor(), dx, c.p, {nullptr, nullptr, &dyc});
    CHECK(scope.splits() == 2);
    CHECK(xc.size() == 1);
    CHECK(dyc.size() == 1);
    onednn::set_batch_split(0);
    conv_backward_weights(x, dy, dw, db, c.p, {&xc, nullptr, &dyc});
    CHECK(scope.splits() == 0);
    // A split backward-weights reads them too (and fills fresh ones image by image, read by an unsplit one).
    onednn::set_batch_split(1);
    Tensor dw_s = full(c.wei, NAN), db_s = full({c.wei[0]}, NAN);
    conv_backward_weights(x, dy, dw_s, db_s, c.p, {&xc, nullptr, &dyc});
    CHECK(scope.splits() == 1);
    check_close(dw_s, as_double(dw0), "split dw from the caches", 1e-5, 1e-6);
    check_close(db_s, as_double(db0), "split db from the caches", 1e-5, 1e-6);
    ConvOperandCache xc3, dyc3;
    conv_backward_weights(x, dy, dw_s, db_s, c.p, {&xc3, nullptr, &dyc3});
    CHECK(scope.splits() == 1);
    CHECK(xc3.size() == 1);
    CHECK(dyc3.size() == 1);
    onednn::set_batch_split(0);
    Tensor dw_u = full(c.wei, NAN);
    conv_backward_weights(x, dy, dw_u, Tensor(), c.p, {&xc3, nullptr, &dyc3});
    check_equal(dw_u, dw0, "unsplit dw from the split-filled caches");
    onednn::set_batch_split(1);
    const onednn::OperandCacheStats s1 = onednn::operand_cache_stats();
    CHECK(s1.copies_made - s0.copies_made == 4);
    CHECK(s1.copies_reused - s0.copies_reused == 6);
    check_close(y, as_double(y0), "y", 1e-6, 0);
    check_close(dx, as_double(dx0), "dx", 1e-6, 0);
    check_equal(dw, dw0, "dw from the split-filled caches");
    check_equal(db, db0, "db");

    // The other way: the unsplit forward fills the cache, a split call reads it. Proof that it is read:
    // x changes in place (what the contract forbids) and the split call still sees the old x.
    ConvOperandCache xc2;
    onednn::set_batch_split(0);
    conv_forward(x, w, b, uninitialized(dst), c.p, {&xc2, nullptr, nullptr});
    REQUIRE(xc2.size() == 1);
    const bool check_was_on = check_backends();
    set_check_backends(false);
    Tensor x_saved = clone(x);
    for (int64_t i = 0; i < x.numel(); ++i) x.data<float>()[i] *= 2.f;
    onednn::set_batch_split(1);
    Tensor y_stale = full(dst, NAN);
    conv_forward(x, w, b, y_stale, c.p, {&xc2, nullptr, nullptr});
    CHECK(scope.splits() == 1);
    CHECK(onednn::operand_cache_stats().copies_reused - s1.copies_reused == 1);
    check_close(y_stale, as_double(y0), "split y from the cached (old) x", 1e-6, 0);
    set_check_backends(check_was_on);
    x = x_saved;
  }
}

TEST_CASE("batch split: an autograd node gives the same gradients split and unsplit") {
  Scope scope;
  Generator gen(63);
  set_num_threads(2);
  const Config& c = kConfigs[2];  // k4 s2: also as a transposed convolution
  Tensor x = uniform(batch(c.src, 3), -1.f, 1.f, gen), w = uniform(c.wei, -1.f, 1.f, gen);
  Tensor b = uniform({c.wei[0]}, -1.f, 1.f, gen), bt = uniform({c.src[1]}, -1.f, 1.f, gen);
  Tensor xt = uniform(batch(c.dst, 3), -1.f, 1.f, gen);
  std::vector<std::vector<double>> got[2];
  for (int mode : {0, 1}) {
    onednn::set_batch_split(mode);
    Tensor x1 = x.detach().set_requires_grad(), w1 = w.detach().set_requires_grad();
    Tensor b1 = b.detach().set_requires_grad(), xt1 = xt.detach().set_requires_grad();
    Tensor bt1 = bt.detach().set_requires_grad();
    Tensor y = conv2d(x1, w1, b1, Conv2dFuncOptions().stride(2).padding(1));
    Tensor yt = conv_transpose2d(xt1, w1, bt1, ConvTranspose2dFuncOptions().stride(2).padding(1));
    (sum(y) + sum(mul(yt, yt))).backward();
    CHECK(scope.splits() == (mode ? 6 : 0));  // y, dx, dw of y; yt, dx (== conv_forward), dw of yt
    got[mode] = {as_double(y),         as_double(yt),         as_double(x1.grad()), as_double(w1.grad()),
                 as_double(b1.grad()), as_double(xt1.grad()), as_double(bt1.grad())};
  }
  for (size_t i = 0; i < got[0].size(); ++i) {
    INFO("value " << i);
    CHECK(got[0][i].size() == got[1][i].size());
    double max_ref = 0, max_diff = 0;
    for (size_t j = 0; j < got[0][i].size(); ++j) {
      const double d = std::abs(got[0][i][j] - got[1][i][j]);
      max_ref = std::max(max_ref, std::abs(got[0][i][j]));
      if (!(d <= max_diff)) max_diff = std::isnan(d) ? INFINITY : d;  // NaN counts as the worst
    }
    CHECK(max_diff <= 1e-5 * max_ref);
  }
}

TEST_CASE("batch split: chosen per call when automatic") {
  Scope scope;
  onednn::set_batch_split(-1);
  set_num_threads(2);
  Generator gen(64);
  // 64 -> 64 channels, 3x3 at 28x28: 58 MFLOP per image, worth splitting; a batch of 1 is not.
  const ConvParams p = params(1, 1, 1);
  const Shape wei{64, 64, 3, 3};
  Tensor w = uniform(wei, -1.f, 1.f, gen);
  for (int64_t N : {1, 2, 4}) {
    Tensor x = uniform({N, 64, 28, 28}, -1.f, 1.f, gen);
    conv_forward(x, w, Tensor(), uninitialized({N, 64, 28, 28}), p);
    CHECK(scope.splits() == (N >= 2 ? 1 : 0));
  }
  // Small images (the tutorial's sizes) and a batch of 3 on 2 threads are not split.
  Tensor xs = uniform({4, 16, 8, 8}, -1.f, 1.f, gen), ws = uniform({16, 16, 3, 3}, -1.f, 1.f, gen);
  conv_forward(xs, ws, Tensor(), uninitialized({4, 16, 8, 8}), p);
  Tensor x = uniform({2, 64, 28, 28}, -1.f, 1.f, gen), x3 = uniform({3, 64, 28, 28}, -1.f, 1.f, gen);
  conv_forward(x3, w, Tensor(), uninitialized({3, 64, 28, 28}), p);
  conv_backward_weights(x3, x3, uninitialized(wei), Tensor(), p);
  CHECK(scope.splits() == 0);
  // Backward-weights follows the same rules.
  conv_backward_weights(x, x, uninitialized(wei), Tensor(), p);
  CHECK(scope.splits() == 1);
  // At one thread any batch is split (the gain is mostly locality, not parallelism).
  set_num_threads(1);
  conv_forward(x3, w, Tensor(), uninitialized({3, 64, 28, 28}), p);
  CHECK(scope.splits() == 1);
  conv_forward(x3, w, Tensor(), uninitialized({3, 64, 28, 28}), p);
  CHECK(scope.splits() == 1);
  // A tiny call at 2 threads (its one-thread path) and a weight cache keep a call unsplit even when forced.
  onednn::set_batch_split(1);
  set_num_threads(2);
  conv_forward(xs, ws, Tensor(), uninitialized({4, 16, 8, 8}), p);
  CHECK(scope.splits() == 0);
  ConvOperandCache wc;
  conv_forward(x, w, Tensor(), uninitialized({2, 64, 28, 28}), p, {nullptr, &wc, nullptr});
  CHECK(scope.splits() == 0);
}
#endif
