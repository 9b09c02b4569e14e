// The promises of docs/backends.md not held elsewhere: the environment variables read at start-up
// (CONVGRAD_VERBOSE, CONVGRAD_BATCH_SPLIT, the default backend when CONVGRAD_BACKEND is unset), checked in
// a child process started with them; the CONVGRAD_CHECK tolerance at its edge; and on oneDNN the plan
// cache (keyed by the thread count, LRU eviction at 128 plans, refused configurations cached) and any
// other oneDNN failure raised as an Error naming the status.
#include <doctest/doctest.h>

#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "autograd/ops_conv.h"
#include "core/backend.h"
#include "core/backends/reference/backend.h"
#include "core/error.h"
#include "core/factory.h"
#include "core/random.h"
#include "core/threading.h"
#include "test_child.h"
#include "test_util.h"
#ifdef CONVGRAD_WITH_ONEDNN
#include <dnnl_types.h>

#include "core/backends/onednn/conv.h"
#endif

using namespace convgrad;
using convgrad::testing::check_one_case_passed;
using convgrad::testing::Child;
using convgrad::testing::run_child;
using convgrad::testing::VerboseCapture;

namespace {

bool built_with_onednn() {
#ifdef CONVGRAD_WITH_ONEDNN
  return true;
#else
  return false;
#endif
}

// The reference kernels with `delta` added to the first forward output: a backend that is off by a
// chosen amount.
class Offset final : public Backend {
 public:
  explicit Offset(float delta) : delta_(delta) {}
  const char* name() const override { return "offset"; }

