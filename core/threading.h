// One thread setting obeyed by every backend.
#pragma once

namespace convgrad {

/// Threads every kernel may use (OpenMP and oneDNN); defaults to OMP_NUM_THREADS or the core count.
void set_num_threads(int n);
/// The current thread setting.
int get_num_threads();

}  // namespace convgrad
