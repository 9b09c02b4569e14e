#include "core/cpu_load.h"

#include <sched.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>

namespace convgrad {

namespace {

// Busy ticks (user, nice, system, irq, softirq, steal: everything but idle and iowait; guest time is
// already inside user) summed over the CPUs in `mask`; -1 when /proc/stat cannot be read.
long long busy_ticks(const cpu_set_t& mask) {
  std::FILE* f = std::fopen("/proc/stat", "r");
  if (!f) return -1;
  long long total = 0;
  bool any = false;
  char line[512];
  while (std::fgets(line, sizeof line, f)) {
    int cpu = -1;
    long long user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0;
    if (std::strncmp(line, "cpu", 3) != 0) break;  // the cpu lines come first
    if (std::sscanf(line, "cpu%d %lld %lld %lld %lld %lld %lld %lld %lld", &cpu, &user, &nice, &system, &idle,
                    &iowait, &irq, &softirq, &steal) < 8)
      continue;  // the aggregate "cpu " line
    if (cpu < 0 || cpu >= CPU_SETSIZE || !CPU_ISSET(cpu, &mask)) continue;
    total += user + nice + system + irq + softirq + steal;
    any = true;
  }
  std::fclose(f);
  return any ? total : -1;
}

double own_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return double(ts.tv_sec) + 1e-9 * double(ts.tv_nsec);
}

cpu_set_t affinity_mask() {
  cpu_set_t mask;
  CPU_ZERO(&mask);
  if (sched_getaffinity(0, sizeof mask, &mask) != 0) CPU_ZERO(&mask);
  return mask;
}

}  // namespace

int CpuLoadSampler::usable_cpus() {
  const cpu_set_t mask = affinity_mask();
  return std::max(1, CPU_COUNT(&mask));
}

std::optional<double> CpuLoadSampler::others_busy_cores() {
  const cpu_set_t mask = affinity_mask();
  const long long busy = busy_ticks(mask);
  const double own = own_cpu_seconds();
  const auto wall = std::chrono::steady_clock::now();
  if (busy < 0) {
    have_previous_ = false;
    return std::nullopt;
  }
  std::optional<double> result;
  const double seconds = std::chrono::duration<double>(wall - wall_).count();
  if (have_previous_ && seconds > 0) {
    static const double ticks_per_s = double(std::max(1L, sysconf(_SC_CLK_TCK)));
    const double others = double(busy - busy_ticks_) / ticks_per_s - (own - own_cpu_s_);
    result = std::max(0.0, others / seconds);
  }
  have_previous_ = true;
  busy_ticks_ = busy;
  own_cpu_s_ = own;
  wall_ = wall;
  return result;
}

int threads_for_load(int cpus, double others_busy) {
  if (!(others_busy >= 0)) others_busy = 0;  // NaN or negative: no evidence of load
  const double taken = std::min(double(cpus), std::floor(others_busy + 0.5));
  return std::max(1, cpus - int(taken));
}

}  // namespace convgrad
