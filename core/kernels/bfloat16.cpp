// float32 <-> bfloat16 over arrays: the element rules are in core/bfloat16.h. Plain loops the compiler
// vectorises (integer adds and shifts), split over the threads for large arrays.
#include "core/bfloat16.h"

#include <omp.h>

#include "core/threading.h"

namespace convgrad::kernels {

namespace {

// Below this many elements one thread converts alone (a fork-join costs more than the loop).
constexpr int64_t kParallelElements = 1 << 16;

template <class F>
void parallel_range(int64_t n, F f) {
  if (n < kParallelElements) {
    f(int64_t{0}, n);
    return;
  }
#pragma omp parallel num_threads(get_num_threads())
  {
    const int64_t parts = omp_get_num_threads(), me = omp_get_thread_num();
    f(n * me / parts, n * (me + 1) / parts);
  }
}

}  // namespace

void round_to_bfloat16(const float* in, float* out, int64_t n) {
  parallel_range(n, [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) out[i] = convgrad::round_to_bfloat16(in[i]);
  });
}

void float_to_bfloat16(const float* in, BFloat16* out, int64_t n) {
  parallel_range(n, [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) out[i] = to_bfloat16(in[i]);
  });
}

void bfloat16_to_float(const BFloat16* in, float* out, int64_t n) {
  parallel_range(n, [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) out[i] = to_float(in[i]);
  });
}

}  // namespace convgrad::kernels
