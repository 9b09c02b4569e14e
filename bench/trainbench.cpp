// trainbench: the training step of the TinyFCN example (examples/fcn), timed as
// ../shared/bench/torch_tinyfcn.py times PyTorch's: zero_grad + forward + cross-entropy + backward +
// optimizer step, batches drawn before the clock starts. One JSON line with the median step.
//
//   OMP_NUM_THREADS=2 build/bin/trainbench [--threads 2] [--batch 32] [--steps 30] [--skips] [--opt adam]
//   build/bin/trainbench --threads 0 --busy-core   # the library's default thread count, one core taken
//   build/bin/trainbench --bf16                    # forward and loss under AutocastGuard (bfloat16)
//
// Defaults = the PyTorch script's: the plain model (k16 s8 upsampler), Adam lr 3e-3, batch 32, 64x64.
#include <sched.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "autograd/autocast.h"
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
  bool skips = false, phases = false, busy_core = false, bf16 = false;
  std::string opt = "adam", backend;
  double lr = 0;
};

const char* kUsage =
    "usage: trainbench [--threads N] [--batch N] [--steps N] [--warmup N] [--skips] [--opt adam|sgd] [--lr "
    "X]\n"
    "                  [--backend NAME] [--phases] [--busy-core] [--bf16]\n"
    "  --threads 0: the library's default (OMP_NUM_THREADS, else the free cores, following the load)\n"
    "  --busy-core: a child process spins on the last usable CPU while the steps run (a busy neighbour)\n"
    "  --bf16: forward and loss under AutocastGuard (convolutions in bfloat16, docs/mixed-precision.md)\n"
    "  --phases: also the median ms of each phase: zero_grad_ms, forward_ms, loss_ms, backward_ms, "
    "optimizer_ms\n";

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
    else if (a == "--phases")
      o.phases = true;
    else if (a == "--busy-core")
      o.busy_core = true;
    else if (a == "--bf16")
      o.bf16 = true;
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
  if (o.threads < 0 || o.batch < 1 || o.steps < 1 || o.warmup < 0 || (o.opt != "adam" && o.opt != "sgd")) {
    std::fprintf(stderr, "trainbench: invalid option value\n%s", kUsage);
    std::exit(2);
  }
  return o;
}

using Clock = std::chrono::steady_clock;

double ms_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

double peak_rss_mb() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_maxrss / 1024.0;  // ru_maxrss is in KiB on Linux
}

// A child process pinned to the last CPU this process may use, spinning until killed: the busy
// neighbour of a shared machine. Returns its pid, or -1 (with a message) when it could not start.
pid_t start_busy_core() {
  cpu_set_t mask;
  CPU_ZERO(&mask);
  if (sched_getaffinity(0, sizeof mask, &mask) != 0) return -1;
  int last = -1;
  for (int c = 0; c < CPU_SETSIZE; ++c)
    if (CPU_ISSET(c, &mask)) last = c;
  const pid_t pid = fork();
  if (pid == 0) {
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(last, &one);
    sched_setaffinity(0, sizeof one, &one);
    static volatile bool spin = true;
    while (spin) {
    }
  }
  if (pid < 0) std::perror("trainbench: fork for --busy-core");
  return pid;
}

// Stops the spinning child when the timed steps end, also by an exception.
struct BusyCore {
  pid_t pid;
  explicit BusyCore(bool start) : pid(start ? start_busy_core() : -1) {}
  ~BusyCore() { stop(); }
  void stop() {
    if (pid <= 0) return;
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
    pid = -1;
  }
};

}  // namespace

int main(int argc, char** argv) {
  const Options o = parse(argc, argv);
  try {
    if (o.threads > 0) set_num_threads(o.threads);
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
    // Wall time, and the process's CPU time (all threads): on a shared machine the CPU time of a step
    // moves far less with the neighbours' load than its wall time.
    std::vector<double> ms, cpu_ms;
    // Per phase (--phases): zero_grad, forward, loss, backward, optimizer step. The extra clock reads cost
    // ~0.1 us.
    const char* phase_names[] = {"zero_grad", "forward", "loss", "backward", "optimizer"};
    std::vector<double> phase_ms[5];
    float loss_value = 0;
    BusyCore busy(o.busy_core);
    for (int64_t step = 0; step < o.warmup + o.steps; ++step) {
      fcn::Batch b = data.batch(step * o.batch % data.size(), o.batch);
      Clock::time_point t[6];
      t[0] = Clock::now();
      const std::clock_t c0 = std::clock();
      opt->zero_grad();
      if (o.phases) t[1] = Clock::now();
      // As PyTorch's autocast: forward and loss inside the guard, backward outside.
      std::optional<AutocastGuard> autocast;
      if (o.bf16) autocast.emplace(DType::BFloat16);
      Tensor logits = model.forward(b.images);
      if (o.phases) t[2] = Clock::now();
      Tensor loss = cross_entropy(logits, b.labels);
      autocast.reset();
      if (o.phases) t[3] = Clock::now();
      loss.backward();
      if (o.phases) t[4] = Clock::now();
      opt->step();
      t[5] = Clock::now();
      if (step >= o.warmup) {
        ms.push_back(ms_between(t[0], t[5]));
        cpu_ms.push_back(1e3 * double(std::clock() - c0) / CLOCKS_PER_SEC);
        if (o.phases)
          for (int k = 0; k < 5; ++k) phase_ms[k].push_back(ms_between(t[k], t[k + 1]));
      }
      loss_value = loss.item<float>();
    }
    busy.stop();
    const double med = median(ms);
    std::string phases;
    if (o.phases)
      for (int k = 0; k < 5; ++k)
        phases += fmt::format(", \"{}_ms\": {:.3f}", phase_names[k], median(phase_ms[k]));
    std::printf(
        "{\"impl\": \"convgrad-%s\", \"model\": \"tinyfcn%s\", \"opt\": \"%s\", \"threads\": %d, \"batch\": "
        "%lld, "
        "\"steps\": %lld, \"precision\": \"%s\", \"step_ms\": %.3f, \"step_cpu_ms\": %.3f, \"images_per_s\": %.1f, \"peak_rss_mb\": "
        "%.1f, "
        "\"final_loss\": %.4f%s%s}\n",
        current_backend().c_str(), o.skips ? "-skips" : "", o.opt.c_str(), get_num_threads(),
        (long long)o.batch, (long long)o.steps, o.bf16 ? "bf16" : "fp32", med, median(cpu_ms),
        o.batch / med * 1e3, peak_rss_mb(), loss_value, phases.c_str(),
        o.busy_core ? ", \"busy_core\": true" : "");
  } catch (const Error& e) {
    std::fprintf(stderr, "trainbench: %s\n", e.what());
    return 1;
  }
  return 0;
}
