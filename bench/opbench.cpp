// opbench: forward + backward of the non-convolution ops at FCN sizes, one thread by default. One JSON
// line per op with the median of `--repeats` runs and its budget; exits 1 when an op exceeds its budget.
// The budgets are loose (tens of times the expected cost): they catch accidental quadratic work, not noise.
// Timing lives here, not in the test suite, so that a slow or busy machine never fails a test.
//
//   build/bin/opbench [--threads 1] [--repeats 5]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>
#include <vector>

#include "autograd/ops.h"
#include "core/error.h"
#include "core/factory.h"
#include "core/random.h"
#include "core/threading.h"
#include "layers/loss.h"

using namespace convgrad;

namespace {

struct Case {
  std::string name;
  double budget_ms;
  std::function<void()> run;
};

double median_ms(const std::function<void()>& fn, int repeats) {
  std::vector<double> ms;
  for (int i = 0; i < repeats; ++i) {
    auto t0 = std::chrono::steady_clock::now();
    fn();
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(ms.begin(), ms.end());
  return ms[ms.size() / 2];
}

Tensor leaf(Tensor t) { return t.set_requires_grad(); }

}  // namespace

int main(int argc, char** argv) {
  int threads = 1, repeats = 5;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if ((a == "--threads" || a == "--repeats") && i + 1 < argc)
      (a == "--threads" ? threads : repeats) = std::atoi(argv[++i]);
    else {
      std::fprintf(stderr, "usage: opbench [--threads N] [--repeats N]\n");
      return a == "--help" || a == "-h" ? 0 : 2;
    }
  }
  if (threads < 1 || repeats < 1) {
    std::fprintf(stderr, "opbench: --threads and --repeats must be positive\n");
    return 2;
  }
  try {
    set_num_threads(threads);
    Generator gen(1);
    Tensor logits = leaf(randn({32, 4, 64, 64}, gen));
    Tensor labels = randint(0, 4, {32, 64, 64}, gen);
    Tensor x = leaf(randn({32, 64, 16, 16}, gen));
    Tensor w = leaf(ones({64})), b = leaf(zeros({64}));
    Tensor rm = zeros({64}), rv = ones({64});
    Tensor gy_pool = ones({32, 64, 8, 8}), gy_full = ones({32, 64, 16, 16}), gy_up = ones({32, 64, 32, 32});
    const std::vector<Case> cases = {
        {"cross_entropy [32, 4, 64, 64]", 200, [&] { cross_entropy(logits, labels).backward(); }},
        {"max_pool2d [32, 64, 16, 16]", 500,
         [&] {
           max_pool2d(x, {2, 2}).backward(gy_pool);
         }},
        {"avg_pool2d [32, 64, 16, 16]", 500,
         [&] {
           avg_pool2d(x, {2, 2}).backward(gy_pool);
         }},
        {"batch_norm [32, 64, 16, 16]", 500, [&] { batch_norm(x, rm, rv, w, b, true).backward(gy_full); }},
        {"upsample_bilinear2d x2 [32, 64, 16, 16]", 500,
         [&] {
           upsample_bilinear2d(x, {32, 32}).backward(gy_up);
         }},
        {"dropout [32, 64, 16, 16]", 500, [&] { dropout(x, 0.5f, true, gen).backward(gy_full); }},
    };
    int over = 0;
    for (const Case& c : cases) {
      c.run();  // warm-up: first-touch allocations
      const double ms = median_ms(c.run, repeats);
      const bool ok = ms <= c.budget_ms;
      over += !ok;
      std::printf("{\"op\": \"%s\", \"threads\": %d, \"ms\": %.3f, \"budget_ms\": %.0f, \"ok\": %s}\n",
                  c.name.c_str(), threads, ms, c.budget_ms, ok ? "true" : "false");
    }
    return over ? 1 : 0;
  } catch (const Error& e) {
    std::fprintf(stderr, "opbench: %s\n", e.what());
    return 1;
  }
}
