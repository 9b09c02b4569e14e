// Backend selection (CONVGRAD_BACKEND, set_backend), the CONVGRAD_CHECK dual run, verbose reports,
// fallback, the primitive cache, threads, and the benchmark's transposed shapes on oneDNN.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <string>
#include <vector>

#include "autograd/ops_conv.h"
#include "core/backend.h"
#include "core/backends/reference/backend.h"
#include "core/factory.h"
#include "core/random.h"
#include "core/threading.h"
#include "test_util.h"
#ifdef CONVGRAD_WITH_ONEDNN
#include "core/backends/onednn/conv.h"
#endif

using namespace convgrad;
using convgrad::testing::VerboseCapture;

namespace {

// The reference kernels plus 1 on every forward output: what a broken backend looks like.
class OffByOne final : public Backend {
 public:
  const char* name() const override { return "off_by_one"; }

 protected:
  void run_forward(const Tensor& x, const Tensor& w, const Tensor& b, const Tensor& y, const ConvParams& p,
                   const ConvCaches&) override {
    ref_->conv_forward(x, w, b, y, p);
    for (int64_t i = 0; i < y.numel(); ++i) y.data<float>()[i] += 1.f;
  }
  void run_backward_data(const Tensor& dy, const Tensor& w, const Tensor& b, const Tensor& dx,
                         const ConvParams& p, const ConvCaches&) override {
    ref_->conv_backward_data(dy, w, b, dx, p);
  }
  void run_backward_weights(const Tensor& x, const Tensor& dy, const Tensor& dw, const Tensor& db,
                            const ConvParams& p, const ConvCaches&) override {
    ref_->conv_backward_weights(x, dy, dw, db, p);
  }

 private:
  std::unique_ptr<Backend> ref_ = make_reference_backend();
};

bool built_with_onednn() {
#ifdef CONVGRAD_WITH_ONEDNN
  return true;
#else
  return false;
#endif
}

}  // namespace

// Runs first (doctest orders by file and line): the environment is read on the first convolution.
TEST_CASE("CONVGRAD_BACKEND selects the backend at first use") {
  setenv("CONVGRAD_BACKEND", "reference", 1);
  CHECK(current_backend() == "reference");
  Tensor y = conv2d(ones({1, 1, 3, 3}), ones({1, 1, 2, 2}));
  CHECK(y.to_vector() == std::vector<float>{4, 4, 4, 4});
  unsetenv("CONVGRAD_BACKEND");
}

TEST_CASE("available_backends lists the built ones; set_backend switches") {
  std::vector<std::string> names = available_backends();
  CHECK(names.back() == "reference");
  CHECK(names.size() == (built_with_onednn() ? 2u : 1u));
  if (built_with_onednn()) CHECK(names.front() == "onednn");
  for (const auto& n : names) {
    set_backend(n);
    CHECK(current_backend() == n);
    CHECK(std::string(get_backend(n).name()) == n);
  }
  CHECK_THROWS_AS(set_backend("nope"), Error);
  CHECK(current_backend() == names.back());
}

TEST_CASE("the dual-run check throws on a mismatch and passes on agreement") {
  register_backend("off_by_one", [] { return std::make_unique<OffByOne>(); });
  set_backend("off_by_one");
  set_check_backends(true);
  CHECK(check_backends());
  Tensor x = ones({1, 2, 4, 4}), w = ones({3, 2, 3, 3});
  try {
    conv2d(x, w);
    FAIL("expected a mismatch");
  } catch (const Error& e) {
    std::string m = e.what();
    CHECK(m.find("CONVGRAD_CHECK: conv_forward y differs between backends off_by_one and reference") !=
          std::string::npos);
    CHECK(m.find("src [1, 2, 4, 4], weights [3, 2, 3, 3], dst [1, 3, 2, 2]") != std::string::npos);
  }
  // Agreeing backends pass, forward and backward, for both ops ("off_by_one" now computes correctly,
  // as it may be the reference's partner when oneDNN is not built).
  register_backend("off_by_one", make_reference_backend);
  for (const std::string& n : available_backends()) {
    set_backend(n);
    Generator gen(5);
    Tensor a = uniform({2, 4, 7, 6}, -1.f, 1.f, gen).set_requires_grad();
    Tensor k = uniform({4, 2, 3, 3}, -1.f, 1.f, gen).set_requires_grad();
    Tensor b = uniform({4}, -1.f, 1.f, gen).set_requires_grad();
    CHECK_NOTHROW(conv2d(a, k, b, Conv2dFuncOptions().stride(2).groups(2)).backward(ones({2, 4, 3, 2})));
    CHECK_NOTHROW(
        conv_transpose2d(a, k, b, ConvTranspose2dFuncOptions().stride(2).output_padding(1).groups(2))
            .backward(ones({2, 4, 16, 14})));
  }
  set_check_backends(false);
  set_backend("reference");
}