 protected:
  void run_forward(const Tensor& x, const Tensor& w, const Tensor& b, const Tensor& y, const ConvParams& p,
                   const ConvCaches&) override {
    ref_->conv_forward(x, w, b, y, p);
    y.data<float>()[0] += delta_;
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
  float delta_;
  std::unique_ptr<Backend> ref_ = make_reference_backend();
};

}  // namespace

// Started by the next test case with CONVGRAD_TEST_ENV_CHILD set; does nothing in a normal run.
TEST_CASE("environment child: report the start-up settings and run a convolution") {
  const char* mode = std::getenv("CONVGRAD_TEST_ENV_CHILD");
  if (mode == nullptr) return;
  // CONVGRAD_BACKEND is unset in the child: the registry's first line, oneDNN when built.
  CHECK(current_backend() == (built_with_onednn() ? "onednn" : "reference"));
  CHECK(verbose() == (std::getenv("CONVGRAD_VERBOSE") != nullptr));
  set_num_threads(2);
  Generator gen(1);
  // 58 MFLOP per image: split when allowed; the verbose lines go to stderr (no sink set).
  Tensor x = uniform({2, 64, 28, 28}, -1.f, 1.f, gen), w = uniform({64, 64, 3, 3}, -1.f, 1.f, gen);
  (void)conv2d(x, w, Tensor(), Conv2dFuncOptions().padding(1));
#ifdef CONVGRAD_WITH_ONEDNN
  CHECK(onednn::batch_split() == std::atoi(mode));
#endif
}

TEST_CASE("CONVGRAD_VERBOSE, CONVGRAD_BATCH_SPLIT and the default backend, read at start-up") {
  for (int split : {0, 1}) {
    CAPTURE(split);
    Child c = run_child(
        "environment child*",
        {"CONVGRAD_TEST_ENV_CHILD=" + std::to_string(split), "CONVGRAD_VERBOSE=1",
         "CONVGRAD_BATCH_SPLIT=" + std::to_string(split), "OMP_NUM_THREADS=1", "CONVGRAD_POISON=1"});
    check_one_case_passed(c);
    if (built_with_onednn()) {
      CHECK(c.output.find("convgrad: onednn conv_forward src [2, 64, 28, 28], weights [64, 64, 3, 3]") !=
            std::string::npos);
      CHECK((c.output.find("[batch split, 2 threads]") != std::string::npos) == (split == 1));
    }
  }
  // Without CONVGRAD_VERBOSE nothing is printed; without CONVGRAD_BATCH_SPLIT each call decides (-1).
  Child quiet = run_child("environment child*", {"CONVGRAD_TEST_ENV_CHILD=-1", "OMP_NUM_THREADS=1"});
  check_one_case_passed(quiet);
  CHECK(quiet.output.find("convgrad:") == std::string::npos);
}

TEST_CASE("CONVGRAD_CHECK: a difference just under 1e-4 x max|reference| passes, just over throws") {
  // x and w of ones: every output is 4, so the tolerance is 1e-4 * 4 + 1e-6 = 4.01e-4.
  Tensor x = ones({1, 1, 4, 4}), w = ones({1, 1, 2, 2});
  const std::string saved = current_backend();
  set_check_backends(true);
  for (float delta : {3.9e-4f, -3.9e-4f, 4.2e-4f, -4.2e-4f}) {
    CAPTURE(delta);
    register_backend("offset", [delta] { return std::make_unique<Offset>(delta); });
    set_backend("offset");
    if (std::abs(delta) < 4e-4f) {
      CHECK_NOTHROW(conv2d(x, w));
    } else {
      CHECK_THROWS_WITH_AS(conv2d(x, w), doctest::Contains("tolerance 0.000401"), Error);
    }
  }
  set_check_backends(false);
  set_backend(saved);
}

#ifdef CONVGRAD_WITH_ONEDNN
TEST_CASE("onednn plan cache: keyed by the thread count, least recently used evicted at 128 plans") {
  const std::string saved = current_backend();
  const int threads = get_num_threads();
  const int split = onednn::batch_split();
  onednn::set_batch_split(0);  // one plan per call: a split call caches its one-image plan too
  set_backend("onednn");
  Generator gen(2);
  // 2 x 29 MFLOP: above the one-thread cut-off, so the plan is built for the thread count set.
  Tensor x = uniform({2, 32, 28, 28}, -1.f, 1.f, gen), w = uniform({64, 32, 3, 3}, -1.f, 1.f, gen);
  auto conv = [&] { return conv2d(x, w, Tensor(), Conv2dFuncOptions().padding(1)); };
  {
    VerboseCapture cap;
    set_num_threads(1);
    conv();
    const size_t plans = onednn::plan_cache_size();
    set_num_threads(2);
    conv();  // another thread count: a new plan
    CHECK(onednn::plan_cache_size() == plans + 1);
    set_num_threads(1);
    conv();  // the first plan again
    CHECK(onednn::plan_cache_size() == plans + 1);
    REQUIRE(cap.lines.size() == 3);
    CHECK(cap.lines[1].find("(cached)") == std::string::npos);
    CHECK(cap.lines[2].find("(cached)") != std::string::npos);
  }
  // 130 tiny convolutions of distinct shapes fill the cache; the oldest are evicted, the newest kept.
  auto tiny = [](int64_t i) { return conv2d(ones({1, 1, 3, 3 + i}), ones({1, 1, 1, 1})); };
  VerboseCapture cap;
  for (int64_t i = 0; i < 130; ++i) tiny(i);
  CHECK(onednn::plan_cache_size() == 128);
  cap.lines.clear();
  tiny(129);  // the most recent: still cached
  tiny(0);    // the first: evicted, built again
  REQUIRE(cap.lines.size() == 2);
  CHECK(cap.lines[0].find("(cached)") != std::string::npos);
  CHECK(cap.lines[1].find("(cached)") == std::string::npos);
  CHECK(onednn::plan_cache_size() == 128);
  onednn::set_batch_split(split);
  set_num_threads(threads);
  set_backend(saved);
}

TEST_CASE("onednn: a configuration oneDNN refuses is cached, so oneDNN is asked once") {
  const std::string saved = current_backend();
  set_backend("onednn");
  // pad_end + stride <= 0: oneDNN refuses; the reference computes it.
  auto refused = [] {
    return conv_transpose2d(ones({1, 1, 3, 3}), ones({1, 1, 2, 2}), Tensor(),
                            ConvTranspose2dFuncOptions().dilation(2).output_padding(1));
  };
  VerboseCapture cap;
  refused();
  const size_t plans = onednn::plan_cache_size();
  // A primitive built now would fail (fail_next_plan): the second call must not ask oneDNN at all.
  onednn::fail_next_plan(dnnl_out_of_memory);
  Tensor y;
  CHECK_NOTHROW(y = refused());
  onednn::fail_next_plan(dnnl_success);
  CHECK(onednn::plan_cache_size() == plans);  // found in the cache, not built again
  REQUIRE(cap.lines.size() == 2);
  CHECK(cap.count("-> reference (oneDNN: invalid_arguments") == 2);
  CHECK(y.at({0, 0, 2, 2}) == 4.f);
  set_backend(saved);
}

TEST_CASE("onednn: a failure other than a refusal raises an Error naming the status, and is not cached") {
  const std::string saved = current_backend();
  set_backend("onednn");
  // Shapes no other case builds, so each call below misses the plan cache and builds a primitive.
  auto message = [](const Tensor& x, const Tensor& w) {
    try {
      (void)conv2d(x, w);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  Tensor x = ones({1, 2, 5, 7}), w = ones({3, 2, 3, 3});
  for (int status : {int(dnnl_out_of_memory), int(dnnl_runtime_error)}) {
    CAPTURE(status);
    onednn::fail_next_plan(status);
    const std::string msg = message(x, w);
    INFO("message: " << msg);
    CHECK(msg.find("onednn conv_forward src [1, 2, 5, 7], weights [3, 2, 3, 3], dst [1, 3, 3, 5]") !=
          std::string::npos);
    CHECK(msg.find(status == dnnl_out_of_memory ? "(status out_of_memory)" : "(status runtime_error)") !=
          std::string::npos);
  }
  // The failure was not cached as a refusal: the next call builds the primitive and computes 2 x 9 ones.
  VerboseCapture cap;
  Tensor y = conv2d(x, w);
  REQUIRE(cap.lines.size() == 1);
  CHECK(cap.lines[0].find("-> reference") == std::string::npos);
  CHECK(cap.lines[0].find("(cached)") == std::string::npos);
  CHECK(y.at({0, 2, 2, 4}) == 18.f);
  // A refusal status, by contrast, hands the call to the reference kernels.
  onednn::fail_next_plan(dnnl_unimplemented);
  Tensor z = conv2d(ones({1, 2, 6, 7}), w);
  REQUIRE(cap.lines.size() == 2);
  CHECK(cap.lines[1].find("-> reference (oneDNN: unimplemented") != std::string::npos);
  CHECK(z.at({0, 1, 3, 4}) == 18.f);
  set_backend(saved);
}
#endif
