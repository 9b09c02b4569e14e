// Losses as fused ops: a raw-loop forward over contiguous data and a closed-form backward closure.
#include "layers/loss.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <limits>

#include "autograd/node.h"
#include "core/factory.h"

namespace convgrad {

namespace {

// `t` itself when contiguous, else a contiguous copy (kernels below index raw data).
Tensor contiguous(const Tensor& t) { return t.is_contiguous() ? t : clone_data(t); }

void check_float(const Tensor& t, const char* op, const char* arg) {
  check(t.defined(), "{}: {} is undefined", op, arg);
  check(t.dtype() == DType::Float32, "{}: {} must be float32, got {} (shape {})", op, arg, dtype_name(t.dtype()),
        shape_str(t.shape()));
}

// Combines per-element losses: a tensor of `shape` (None), or a 0-d sum / sum / divisor.
Tensor reduce(const std::vector<float>& losses, const Shape& shape, Reduction r, double divisor) {
  if (r == Reduction::None) return from_vector(losses, shape);
  double s = 0.0;
  for (float l : losses) s += l;
  // The mean over an empty batch is 0, not 0/0: finite on purpose (PyTorch gives NaN), see docs/reliability.md.
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

// e^x for x <= 0 (what softmax needs), in a form the compiler vectorizes: x = n ln2 + r with |r| <= ln2/2,
// e^r by its Taylor series to degree 7 (truncation error < 6e-9, below float rounding), times 2^n.
// Branch-free on purpose: float compares and std::floor stop GCC's vectorizer here.
inline float exp_nonpositive(float x) {
  // Work on the bits: for x <= 0 a larger pattern means a more negative value. Below -87 (e^-87 ~ 1.6e-38, the
  // end of the normal floats; -inf included) the result is 0; NaNs of either sign pass through as NaN.
  uint32_t u = std::bit_cast<uint32_t>(x);
  uint32_t nan_mask = 0u - static_cast<uint32_t>((u & 0x7FFFFFFFu) > 0x7F800000u);
  uint32_t zero_mask = (0u - static_cast<uint32_t>(u > 0xC2AE0000u)) & ~nan_mask;
  x = std::bit_cast<float>(std::min(u, 0xC2AE0000u) & ~nan_mask);  // NaN -> 0 here, restored at the end
  float n = (x * 1.44269504f + 12582912.f) - 12582912.f;  // round to nearest via 1.5 * 2^23
  float r = std::fma(n, -0.693145752f, x);  // ln2 split in two for an exact reduction
  r = std::fma(n, -1.42860677e-6f, r);
  float p = std::fma(1.f / 5040, r, 1.f / 720);
  p = std::fma(p, r, 1.f / 120);
  p = std::fma(p, r, 1.f / 24);
  p = std::fma(p, r, 1.f / 6);
  p = std::fma(p, r, 0.5f);
  p = std::fma(p, r, 1.f);
  p = std::fma(p, r, 1.f);
  float e = p * std::bit_cast<float>((static_cast<int32_t>(n) + 127) << 23);
  return std::bit_cast<float>((std::bit_cast<uint32_t>(e) & ~zero_mask & ~nan_mask) | (0x7FC00000u & nan_mask));
}

float stable_sigmoid(float x) {
  if (x >= 0) return 1.f / (1.f + std::exp(-x));
  float e = std::exp(x);
  return e / (1.f + e);
}

// log(1 + exp(-x)) without overflow.
float softplus_neg(float x) { return std::max(-x, 0.f) + std::log1p(std::exp(-std::abs(x))); }

}  // namespace

const char* reduction_name(Reduction r) {
  return r == Reduction::None ? "none" : r == Reduction::Mean ? "mean" : "sum";
}

Tensor cross_entropy(const Tensor& logits, const Tensor& target, const CrossEntropyOptions& options) {
  check_float(logits, "cross_entropy", "logits");
  check(logits.dim() >= 2, "cross_entropy: logits must be (N, C) or (N, C, d1, ...), got shape {}",
        shape_str(logits.shape()));
  check(target.defined() && target.dtype() == DType::Int64,
        "cross_entropy: target must be an int64 tensor of class indices, got {}; convert labels with "
        "to_dtype(target, DType::Int64)", target.defined() ? dtype_name(target.dtype()) : "an undefined tensor");
  const Shape& ls = logits.shape();
  Shape tshape{ls[0]};
  tshape.insert(tshape.end(), ls.begin() + 2, ls.end());
  check(target.shape() == tshape, "cross_entropy: target shape {} does not match logits {} (expected {})",
        shape_str(target.shape()), shape_str(ls), shape_str(tshape));
  const int64_t N = ls[0], C = ls[1], S = shape_numel(Shape(ls.begin() + 2, ls.end()));
  check(C > 0, "cross_entropy: logits {} have no classes", shape_str(ls));
  std::vector<float> w(static_cast<size_t>(C), 1.f);
  if (options.weight().defined()) {
    check_float(options.weight(), "cross_entropy", "weight");
    check(options.weight().shape() == Shape{C}, "cross_entropy: weight has shape {}, expected [{}] (one per class)",
          shape_str(options.weight().shape()), C);
    w = options.weight().to_vector<float>();
  }
  // Validate every target before computing (errors cannot leave an OpenMP loop).
  const int64_t ignore = options.ignore_index();
  Tensor y = contiguous(target);
  const int64_t* yp = y.data<int64_t>();
  for (int64_t i = 0; i < N * S; ++i)
    if (yp[i] != ignore && (yp[i] < 0 || yp[i] >= C))
      fail("cross_entropy: target value {} at index {} is out of range for {} classes (expected 0..{}, or "
           "ignore_index {})", yp[i], index_str(i, tshape), C, C - 1, ignore);

  Tensor x = contiguous(logits.detach());
  // Per sample / pixel, kept for the backward: row 0 the max logit, row 1 log(sum(exp(x - max))). Kept apart
  // because max + log(sum) rounds the log away for huge logits (|x| ~ 1e30), making softmax sum to 2.
  Tensor lse = empty({2, N * S});
  std::vector<float> losses(static_cast<size_t>(N * S));
  double weight_sum = 0.0;
  const float* xp = x.data<float>();
  float* lp = lse.data<float>();
#pragma omp parallel if (N * C * S > 65536)
  {
    std::vector<float> m(static_cast<size_t>(S)), sum(static_cast<size_t>(S));  // per-thread scratch
#pragma omp for reduction(+ : weight_sum)
    for (int64_t n = 0; n < N; ++n) {
      // Class-major loops over the S pixels of sample n, so the inner loops run over contiguous memory.
      const float* xn = xp + n * C * S;
      float* l = lp + n * S;
      std::copy(xn, xn + S, m.begin());
      std::fill(sum.begin(), sum.end(), 0.f);
      for (int64_t c = 1; c < C; ++c)
        for (int64_t s = 0; s < S; ++s) m[s] = std::max(m[s], xn[c * S + s]);
      for (int64_t c = 0; c < C; ++c)
        for (int64_t s = 0; s < S; ++s) sum[s] += exp_nonpositive(xn[c * S + s] - m[s]);
      for (int64_t s = 0; s < S; ++s) {
        l[s] = m[s];
        l[N * S + s] = std::log(sum[s]);
        int64_t cls = yp[n * S + s];
        if (cls == ignore) continue;  // loss 0, weight 0
        losses[n * S + s] = w[cls] * ((m[s] - xn[cls * S + s]) + l[N * S + s]);
        weight_sum += w[cls];
      }
    }
  }
  Reduction r = options.reduction();
  Tensor out = reduce(losses, tshape, r, weight_sum);
  return make_result(out, {logits}, "cross_entropy", [x, y, lse, w, ignore, r, weight_sum, N, C, S](const Tensor& g) {
    // d loss / d x = coef * (softmax(x) - onehot(y)), coef = upstream * w_y / (sum of w_y for Mean).
    std::vector<float> coef = upstream(g, N * S, r);
    Tensor gx = empty(x.shape());
    const float *xp = x.data<float>(), *lp = lse.data<float>();
    const int64_t* yp = y.data<int64_t>();
    float* gp = gx.data<float>();
    float scale = r == Reduction::Mean ? static_cast<float>(1.0 / weight_sum) : 1.f;
    for (int64_t i = 0; i < N * S; ++i) coef[i] = yp[i] == ignore ? 0.f : coef[i] * w[yp[i]] * scale;
#pragma omp parallel for if (N * C * S > 65536)
    for (int64_t n = 0; n < N; ++n) {
      for (int64_t c = 0; c < C; ++c) {
        const float* xr = xp + (n * C + c) * S;
        float* gr = gp + (n * C + c) * S;
        for (int64_t s = 0; s < S; ++s)
          gr[s] = coef[n * S + s] * exp_nonpositive((xr[s] - lp[n * S + s]) - lp[N * S + n * S + s]);
      }
      for (int64_t s = 0; s < S; ++s)
        if (yp[n * S + s] != ignore) gp[(n * C + yp[n * S + s]) * S + s] -= coef[n * S + s];
    }
    return std::vector<Tensor>{gx};
  });
}

Tensor mse_loss(const Tensor& input, const Tensor& target, Reduction reduction) {
  check_float(input, "mse_loss", "input");
  check_float(target, "mse_loss", "target");
  check(input.shape() == target.shape(), "mse_loss: input shape {} and target shape {} must match",
        shape_str(input.shape()), shape_str(target.shape()));
  int64_t n = input.numel();
  std::vector<float> a = input.to_vector<float>(), b = target.to_vector<float>(), diff(a.size()), sq(a.size());
  for (size_t i = 0; i < a.size(); ++i) {
    diff[i] = a[i] - b[i];
    sq[i] = diff[i] * diff[i];
  }
  Tensor out = reduce(sq, input.shape(), reduction, static_cast<double>(n));
  bool want_target = target.requires_grad();
  Shape shape = input.shape();
  return make_result(out, {input, target}, "mse_loss", [diff, shape, n, reduction, want_target](const Tensor& g) {
    std::vector<float> up = upstream(g, n, reduction), gi(diff.size()), gt;
    float scale = reduction == Reduction::Mean ? 2.f / static_cast<float>(n) : 2.f;
    for (size_t i = 0; i < diff.size(); ++i) gi[i] = scale * diff[i] * up[i];
    if (want_target) {
      gt.resize(gi.size());
      for (size_t i = 0; i < gi.size(); ++i) gt[i] = -gi[i];
    }
    return std::vector<Tensor>{from_vector(gi, shape), want_target ? from_vector(gt, shape) : Tensor()};
  });
}

Tensor binary_cross_entropy_with_logits(const Tensor& input, const Tensor& target, Reduction reduction,
                                        const Tensor& pos_weight) {
  const char* op = "binary_cross_entropy_with_logits";
  check_float(input, op, "input");
  check_float(target, op, "target");
  check(input.shape() == target.shape(), "{}: target shape {} must equal input shape {}", op,
        shape_str(target.shape()), shape_str(input.shape()));
  int64_t n = input.numel();
  std::vector<float> x = input.to_vector<float>(), t = target.to_vector<float>();
  std::vector<float> p(x.size(), 1.f);
  if (pos_weight.defined()) {
    check_float(pos_weight, op, "pos_weight");
    const Shape &ps = pos_weight.shape(), &is = input.shape();
    bool ok = ps.size() <= is.size();
    for (size_t d = 0; ok && d < ps.size(); ++d) ok = ps[d] == 1 || ps[d] == is[is.size() - ps.size() + d];
    check(ok, "{}: pos_weight shape {} does not broadcast to input shape {} (it usually has shape [C] for the "
          "last dim)", op, shape_str(ps), shape_str(is));
    // Expand with zero strides over the broadcast dims, then read row-major.
    Tensor pw = contiguous(pos_weight);
    Shape strides(input.shape().size(), 0);
    size_t lead = input.shape().size() - pw.shape().size();
    for (size_t d = 0; d < pw.shape().size(); ++d) strides[lead + d] = pw.shape()[d] == 1 ? 0 : pw.strides()[d];
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
  return make_result(out, {input, target}, op, [x, t, p, shape, n, reduction, want_target](const Tensor& g) {
    std::vector<float> up = upstream(g, n, reduction), gi(x.size()), gt;
    float scale = reduction == Reduction::Mean ? 1.f / static_cast<float>(n) : 1.f;
    for (size_t i = 0; i < x.size(); ++i) {
      float lw = 1.f + (p[i] - 1.f) * t[i];
      gi[i] = (lw * stable_sigmoid(x[i]) - p[i] * t[i]) * up[i] * scale;
    }
    if (want_target) {
      gt.resize(x.size());
      for (size_t i = 0; i < x.size(); ++i) gt[i] = ((p[i] - 1.f) * softplus_neg(x[i]) - x[i]) * up[i] * scale;
    }
    return std::vector<Tensor>{from_vector(gi, shape), want_target ? from_vector(gt, shape) : Tensor()};
  });
}

}  // namespace convgrad
