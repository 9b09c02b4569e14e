// One thread setting obeyed by every backend.
#pragma once

namespace convgrad {

/// Threads every kernel may use (OpenMP and oneDNN), process-wide: every thread sees the new value, also
/// one started later. Defaults to OMP_NUM_THREADS or the core count.
void set_num_threads(int n);
/// The calling thread's setting: its NumThreadsGuard's value inside one, else the process-wide one.
/// Also makes OpenMP's own per-thread setting on this thread match, so a parallel region opened after
/// this call (convgrad's kernels and oneDNN call it first) uses this many threads.
int get_num_threads();

/// Sets the calling thread's kernel thread count for the guard's lifetime, over the process-wide setting
/// (other threads are unaffected); restores the previous one when destroyed. Data loader workers use it.
class NumThreadsGuard {
 public:
  explicit NumThreadsGuard(int n);
  ~NumThreadsGuard();
  NumThreadsGuard(const NumThreadsGuard&) = delete;
  NumThreadsGuard& operator=(const NumThreadsGuard&) = delete;

 private:
  int saved_;
};

}  // namespace convgrad
