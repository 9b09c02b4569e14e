// sum_to: the reduction that undoes broadcasting (every broadcasting backward ends with it).
#include <omp.h>

#include "core/factory.h"
#include "core/kernels/elementwise.h"
#include "core/operand_check.h"
#include "core/threading.h"

namespace convgrad::kernels {

namespace {

// Per-thread accumulators are used above this many output elements only when cheap enough.
constexpr int64_t kMaxPrivateAccumulator = 1 << 18;

// Accumulates x into acc (laid out like the contiguous output), walking x in memory order.
template <class T, class Acc>
void accumulate(const LoopPlan& plan, const T* px, std::vector<std::vector<Acc>>& acc) {
  for_each_run<2>(
      plan,
      [&](const RunIndex<2>& off, const RunIndex<2>& st, int64_t n) {
        Acc* a = acc[acc.size() == 1 ? 0 : omp_get_thread_num()].data() + off[0];
        const T* p = px + off[1];
        if (st[0] == 0) {  // the whole run lands on one output element
          // Four partial sums break the add latency chain (the compiler may not reorder them itself).
          Acc s[4] = {0, 0, 0, 0};
          int64_t i = 0;
          for (; i + 4 <= n; i += 4)
            for (int64_t j = 0; j < 4; ++j) s[j] += static_cast<Acc>(p[(i + j) * st[1]]);
          for (; i < n; ++i) s[0] += static_cast<Acc>(p[i * st[1]]);
          *a += (s[0] + s[1]) + (s[2] + s[3]);
        } else {
          for (int64_t i = 0; i < n; ++i) a[i * st[0]] += static_cast<Acc>(p[i * st[1]]);
        }
      },
      acc.size() > 1, static_cast<int>(acc.size()));
}

template <class T, class Acc>
Tensor sum_to_typed(const Tensor& x, const Shape& shape) {
  Tensor out = uninitialized(shape, x.dtype());
  const int64_t k = out.numel(), total = x.numel();
  LoopPlan plan = plan_loop(x.shape(), {broadcast_strides(shape, out.strides(), x.shape()), x.strides()});
  // Large inputs: one private accumulator per thread (for_each_run splits by thread), summed at the end.
  int nbuf = total > kParallelThreshold && k <= kMaxPrivateAccumulator ? get_num_threads() : 1;
  std::vector<std::vector<Acc>> acc(nbuf, std::vector<Acc>(static_cast<size_t>(k), Acc(0)));
  // With a single buffer the walk stays serial so no two threads add into one element.
  accumulate<T, Acc>(plan, x.data<T>(), acc);
  T* po = out.data<T>();
  for (int64_t i = 0; i < k; ++i) {
    Acc s = 0;
    for (int b = 0; b < nbuf; ++b) s += acc[b][i];
    po[i] = static_cast<T>(s);
  }
  return out;
}

}  // namespace

Tensor sum_to(const Tensor& x, const Shape& shape) {
  CONVGRAD_CHECK(x.defined(), "sum_to: the tensor is undefined");
  reject_bfloat16(x, "sum_to", "input");
  if (x.shape() == shape) return x;
  const Shape& xs = x.shape();
  bool ok = shape.size() <= xs.size();
  for (size_t i = 0; ok && i < shape.size(); ++i) {
    int64_t s = shape[shape.size() - 1 - i], t = xs[xs.size() - 1 - i];
    ok = s == t || s == 1;
  }
  CONVGRAD_CHECK(
      ok, "sum_to: shape {} cannot be summed down to {} (the target must broadcast to the input's shape)",
      shape_str(xs), shape_str(shape));
  if (x.dtype() == DType::Float32) return sum_to_typed<float, double>(x, shape);
  return sum_to_typed<int64_t, int64_t>(x, shape);
}

}  // namespace convgrad::kernels
