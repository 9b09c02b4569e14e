// l1_loss and smooth_l1_loss: one pass forward (the loss and the derivative per element), the
// backward scales the saved derivative by the upstream gradient.
#include <cmath>

#include "autograd/grad_mode.h"
#include "autograd/node.h"
#include "autograd/ops_loss.h"
#include "autograd/ops_math.h"
#include "core/factory.h"
#include "core/operand_check.h"
#include "core/threading.h"

namespace convgrad {

namespace {

// The backward as differentiable ops, for create_graph: (c + k d) * up for the input and (c_t - k d) * up
// for the target, where c, c_t, k hold the constant parts and slopes (no history) and d = input - target
// and the upstream gradient `up` keep theirs.
template <class F>
std::vector<Tensor> grads_with_graph(const F& f, const Tensor& input, const Tensor& target,
                                     const Tensor& deriv, const Tensor& deriv_t, const Tensor& up) {
  Tensor a = contiguous_data(input), b = contiguous_data(target);
  const int64_t n = a.numel();
  Tensor c = uninitialized(a.shape()), slope = uninitialized(a.shape());
  Tensor c_t = deriv_t.defined() ? uninitialized(a.shape()) : Tensor();
  const float *pa = a.data<float>(), *pb = b.data<float>(), *pd = deriv.data<float>();
  const float* pdt = deriv_t.defined() ? deriv_t.data<float>() : nullptr;
  float *pc = c.data<float>(), *pk = slope.data<float>(), *pct = c_t.defined() ? c_t.data<float>() : nullptr;
  for (int64_t i = 0; i < n; ++i) {
    float loss, di, dt, k;
    f(pa[i] - pb[i], loss, di, dt, k);
    pk[i] = k;
    pc[i] = k == 0.f ? pd[i] : 0.f;
    if (pct) pct[i] = k == 0.f ? pdt[i] : 0.f;
  }
  Tensor d = input - target;
  Tensor gi = (c + slope * d) * up;
  Tensor gt = c_t.defined() ? (c_t - slope * d) * up : Tensor();
  return {gi, gt};
}

// The shared body: `f(d, loss, di, dt, k)` gives the loss of one difference d = input - target, its
// derivatives d loss / d input and d loss / d target (dt = -di except where PyTorch's rule differs),
// and their slope k. The rule that makes the double backward exact: each derivative is either a
// constant (k = 0) or linear through zero in d (di = k d, dt = -k d).
template <class F>
Tensor pointwise_loss(const char* op, const Tensor& input, const Tensor& target, Reduction reduction, F f) {
  check_operand(input, op, "input");
  check_operand(target, op, "target");
  CONVGRAD_CHECK(input.shape() == target.shape(), "{}: input shape {} and target shape {} must match", op,
                 shape_str(input.shape()), shape_str(target.shape()));
  Tensor a = contiguous_data(input), b = contiguous_data(target);
  const int64_t n = a.numel();
  const bool want_target = target.requires_grad();
  Tensor deriv = uninitialized(a.shape());
  Tensor deriv_t = want_target ? uninitialized(a.shape()) : Tensor();
  Tensor per = reduction == Reduction::None ? uninitialized(a.shape()) : Tensor();
  const float* pa = a.data<float>();
  const float* pb = b.data<float>();
  float* pd = deriv.data<float>();
  float* pdt = want_target ? deriv_t.data<float>() : nullptr;
  float* pl = per.defined() ? per.data<float>() : nullptr;
  double total = 0.0;  // summed in order, in double: the same bits for any thread count
  for (int64_t i = 0; i < n; ++i) {
    float loss, di, dt, k;
    f(pa[i] - pb[i], loss, di, dt, k);
    pd[i] = di;
    if (pdt) pdt[i] = dt;
    if (pl) pl[i] = loss;
    total += loss;
  }
  Tensor out = per;
  if (reduction != Reduction::None) {
    // The mean over no elements is 0: Note [Empty mean] in autograd/ops_loss.h.
    if (reduction == Reduction::Mean) total = n == 0 ? 0.0 : total / static_cast<double>(n);
    out = full({}, total);
  }
  const float scale =
      reduction == Reduction::Mean && n > 0 ? static_cast<float>(1.0 / static_cast<double>(n)) : 1.f;
  return make_result(
      out, {input, target}, op,
      [deriv, deriv_t, reduction, scale, f, xs = save(input), ts = save(target)](const Tensor& g) {
        if (GradMode::is_enabled())  // create_graph
          return grads_with_graph(f, xs.unpack(), ts.unpack(), deriv, deriv_t,
                                  reduction == Reduction::None ? g : g * scale);
        Tensor gi = uninitialized(deriv.shape());
        Tensor up = reduction == Reduction::None ? contiguous_data(g) : Tensor();
        const float* pu = up.defined() ? up.data<float>() : nullptr;
        const float s = pu ? 1.f : g.item<float>() * scale;
        const float* pd = deriv.data<float>();
        float* po = gi.data<float>();
        const int64_t n = deriv.numel();
#pragma omp parallel for num_threads(get_num_threads()) schedule(static)
        for (int64_t i = 0; i < n; ++i) po[i] = pd[i] * (pu ? pu[i] : s);
        Tensor gt;
        if (deriv_t.defined()) {
          gt = uninitialized(deriv.shape());
          const float* pdt = deriv_t.data<float>();
          float* pt = gt.data<float>();
          for (int64_t i = 0; i < n; ++i) pt[i] = pdt[i] * (pu ? pu[i] : s);
        }
        return std::vector<Tensor>{gi, gt};
      },
      DoubleBackward::Supported);
}

float sign(float d) { return d > 0.f ? 1.f : d < 0.f ? -1.f : d; }  // NaN stays NaN

}  // namespace

Tensor l1_loss(const Tensor& input, const Tensor& target, Reduction reduction) {
  return pointwise_loss("l1_loss", input, target, reduction,
                        [](float d, float& loss, float& di, float& dt, float& k) {
                          loss = std::fabs(d);
                          di = sign(d);
                          dt = -di;
                          k = 0.f;
                        });
}

Tensor smooth_l1_loss(const Tensor& input, const Tensor& target, Reduction reduction, double beta) {
  CONVGRAD_CHECK(!(beta < 0.0) && std::isfinite(beta),
                 "smooth_l1_loss: beta must be a finite number >= 0, got {} (0 gives the L1 loss)", beta);
  const float b = static_cast<float>(beta);
  return pointwise_loss("smooth_l1_loss", input, target, reduction,
                        [b](float d, float& loss, float& di, float& dt, float& k) {
                          const float z = std::fabs(d);
                          loss = z < b ? 0.5f * z * z / b : z - 0.5f * b;
                          // PyTorch's backward, for each argument with x = (that argument) - (the other):
                          // x <= -beta ? -1 : x >= beta ? 1 : x / beta. With beta = 0 both derivatives are -1
                          // where input == target (not 0 as for l1_loss), and NaN stays NaN.
                          auto deriv = [b](float x) { return x <= -b ? -1.f : x >= b ? 1.f : x / b; };
                          di = deriv(d);
                          dt = deriv(-d);
                          k = z < b ? 1.f / b : 0.f;
                        });
}

}  // namespace convgrad
