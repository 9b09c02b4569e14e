#include "core/threading.h"

#include <omp.h>

#include "core/error.h"

namespace convgrad {

void set_num_threads(int n) {
  check(n >= 1, "set_num_threads: expected a positive thread count, got {}", n);
  // oneDNN's CPU engine is built on OpenMP here, so this one call reaches both backends.
  omp_set_num_threads(n);
}

int get_num_threads() { return omp_get_max_threads(); }

}  // namespace convgrad