TEST_CASE("threads: results do not depend on the thread count") {
  // 58 MFLOP per kernel, far above the oneDNN backend's 2 MFLOP one-thread cut-off, so two threads really
  // run (its verbose lines say "[1 thread]" otherwise); the reference kernels always use every thread.
  for (const std::string& n : {std::string("reference"), available_backends().front()}) {
    CAPTURE(n);
    set_backend(n);
    Generator gen(9);
    Tensor x = uniform({4, 32, 28, 28}, -1.f, 1.f, gen), w = uniform({32, 32, 3, 3}, -1.f, 1.f, gen);
    const int saved = get_num_threads();
    // y, dx and dw of conv_transpose2d: its forward is conv_backward_data, its input gradient conv_forward.
    auto run = [&](int threads, std::vector<std::string>* lines) {
      set_num_threads(threads);
      REQUIRE(get_num_threads() == threads);
      VerboseCapture cap;
      Tensor xl = x.detach().set_requires_grad(), wl = w.detach().set_requires_grad();
      Tensor y = conv_transpose2d(xl, wl, Tensor(), ConvTranspose2dFuncOptions().stride(2));
      y.backward(y.detach());
      if (lines) *lines = cap.lines;
      std::vector<float> out = y.to_vector(), dx = xl.grad().to_vector(), dw = wl.grad().to_vector();
      out.insert(out.end(), dx.begin(), dx.end());
      out.insert(out.end(), dw.begin(), dw.end());
      return out;
    };
    std::vector<std::string> lines;
    std::vector<float> one = run(1, nullptr), two = run(2, &lines);
    set_num_threads(saved);
    REQUIRE(one.size() == two.size());
    if (n == "reference") {
      CHECK(one == two);  // the reference splits work by output element: the same bits for any thread count
    } else {
      CHECK(lines.size() == 3);
      for (const auto& l : lines) CHECK_MESSAGE(l.find("[1 thread]") == std::string::npos, l);
      double max_ref = 0, max_diff = 0;
      for (size_t i = 0; i < one.size(); ++i) {
        const double d = std::abs(double(one[i]) - double(two[i]));
        max_ref = std::max(max_ref, std::abs(double(one[i])));
        if (!(d <= max_diff)) max_diff = std::isnan(d) ? INFINITY : d;
      }
      CHECK(max_diff <= 1e-5 * max_ref);  // oneDNN's split changes the order of its sums: rounding only
    }
  }
}

#ifdef CONVGRAD_WITH_ONEDNN
TEST_CASE("onednn verbose: the implementation, the cache and every fallback") {
  set_backend("onednn");
  VerboseCapture cap;
  Tensor x = ones({1, 3, 8, 8}), w = ones({4, 3, 3, 3});
  conv2d(x, w);
  REQUIRE(cap.lines.size() == 1);
  CHECK(cap.lines[0].find(
            "convgrad: onednn conv_forward src [1, 3, 8, 8], weights [4, 3, 3, 3], dst [1, 4, 6, 6]") !=
        std::string::npos);
  CHECK(cap.lines[0].find("(cached)") == std::string::npos);
  size_t plans = onednn::plan_cache_size();
  conv2d(x, w);
  CHECK(cap.lines.back().find("(cached)") != std::string::npos);
  CHECK(onednn::plan_cache_size() == plans);  // a repeated call builds nothing

  conv2d(ones({0, 3, 8, 8}), w);
  CHECK(cap.any("-> reference (zero-size tensor)"));
  // pad_end + stride <= 0: oneDNN refuses; the reference computes it.
  Tensor y = conv_transpose2d(ones({1, 1, 3, 3}), ones({1, 1, 2, 2}), Tensor(),
                              ConvTranspose2dFuncOptions().dilation(2).output_padding(1));
  CHECK(y.shape() == Shape{1, 1, 6, 6});
  CHECK(
      cap.any("conv_backward_data src [1, 1, 6, 6], weights [1, 1, 2, 2], dst [1, 1, 3, 3], stride [1, 1], "
              "dilation [2, 2], padding [0, 0]/[-1, -1], groups 1 -> reference (oneDNN: invalid_arguments"));
  CHECK(y.at({0, 0, 5, 5}) == 0.f);  // the output_padding row only changes the shape
  CHECK(y.at({0, 0, 2, 2}) == 4.f);
}

TEST_CASE("onednn: the benchmark's transposed convolutions never reach a ref: implementation") {
  // ../shared/bench/shapes.txt, kind convT: N Cin H W Cout k stride padding output_padding.
  struct Shape9 {
    int64_t N, Ci, H, W, Co, k, s, p, op;
  };
  const Shape9 shapes[] = {{1, 20, 6, 6, 10, 5, 3, 2, 0},
                           {8, 128, 28, 28, 64, 4, 2, 1, 0},
                           {32, 4, 8, 8, 4, 16, 8, 4, 0},
                           {4, 21, 10, 15, 21, 64, 32, 16, 0}};
  set_backend("onednn");
  for (const Shape9& s : shapes) {
    VerboseCapture cap;
    Tensor x = full({s.N, s.Ci, s.H, s.W}, 0.5).set_requires_grad();
    Tensor w = full({s.Ci, s.Co, s.k, s.k}, 0.25).set_requires_grad();
    Tensor y = conv_transpose2d(x, w, Tensor(),
                                ConvTranspose2dFuncOptions().stride(s.s).padding(s.p).output_padding(s.op));
    y.backward(ones(y.shape()));
    INFO((cap.lines.empty() ? std::string("no lines") : cap.lines[0]));
    CHECK(cap.lines.size() == 3);
    for (const auto& l : cap.lines) {
      CHECK_MESSAGE(l.find(": ref:") == std::string::npos, l);
      CHECK_MESSAGE(l.find("-> reference") == std::string::npos, l);
    }
  }
  set_backend("reference");
}
#endif
