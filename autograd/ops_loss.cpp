// Losses as fused ops: a raw-loop forward over contiguous data and a closed-form backward closure.
#include "autograd/ops_loss.h"

#include <algorithm>
#include <cmath>

#include "autograd/grad_mode.h"
#include "autograd/node.h"
#include "autograd/ops_math.h"
#include "autograd/ops_reduce.h"
#include "autograd/ops_shape.h"
#include "core/factory.h"
#include "core/kernels/cross_entropy.h"
#include "core/kernels/elementwise.h"
#include "core/operand_check.h"

namespace convgrad {

namespace {

// Combines per-element losses: a tensor of `shape` (None), or a 0-d sum / sum / divisor.
Tensor reduce(const std::vector<float>& losses, const Shape& shape, Reduction r, double divisor) {
  if (r == Reduction::None) return from_vector(losses, shape);
  double s = 0.0;
  for (float l : losses) s += l;
  // The mean over no elements is 0: Note [Empty mean] in autograd/ops_loss.h.
  if (r == Reduction::Mean) s = losses.empty() ? 0.0 : s / divisor;
  return from_vector(std::vector<float>{static_cast<float>(s)}, {});
}

// The upstream gradient as one value per element: g broadcast from a scalar (Mean/Sum) or read row-major.
std::vector<float> upstream(const Tensor& grad_out, int64_t n, Reduction r) {
  if (r != Reduction::None) return std::vector<float>(static_cast<size_t>(n), grad_out.item<float>());
  return grad_out.to_vector<float>();
}

// Renders a flat position of `shape` as "[i, j, k]" for error messages.
std::string index_str(int64_t flat, const Shape& shape) {
  Shape idx(shape.size());
  for (int64_t d = static_cast<int64_t>(shape.size()) - 1; d >= 0; --d) {
    idx[d] = flat % shape[d];
    flat /= shape[d];
  }
  return shape_str(idx);
}

float stable_sigmoid(float x) {
  if (x >= 0) return 1.f / (1.f + std::exp(-x));
  float e = std::exp(x);
  return e / (1.f + e);
}

// log(1 + exp(-x)) without overflow.
float softplus_neg(float x) { return std::max(-x, 0.f) + std::log1p(std::exp(-std::abs(x))); }

// log(1 + exp(-x)) as differentiable ops, stable for any x: relu(-x) + log(1 + exp(-|x|)), with |x| taken
// as x where x >= 0 so that its slope at 0 is the true one (-1/2; abs's subgradient 0 would give 0).
Tensor softplus_neg_with_graph(const Tensor& x) {
  Tensor a = where(ge(x, full({}, 0.0)), x, -x);
  return relu(-x) + log(exp(-a) + 1.f);
}

// binary_cross_entropy_with_logits's gradient as differentiable ops, for create_graph, with the
// broadcast pos_weight p held constant: (lw sigmoid(x) - p t) up for the input, lw = 1 + (p - 1) t,
// and ((p - 1) log(1 + exp(-x)) - x) up for the target.
std::vector<Tensor> bce_with_logits_grads_with_graph(const Tensor& x, const Tensor& t, const Tensor& p,
                                                     bool want_target, const Tensor& up) {
  Tensor lw = (p - 1.f) * t + 1.f;
  Tensor gi = (lw * sigmoid(x) - p * t) * up;
  Tensor gt = want_target ? ((p - 1.f) * softplus_neg_with_graph(x) - x) * up : Tensor();
  return {gi, gt};
}

// cross_entropy's gradient as differentiable ops on the logits, for create_graph:
// coef * (softmax(x) - onehot(y)), coef = upstream * w[y] (over the weight sum for Mean), 0 where ignored.
Tensor cross_entropy_grad_with_graph(const Tensor& logits, const Tensor& target, const std::vector<float>& w,
                                     int64_t ignore_index, Reduction r, double weight_sum, const Tensor& g) {
  const Shape& ls = logits.shape();
  const int64_t N = ls[0], C = ls[1], S = shape_numel(Shape(ls.begin() + 2, ls.end()));
  Shape per_sample = ls;
  per_sample[1] = 1;
  Tensor onehot = zeros(ls), wy = zeros(per_sample);
  const int64_t* t = target.data<int64_t>();
  float *oh = onehot.data<float>(), *pw = wy.data<float>();
  for (int64_t i = 0; i < N * S; ++i) {
    const int64_t c = t[i], n = i / S, s = i % S;
    if (c == ignore_index) continue;
    oh[(n * C + c) * S + s] = 1.f;
    pw[i] = w[static_cast<size_t>(c)];
  }
  Tensor up = r == Reduction::None   ? reshape(g, per_sample)
              : r == Reduction::Mean ? g * static_cast<float>(weight_sum > 0 ? 1.0 / weight_sum : 0.0)
                                     : g;
  return (softmax(logits, 1) - onehot) * wy * up;
}

}  // namespace

const char* reduction_name(Reduction r) {
  return r == Reduction::None ? "none" : r == Reduction::Mean ? "mean" : "sum";
}

Tensor cross_entropy(const Tensor& logits, const Tensor& target, const CrossEntropyOptions& options) {
  check_operand(logits, "cross_entropy", "logits");
  CONVGRAD_CHECK(logits.dim() >= 2, "cross_entropy: logits must be (N, C) or (N, C, d1, ...), got shape {}",
                 shape_str(logits.shape()));
  CONVGRAD_CHECK(
      target.defined() && target.dtype() == DType::Int64,
      "cross_entropy: target must be an int64 tensor of class indices, got {}; convert labels with "
      "to_dtype(target, DType::Int64)",
      target.defined() ? dtype_name(target.dtype()) : "an undefined tensor");
  const Shape& ls = logits.shape();
  Shape tshape{ls[0]};
  tshape.insert(tshape.end(), ls.begin() + 2, ls.end());
  CONVGRAD_CHECK(target.shape() == tshape,
                 "cross_entropy: target shape {} does not match logits {} (expected {})",
                 shape_str(target.shape()), shape_str(ls), shape_str(tshape));
  const int64_t N = ls[0], C = ls[1], S = shape_numel(Shape(ls.begin() + 2, ls.end()));
  CONVGRAD_CHECK(C > 0, "cross_entropy: logits {} have no classes", shape_str(ls));
  std::vector<float> w(static_cast<size_t>(C), 1.f);
  if (options.weight().defined()) {
    check_operand(options.weight(), "cross_entropy", "weight");
    CONVGRAD_CHECK(options.weight().shape() == Shape{C},
                   "cross_entropy: weight has shape {}, expected [{}] (one per class)",
                   shape_str(options.weight().shape()), C);
    w = options.weight().to_vector<float>();
  }
  Tensor y = contiguous_data(target);
  Tensor x = contiguous_data(logits.detach());
  const Reduction r = options.reduction();
  kernels::CrossEntropyGeometry geo{N, C, S, w.data(), options.ignore_index()};
  auto check_targets = [&](int64_t bad) {
    if (bad >= 0)
      fail(
          "cross_entropy: target value {} at index {} is out of range for {} classes (expected 0..{}, or "
          "ignore_index {})",
          y.data<int64_t>()[bad], index_str(bad, tshape), C, C - 1, options.ignore_index());
  };
  auto total = [&](double loss_sum, double weight_sum) {
    // The mean over no elements is 0: Note [Empty mean] in autograd/ops_loss.h.
    if (r == Reduction::Mean) loss_sum = N * S == 0 ? 0.0 : loss_sum / weight_sum;
    return full({}, static_cast<float>(loss_sum));
  };

  if (r != Reduction::None && GradMode::is_enabled() && logits.requires_grad()) {
    // One pass computes the loss and the gradient for an upstream of 1 (the Mean divisor, a weight sum, is
    // counted first); the backward only scales it, or hands it on as is for loss.backward().
    const kernels::CrossEntropySums weights = kernels::cross_entropy_weights(geo, y.data<int64_t>());
    check_targets(weights.bad_index);
    const float scale = r == Reduction::Mean ? static_cast<float>(1.0 / weights.weight) : 1.f;
    Tensor grad = uninitialized(x.shape());
    const kernels::CrossEntropySums sums = kernels::cross_entropy_forward(
        geo, x.data<float>(), y.data<int64_t>(), nullptr, nullptr, grad.data<float>(), scale);
    return make_result(
        total(sums.loss, weights.weight), {logits}, "cross_entropy",
        [grad, ls = save(logits), ys = save(y), w, ignore = options.ignore_index(), r,
         weight_sum = weights.weight](const Tensor& g) {
          if (GradMode::is_enabled())  // create_graph
            return std::vector<Tensor>{
                cross_entropy_grad_with_graph(ls.unpack(), ys.unpack(), w, ignore, r, weight_sum, g)};
          const float up = g.item<float>();
          return std::vector<Tensor>{up == 1.f ? grad : kernels::mul(grad, kernels::scalar(up))};
        },
        DoubleBackward::Supported);
  }

  // Per sample / pixel, kept for the backward: row 0 the max logit, row 1 log(sum(exp(x - max))).
  Tensor lse = uninitialized({2, N * S});
  Tensor per_element = r == Reduction::None ? uninitialized(tshape) : Tensor();
  const kernels::CrossEntropySums sums =
      kernels::cross_entropy_forward(geo, x.data<float>(), y.data<int64_t>(), lse.data<float>(),
                                     r == Reduction::None ? per_element.data<float>() : nullptr);
  check_targets(sums.bad_index);
  Tensor out = r == Reduction::None ? per_element : total(sums.loss, sums.weight);
  const double weight_sum = sums.weight;
  return make_result(
      out, {logits}, "cross_entropy",
      [xs = save(x), ys = save(y), ls = save(logits), lse, w, geo, r, weight_sum](const Tensor& g) {
        const Tensor &x = xs.unpack(), &y = ys.unpack();
        if (GradMode::is_enabled())  // create_graph
          return std::vector<Tensor>{
              cross_entropy_grad_with_graph(ls.unpack(), y, w, geo.ignore_index, r, weight_sum, g)};
        // d loss / d x = coef * (softmax(x) - onehot(y)), coef = upstream * w_y / (sum of w_y for Mean).
        Tensor up = r == Reduction::None ? contiguous_data(g) : Tensor();
        const float scale = r == Reduction::Mean ? static_cast<float>(1.0 / weight_sum) : 1.f;
        Tensor gx = uninitialized(x.shape());
        kernels::CrossEntropyGeometry gg = geo;
        gg.weight = w.data();  // the closure's own copy of the weights
        kernels::cross_entropy_backward(gg, x.data<float>(), y.data<int64_t>(), lse.data<float>(),
                                        up.defined() ? up.data<float>() : nullptr,
                                        up.defined() ? 0.f : g.item<float>(), scale, gx.data<float>());
        return std::vector<Tensor>{gx};
      },
      DoubleBackward::Supported);
}

Tensor mse_loss(const Tensor& input, const Tensor& target, Reduction reduction) {
  check_operand(input, "mse_loss", "input");
  check_operand(target, "mse_loss", "target");
  CONVGRAD_CHECK(input.shape() == target.shape(), "mse_loss: input shape {} and target shape {} must match",
                 shape_str(input.shape()), shape_str(target.shape()));
  int64_t n = input.numel();
  std::vector<float> a = input.to_vector<float>(), b = target.to_vector<float>(), diff(a.size()),
                     sq(a.size());
  for (size_t i = 0; i < a.size(); ++i) {
    diff[i] = a[i] - b[i];
    sq[i] = diff[i] * diff[i];
  }
  Tensor out = reduce(sq, input.shape(), reduction, static_cast<double>(n));
  bool want_target = target.requires_grad();
  Shape shape = input.shape();
  return make_result(
      out, {input, target}, "mse_loss",
      [diff, shape, n, reduction, want_target, input, target](const Tensor& g) {
        if (GradMode::is_enabled()) {  // create_graph: 2 (input - target) upstream, differentiable
          const float scale = reduction == Reduction::Mean ? 2.f / static_cast<float>(n) : 2.f;
          Tensor gi = (input - target) * (g * scale);
          return std::vector<Tensor>{gi, want_target ? -gi : Tensor()};
        }
        std::vector<float> up = upstream(g, n, reduction), gi(diff.size()), gt;
        float scale = reduction == Reduction::Mean ? 2.f / static_cast<float>(n) : 2.f;
        for (size_t i = 0; i < diff.size(); ++i) gi[i] = scale * diff[i] * up[i];
        if (want_target) {
          gt.resize(gi.size());
          for (size_t i = 0; i < gi.size(); ++i) gt[i] = -gi[i];
        }
        return std::vector<Tensor>{from_vector(gi, shape), want_target ? from_vector(gt, shape) : Tensor()};
      },
      DoubleBackward::Supported);
}

Tensor binary_cross_entropy_with_logits(const Tensor& input, const Tensor& target, Reduction reduction,
                                        const Tensor& pos_weight) {
  const char* op = "binary_cross_entropy_with_logits";
  check_operand(input, op, "input");
  check_operand(target, op, "target");
  CONVGRAD_CHECK(input.shape() == target.shape(), "{}: target shape {} must equal input shape {}", op,
                 shape_str(target.shape()), shape_str(input.shape()));
  int64_t n = input.numel();
  std::vector<float> x = input.to_vector<float>(), t = target.to_vector<float>();
  std::vector<float> p(x.size(), 1.f);
  if (pos_weight.defined()) {
    check_operand(pos_weight, op, "pos_weight");
    const Shape &ps = pos_weight.shape(), &is = input.shape();
    bool ok = ps.size() <= is.size();
    for (size_t d = 0; ok && d < ps.size(); ++d) ok = ps[d] == 1 || ps[d] == is[is.size() - ps.size() + d];
    CONVGRAD_CHECK(
        ok,
        "{}: pos_weight shape {} does not broadcast to input shape {} (it usually has shape [C] for the "
        "last dim)",
        op, shape_str(ps), shape_str(is));
    // Expand with zero strides over the broadcast dims, then read row-major.
    Tensor pw = contiguous_data(pos_weight);
    Shape strides(input.shape().size(), 0);
    size_t lead = input.shape().size() - pw.shape().size();
    for (size_t d = 0; d < pw.shape().size(); ++d)
      strides[lead + d] = pw.shape()[d] == 1 ? 0 : pw.strides()[d];
    p = as_strided(pw, input.shape(), strides, pw.offset()).to_vector<float>();
  }
  std::vector<float> losses(x.size());
  for (size_t i = 0; i < x.size(); ++i) {
    float lw = 1.f + (p[i] - 1.f) * t[i];
    losses[i] = (1.f - t[i]) * x[i] + lw * softplus_neg(x[i]);
  }
  Tensor out = reduce(losses, input.shape(), reduction, static_cast<double>(n));
  bool want_target = target.requires_grad();
  Shape shape = input.shape();
  return make_result(
      out, {input, target}, op,
      [x, t, p, shape, n, reduction, want_target, xs = save(input), ts = save(target)](const Tensor& g) {
        if (GradMode::is_enabled()) {  // create_graph
          const float scale = reduction == Reduction::Mean && n > 0 ? 1.f / static_cast<float>(n) : 1.f;
          return bce_with_logits_grads_with_graph(xs.unpack(), ts.unpack(), from_vector(p, shape),
                                                  want_target, reduction == Reduction::None ? g : g * scale);
        }
        std::vector<float> up = upstream(g, n, reduction), gi(x.size()), gt;
        float scale = reduction == Reduction::Mean ? 1.f / static_cast<float>(n) : 1.f;
        for (size_t i = 0; i < x.size(); ++i) {
          float lw = 1.f + (p[i] - 1.f) * t[i];
          gi[i] = (lw * stable_sigmoid(x[i]) - p[i] * t[i]) * up[i] * scale;
        }
        if (want_target) {
          gt.resize(x.size());
          for (size_t i = 0; i < x.size(); ++i)
            gt[i] = ((p[i] - 1.f) * softplus_neg(x[i]) - x[i]) * up[i] * scale;
        }
        return std::vector<Tensor>{from_vector(gi, shape), want_target ? from_vector(gt, shape) : Tensor()};
      },
      DoubleBackward::Supported);
}

}  // namespace convgrad
