// One thread setting obeyed by every backend.
#pragma once

namespace convgrad {

/// Threads every kernel may use (OpenMP and oneDNN), process-wide: every thread sees the new value, also
/// one started later. Fixes the count: it no longer follows the load (see reset_num_threads).
void set_num_threads(int n);
/// Returns to the default count, the one in effect at start-up unless OMP_NUM_THREADS fixes it: the
/// CPUs this process may run on, less one for each of them that other processes keep busy (measured
/// from /proc/stat every quarter second). Reason: OpenMP threads meet at a barrier after every
/// parallel loop, so a team larger than the free cores waits at each one for its descheduled member,
/// and libgomp's waiting threads spin meanwhile, taking the CPU that member needs. Under
/// OMP_WAIT_POLICY=passive waiting threads sleep instead, and the default is every usable CPU. The
/// wait policy stays the user's: libgomp reads it when it is loaded, before this library can set it.
void reset_num_threads();
/// True while the thread count is the default that follows the load.
bool num_threads_follow_load();
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
