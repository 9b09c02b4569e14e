#include "core/threading.h"

#include <omp.h>

#include <atomic>

#include "core/error.h"

namespace convgrad {

namespace {

// OpenMP keeps its thread count per thread (a new std::thread starts from OMP_NUM_THREADS or the core
// count, whatever another thread set), so the setting lives here and each thread copies it into OpenMP
// when it differs from what that thread last applied: one relaxed load and a compare per call.
std::atomic<int>& process_setting() {
  static std::atomic<int> n{omp_get_max_threads()};
  return n;
}
thread_local int t_guard = 0;    // this thread's NumThreadsGuard value; 0 when none
thread_local int t_applied = 0;  // what this thread last gave omp_set_num_threads; 0 before the first call

}  // namespace

void set_num_threads(int n) {
  check(n >= 1, "set_num_threads: expected a positive thread count, got {}", n);
  process_setting().store(n, std::memory_order_relaxed);
  get_num_threads();  // apply it on this thread now (oneDNN's engine reads OpenMP's setting)
}

int get_num_threads() {
  // The process-wide value is read even under a guard: its first read takes OpenMP's default from a
  // thread whose own setting convgrad has not changed yet.
  const int process = process_setting().load(std::memory_order_relaxed);
  const int n = t_guard ? t_guard : process;
  if (n != t_applied) {
    // oneDNN's CPU engine is built on OpenMP here, so this one call reaches both backends.
    omp_set_num_threads(n);
    t_applied = n;
  }
  return n;
}

NumThreadsGuard::NumThreadsGuard(int n) : saved_(t_guard) {
  check(n >= 1, "NumThreadsGuard: expected a positive thread count, got {}", n);
  t_guard = n;
  get_num_threads();
}

NumThreadsGuard::~NumThreadsGuard() {
  t_guard = saved_;
  get_num_threads();
}

}  // namespace convgrad
