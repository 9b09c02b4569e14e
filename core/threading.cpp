#include "core/threading.h"

#include <omp.h>
#include <strings.h>
#include <time.h>

#include <atomic>
#include <cstdlib>
#include <mutex>

#include "core/cpu_load.h"
#include "core/error.h"

namespace convgrad {

namespace {

// How often the default thread count looks at the load again: /proc/stat ticks 100 times a second,
// so a shorter interval measures mostly rounding, and one read costs tens of microseconds.
constexpr long long kResampleNs = 250'000'000;

// OpenMP keeps its thread count per thread (a new std::thread starts from OMP_NUM_THREADS or the core
// count, whatever another thread set), so the setting lives here and each thread copies it into OpenMP
// when it differs from what that thread last applied: one relaxed load and a compare per call.
struct Setting {
  std::atomic<int> n;
  std::atomic<bool> automatic;  // the default: follows the load (no OMP_NUM_THREADS, no set_num_threads)
  bool passive_waits;           // OMP_WAIT_POLICY=passive: waiting threads sleep, the default keeps every CPU
  std::atomic<long long> next_sample_ns{0};
  std::mutex sampler_mutex;  // guards sampler; held only by the one thread taking a sample
  CpuLoadSampler sampler;
  Setting() {
    const char* policy = std::getenv("OMP_WAIT_POLICY");
    passive_waits = policy && strcasecmp(policy, "passive") == 0;
    const char* env = std::getenv("OMP_NUM_THREADS");
    automatic.store(env == nullptr || *env == '\0');
    n.store(automatic.load() ? CpuLoadSampler::usable_cpus() : omp_get_max_threads());
  }
};

Setting& setting() {
  static Setting s;
  return s;
}

long long coarse_now_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
  return ts.tv_sec * 1'000'000'000LL + ts.tv_nsec;
}

// The default thread count: every usable CPU, less one for each CPU another process keeps busy.
// OpenMP threads wait for each other at every barrier, spinning first (libgomp's default), so a
// team with more threads than free cores runs at the pace of its descheduled member while the others
// burn the time it needs; one thread fewer than the cores in use loses little when the load goes away.
// With OMP_WAIT_POLICY=passive a waiting thread sleeps at once and gives its core to the late member,
// so a full team loses little to a busy neighbour and keeps its share of a crowded machine: the
// default then stays at every CPU. The wait policy itself (OMP_WAIT_POLICY, GOMP_SPINCOUNT) is the
// user's: libgomp reads it once, when it is loaded, before any code of this library can run.
void follow_load(Setting& s) {
  const long long now = coarse_now_ns();
  if (now < s.next_sample_ns.load(std::memory_order_relaxed)) return;
  std::unique_lock lock(s.sampler_mutex, std::try_to_lock);
  if (!lock.owns_lock() || now < s.next_sample_ns.load(std::memory_order_relaxed)) return;
  s.next_sample_ns.store(now + kResampleNs, std::memory_order_relaxed);
  if (std::optional<double> others = s.sampler.others_busy_cores())
    if (s.automatic.load(std::memory_order_relaxed) && !s.passive_waits)
      s.n.store(threads_for_load(CpuLoadSampler::usable_cpus(), *others), std::memory_order_relaxed);
}

thread_local int t_guard = 0;    // this thread's NumThreadsGuard value; 0 when none
thread_local int t_applied = 0;  // what this thread last gave omp_set_num_threads; 0 before the first call

}  // namespace

void set_num_threads(int n) {
  CONVGRAD_CHECK(n >= 1, "set_num_threads: expected a positive thread count, got {}", n);
  Setting& s = setting();
  s.automatic.store(false, std::memory_order_relaxed);
  s.n.store(n, std::memory_order_relaxed);
  get_num_threads();  // apply it on this thread now (oneDNN's engine reads OpenMP's setting)
}

void reset_num_threads() {
  Setting& s = setting();
  {
    std::lock_guard lock(s.sampler_mutex);
    s.sampler = CpuLoadSampler{};  // no interval spans the fixed setting
    s.next_sample_ns.store(0, std::memory_order_relaxed);
    s.n.store(CpuLoadSampler::usable_cpus(), std::memory_order_relaxed);
    s.automatic.store(true, std::memory_order_relaxed);
  }
  get_num_threads();
}

bool num_threads_follow_load() { return setting().automatic.load(std::memory_order_relaxed); }

int get_num_threads() {
  // The process-wide value is read even under a guard: its first read takes OpenMP's default from a
  // thread whose own setting convgrad has not changed yet.
  Setting& s = setting();
  if (!t_guard && s.automatic.load(std::memory_order_relaxed)) follow_load(s);
  const int process = s.n.load(std::memory_order_relaxed);
  const int n = t_guard ? t_guard : process;
  if (n != t_applied) {
    // oneDNN's CPU engine is built on OpenMP here, so this one call reaches both backends.
    omp_set_num_threads(n);
    t_applied = n;
  }
  return n;
}

NumThreadsGuard::NumThreadsGuard(int n) : saved_(t_guard) {
  CONVGRAD_CHECK(n >= 1, "NumThreadsGuard: expected a positive thread count, got {}", n);
  t_guard = n;
  get_num_threads();
}

NumThreadsGuard::~NumThreadsGuard() {
  t_guard = saved_;
  get_num_threads();
}

}  // namespace convgrad
