#include "runtime.h"

#include <fmt/format.h>

#include <cstdlib>
#include <fstream>
#include <string>

namespace convgrad::example {

std::string busy_machine_hint(int threads) {
  if (threads <= 1) return "";
  // The 4th field of /proc/loadavg is "running/total" right now (ourselves included), unlike the
  // load averages, which still remember a build that just finished.
  std::ifstream in("/proc/loadavg");
  std::string l1, l5, l15, running;
  if (!(in >> l1 >> l5 >> l15 >> running)) return "";
  int now = std::atoi(running.c_str()) - 1;
  if (now <= 0) return "";
  return fmt::format(
      "note: {} other process{} running; with --threads {} every step waits for its slowest "
      "thread, so on a busy machine --threads 1 may be faster",
      now, now == 1 ? " is" : "es are", threads);
}

}  // namespace convgrad::example
