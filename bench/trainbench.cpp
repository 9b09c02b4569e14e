// trainbench: the training step of the TinyFCN example (examples/fcn), timed as
// ../shared/bench/torch_tinyfcn.py times PyTorch's: zero_grad + forward + cross-entropy + backward +
// optimizer step, batches drawn before the clock starts. One JSON line with the median step.
//
//   OMP_NUM_THREADS=2 build/bin/trainbench [--threads 2] [--batch 32] [--steps 30] [--skips] [--opt adam]
//
// Defaults = the PyTorch script's: the plain model (k16 s8 upsampler), Adam lr 3e-3, batch 32, 64x64.
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "core/backend.h"
#include "core/error.h"
#include "core/threading.h"
#include "layers/loss.h"
#include "layers/optim.h"
#include "shapes_data.h"
#include "tiny_fcn.h"
#ifdef CONVGRAD_BENCH_ALLOCATOR
#include "allocator.h"
#endif

using namespace convgrad;

namespace {

struct Options {
  int threads = 2;
  int64_t batch = 32, steps = 30, warmup = 3;
  bool skips = false;
  std::string opt = "adam", backend;
  double lr = 0;
};

const char* kUsage =
    "usage: trainbench [--threads N] [--batch N] [--steps N] [--warmup N] [--skips] [--opt adam|sgd] [--lr X]\n"
    "                  [--backend NAME]\n";

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "trainbench: %s needs a value\n%s", a.c_str(), kUsage);
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--threads")
      o.threads = std::atoi(value().c_str());
    else if (a == "--batch")
      o.batch = std::atoll(value().c_str());
    else if (a == "--steps")
      o.steps = std::atoll(value().c_str());
    else if (a == "--warmup")
      o.warmup = std::atoll(value().c_str());
    else if (a == "--skips")
      o.skips = true;
    else if (a == "--opt")
      o.opt = value();
    else if (a == "--lr")
      o.lr = std::atof(value().c_str());
    else if (a == "--backend")
      o.backend = value();
    else {
      std::fprintf(stderr, "%s", kUsage);
      std::exit(a == "--help" || a == "-h" ? 0 : 2);
    }
  }
  if (o.threads < 1 || o.batch < 1 || o.steps < 1 || o.warmup < 0 || (o.opt != "adam" && o.opt != "sgd")) {
    std::fprintf(stderr, "trainbench: invalid option value\n%s", kUsage);
    std::exit(2);
  }
  return o;
}

double peak_rss_mb() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_maxrss / 1024.0;  // ru_maxrss is in KiB on Linux
}

}  // namespace

int main(int argc, char** argv) {
  const Options o = parse(argc, argv);
#ifdef CONVGRAD_BENCH_ALLOCATOR
  example::keep_freed_memory();  // as the fcn example does
#endif
  try {
    set_num_threads(o.threads);
    if (!o.backend.empty()) set_backend(o.backend);
    Generator gen(0);
    fcn::TinyFCN model(o.skips, gen);
    model.train();
    std::unique_ptr<Optimizer> opt;
    if (o.opt == "adam")
      opt = std::make_unique<Adam>(model.parameters(), AdamOptions(o.lr > 0 ? o.lr : 3e-3));
    else
      opt = std::make_unique<SGD>(model.parameters(),
                                  SGDOptions(o.lr > 0 ? o.lr : 0.05).momentum(0.9).weight_decay(1e-4));
    fcn::ShapesDataset data(0, 1, std::min<int64_t>(8192, (o.steps + o.warmup) * o.batch));
    std::vector<double> ms;
    float loss_value = 0;
    for (int64_t step = 0; step < o.warmup + o.steps; ++step) {
      fcn::Batch b = data.batch(step * o.batch % data.size(), o.batch);
      const auto t0 = std::chrono::steady_clock::now();
      opt->zero_grad();
      Tensor loss = cross_entropy(model.forward(b.images), b.labels);
      loss.backward();
      opt->step();
      const double dt = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
      if (step >= o.warmup) ms.push_back(dt);
      loss_value = loss.item<float>();
    }
    std::sort(ms.begin(), ms.end());
    const double med = ms[ms.size() / 2];
    std::printf(
        "{\"impl\": \"convgrad-%s\", \"model\": \"tinyfcn%s\", \"opt\": \"%s\", \"threads\": %d, \"batch\": %lld, "
        "\"steps\": %lld, \"step_ms\": %.3f, \"images_per_s\": %.1f, \"peak_rss_mb\": %.1f, \"final_loss\": %.4f}\n",
        current_backend().c_str(), o.skips ? "-skips" : "", o.opt.c_str(), get_num_threads(), (long long)o.batch,
        (long long)o.steps, med, o.batch / med * 1e3, peak_rss_mb(), loss_value);
  } catch (const Error& e) {
    std::fprintf(stderr, "trainbench: %s\n", e.what());
    return 1;
  }
  return 0;
}
