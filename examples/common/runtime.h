// Process-level settings for the examples' training loops: memory reuse and a busy-machine hint.
#pragma once

#include <string>

namespace convgrad::example {

/// Asks glibc's malloc to keep freed memory for reuse instead of handing it back to the kernel.
/// Every training step allocates (and frees) many activation and gradient buffers of a few MB;
/// by default glibc serves those with fresh mmap()s, and each one costs page faults and kernel
/// page zeroing (about 20 % of a small TinyFCN step). With these settings they come from the heap.
/// Harmless elsewhere; a no-op on other C libraries.
void keep_freed_memory();

/// A one-line hint when other processes are running right now and `threads` > 1, else "".
/// Multi-threaded kernels wait for their slowest thread at every step, so on a busy machine
/// (e.g. while something compiles) --threads 1 can be several times faster than 2.
std::string busy_machine_hint(int threads);

}  // namespace convgrad::example
