// How busy other processes keep the CPUs this process may run on.
#pragma once

#include <chrono>
#include <optional>

namespace convgrad {

/// Measures, between two calls, the CPU time that other processes (and, under a hypervisor, other
/// machines: steal time) took on the CPUs in this process's affinity mask, in cores' worth: 1.0 means
/// one of those CPUs was busy with something else for the whole interval. Reads /proc/stat (whose
/// counters tick at USER_HZ, 100 per second: intervals under ~100 ms are too coarse to mean much) and
/// subtracts this process's own CPU time, so convgrad's own threads, spinning or not, never count.
class CpuLoadSampler {
 public:
  /// The CPUs in this process's affinity mask (at least 1).
  static int usable_cpus();
  /// Other processes' busy cores since the previous call; nullopt on the first call or when
  /// /proc/stat cannot be read (then there is no evidence of load).
  std::optional<double> others_busy_cores();

 private:
  bool have_previous_ = false;
  long long busy_ticks_ = 0;  // summed over the mask's CPUs
  double own_cpu_s_ = 0;      // this process's CPU time
  std::chrono::steady_clock::time_point wall_;
};

/// The thread count to use on `cpus` CPUs while other processes keep `others_busy` cores' worth of
/// them busy: one thread fewer for each core they take (rounded to nearest), never under 1.
int threads_for_load(int cpus, double others_busy);

}  // namespace convgrad
