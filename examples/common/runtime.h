// Process-level helpers for the examples' training loops: a busy-machine hint.
#pragma once

#include <string>

namespace convgrad::example {

/// A one-line hint when other processes are running right now and `threads` > 1, else "".
/// Multi-threaded kernels wait for their slowest thread at every step, so on a busy machine
/// (e.g. while something compiles) --threads 1 can be several times faster than 2.
std::string busy_machine_hint(int threads);

}  // namespace convgrad::example
