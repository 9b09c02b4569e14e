#include "runtime.h"

#include <fmt/format.h>

#include <cstdlib>  // defines __GLIBC__ on glibc
#include <fstream>
#include <string>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace convgrad::example {

void keep_freed_memory() {
#if defined(__GLIBC__)
  mallopt(M_MMAP_THRESHOLD, 32 << 20);  // blocks below 32 MiB (the largest allowed) come from the heap
  mallopt(M_TRIM_THRESHOLD, 1 << 30);   // keep up to 1 GiB of free heap instead of trimming it
  mallopt(M_TOP_PAD, 64 << 20);         // grow the heap in 64 MiB steps
#endif
}

std::string busy_machine_hint(int threads) {
  if (threads <= 1) return "";
  // The 4th field of /proc/loadavg is "running/total" right now (ourselves included), unlike the
  // load averages, which still remember a build that just finished.
  std::ifstream in("/proc/loadavg");
  std::string l1, l5, l15, running;
  if (!(in >> l1 >> l5 >> l15 >> running)) return "";
  int now = std::atoi(running.c_str()) - 1;
  if (now <= 0) return "";
  return fmt::format("note: {} other process{} running; with --threads {} every step waits for its slowest "
                     "thread, so on a busy machine --threads 1 may be faster",
                     now, now == 1 ? " is" : "es are", threads);
}

}  // namespace convgrad::example
