#include "core/kernels/pool.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "core/factory.h"
#include "core/threading.h"

namespace convgrad::kernels {

namespace {

// One window's clipped bounds along one axis: [start, end) inside the real input, plus the extent
// of the window clipped to the padded input (the count_include_pad divisor).
struct Span {
  int64_t start, end, padded_extent;
};

// PyTorch's avg_pool2d divisor of one window.
float divisor(const Span& y, const Span& x, AvgPoolDivisor div) {
  if (div.divisor_override != 0) return static_cast<float>(div.divisor_override);
  if (div.count_include_pad) return static_cast<float>(y.padded_extent * x.padded_extent);
  return static_cast<float>((y.end - y.start) * (x.end - x.start));
}

// PyTorch's pooling_output_shape: floor or ceil of the window count, and with ceil_mode the last
// window must start inside the input or the leading padding.
int64_t pooled_size(int64_t size, int64_t k, int64_t s, int64_t pad, bool ceil_mode) {
  // In 128 bits: a stride or kernel near 2^63 must not wrap around. Floor division, as the span
  // is negative when the kernel is larger than the padded input.
  using Wide = __int128;
  const Wide span = Wide{size} + 2 * Wide{pad} - k + (ceil_mode ? Wide{s} - 1 : 0);
  Wide out = (span >= 0 ? span / s : -((-span + s - 1) / s)) + 1;
  if (ceil_mode && (out - 1) * s >= Wide{size} + pad) --out;
  return static_cast<int64_t>(out);  // |out| <= |span| / s + 1 fits in 64 bits
}

Span window(int64_t o, int64_t stride, int64_t pad, int64_t k, int64_t size) {
  int64_t s = o * stride - pad;
  int64_t e = std::min(s + k, size + pad);
  int64_t padded = e - s;
  return {std::max<int64_t>(s, 0), std::min(e, size), padded};
}

// The windows of every output column (they repeat for every row and plane).
std::vector<Span> spans(int64_t count, int64_t stride, int64_t pad, int64_t k, int64_t size) {
  std::vector<Span> out;
  out.reserve(static_cast<size_t>(count));
  for (int64_t o = 0; o < count; ++o) out.push_back(window(o, stride, pad, k, size));
  return out;
}

}  // namespace

Pool2dGeometry pool2d_geometry(const char* op, const Shape& shape, Pair kernel, Pair stride, Pair padding,
                               bool ceil_mode) {
  CONVGRAD_CHECK(shape.size() == 3 || shape.size() == 4,
                 "{}: expected a (N, C, H, W) or (C, H, W) input, got shape {}", op, shape_str(shape));
  for (int i = 0; i < 2; ++i) {
    CONVGRAD_CHECK(kernel[i] > 0, "{}: kernel size must be positive, got [{}, {}]", op, kernel[0], kernel[1]);
    CONVGRAD_CHECK(stride[i] >= 0, "{}: stride must be >= 0 (0 means the kernel size), got [{}, {}]", op,
                   stride[0], stride[1]);
    CONVGRAD_CHECK(padding[i] >= 0, "{}: padding must be >= 0, got [{}, {}]", op, padding[0], padding[1]);
    CONVGRAD_CHECK(padding[i] <= kernel[i] / 2,
                   "{}: padding should be at most half of the kernel size, got padding [{}, {}] for kernel "
                   "[{}, {}]; use a larger kernel or less padding",
                   op, padding[0], padding[1], kernel[0], kernel[1]);
  }
  Pool2dGeometry g;
  size_t r = shape.size();
  g.n = r == 4 ? shape[0] : 1;
  g.c = shape[r - 3];
  g.h = shape[r - 2];
  g.w = shape[r - 1];
  g.kh = kernel[0];
  g.kw = kernel[1];
  g.sh = stride[0] == 0 ? kernel[0] : stride[0];
  g.sw = stride[1] == 0 ? kernel[1] : stride[1];
  g.ph = padding[0];
  g.pw = padding[1];
  g.oh = pooled_size(g.h, g.kh, g.sh, g.ph, ceil_mode);
  g.ow = pooled_size(g.w, g.kw, g.sw, g.pw, ceil_mode);
  CONVGRAD_CHECK(
      g.oh >= 1 && g.ow >= 1,
      "{}: kernel [{}, {}] with stride [{}, {}], padding [{}, {}] and ceil_mode={} gives an output "
      "of [{}, {}] for input shape {}; the kernel is larger than the padded input: use a smaller "
      "kernel, more padding or a larger input",
      op, g.kh, g.kw, g.sh, g.sw, g.ph, g.pw, ceil_mode, g.oh, g.ow, shape_str(shape));
  return g;
}

Shape pool2d_output_shape(const Shape& input_shape, const Pool2dGeometry& g) {
  Shape out = input_shape;
  out[out.size() - 2] = g.oh;
  out[out.size() - 1] = g.ow;
  return out;
}

void max_pool2d_forward(const Tensor& x, const Pool2dGeometry& g, Tensor& out, Tensor& indices) {
  Tensor xc = contiguous_data(x);
  Shape out_shape = pool2d_output_shape(x.shape(), g);
  out = empty(out_shape);
  indices = empty(out_shape, DType::Int64);
  const float* src = xc.data<float>();
  float* dst = out.data<float>();
  int64_t* idx = indices.data<int64_t>();
  const int64_t planes = g.n * g.c;
  const std::vector<Span> xs = spans(g.ow, g.sw, g.pw, g.kw, g.w);
#pragma omp parallel for num_threads(get_num_threads()) schedule(static)
  for (int64_t p = 0; p < planes; ++p) {
    const float* in = src + p * g.h * g.w;
    float* o = dst + p * g.oh * g.ow;
    int64_t* oi = idx + p * g.oh * g.ow;
    for (int64_t oy = 0; oy < g.oh; ++oy) {
      const Span sy = window(oy, g.sh, g.ph, g.kh, g.h);
      for (int64_t ox = 0; ox < g.ow; ++ox) {
        const Span& sx = xs[ox];
        // Strictly greater keeps the first maximum. PyTorch lets every NaN win, so the result is
        // the last NaN when there is one. Integer selects, not branches: on real data the
        // comparison is unpredictable.
        float best = -std::numeric_limits<float>::infinity();
        int64_t best_i = sy.start * g.w + sx.start, last_nan = -1;
        for (int64_t y = sy.start; y < sy.end; ++y)
          for (int64_t xx = sx.start; xx < sx.end; ++xx) {
            const float v = in[y * g.w + xx];
            const int64_t i = y * g.w + xx;
            const int64_t take = -static_cast<int64_t>(v > best);  // all ones or zero
            const int64_t is_nan = -static_cast<int64_t>(v != v);
            best_i = (i & take) | (best_i & ~take);
            last_nan = (i & is_nan) | (last_nan & ~is_nan);
            best = std::max(best, v);
          }
        const bool nan = last_nan >= 0;
        o[oy * g.ow + ox] = nan ? std::numeric_limits<float>::quiet_NaN() : best;
        oi[oy * g.ow + ox] = nan ? last_nan : best_i;
      }
    }
  }
}

Tensor max_pool2d_backward(const Tensor& grad_out, const Tensor& indices, const Shape& input_shape,
                           const Pool2dGeometry& g) {
  Tensor gc = contiguous_data(grad_out);
  Tensor grad_in = zeros(input_shape);
  const float* go = gc.data<float>();
  const int64_t* idx = indices.data<int64_t>();
  float* gi = grad_in.data<float>();
  const int64_t planes = g.n * g.c, out_plane = g.oh * g.ow, in_plane = g.h * g.w;
  // Planes are disjoint, so threads never write the same element.
#pragma omp parallel for num_threads(get_num_threads()) schedule(static)
  for (int64_t p = 0; p < planes; ++p)
    for (int64_t i = 0; i < out_plane; ++i)
      gi[p * in_plane + idx[p * out_plane + i]] += go[p * out_plane + i];
  return grad_in;
}

Tensor max_pool2d_gather(const Tensor& t, const Tensor& indices, const Pool2dGeometry& g) {
  Tensor tc = contiguous_data(t);
  Tensor out = empty(pool2d_output_shape(t.shape(), g));
  const float* src = tc.data<float>();
  const int64_t* idx = indices.data<int64_t>();
  float* o = out.data<float>();
  const int64_t planes = g.n * g.c, out_plane = g.oh * g.ow, in_plane = g.h * g.w;
#pragma omp parallel for schedule(static)
  for (int64_t p = 0; p < planes; ++p)
    for (int64_t i = 0; i < out_plane; ++i) o[p * out_plane + i] = src[p * in_plane + idx[p * out_plane + i]];
  return out;
}

namespace {

// Calls f(plane, oy, ox, sy, sx) for every output position of average pooling with its clipped
// window, the planes split across threads (each plane's writes stay within that plane).
template <class F>
void for_each_avg_window(const Pool2dGeometry& g, F f) {
  const int64_t planes = g.n * g.c;
#pragma omp parallel for num_threads(get_num_threads()) schedule(static)
  for (int64_t p = 0; p < planes; ++p)
    for (int64_t oy = 0; oy < g.oh; ++oy) {
      const Span sy = window(oy, g.sh, g.ph, g.kh, g.h);
      for (int64_t ox = 0; ox < g.ow; ++ox) f(p, oy, ox, sy, window(ox, g.sw, g.pw, g.kw, g.w));
    }
}

}  // namespace

Tensor avg_pool2d_forward(const Tensor& x, const Pool2dGeometry& g, AvgPoolDivisor div) {
  Tensor xc = contiguous_data(x);
  Tensor out = empty(pool2d_output_shape(x.shape(), g));
  const float* src = xc.data<float>();
  float* dst = out.data<float>();
  for_each_avg_window(g, [&](int64_t p, int64_t oy, int64_t ox, const Span& sy, const Span& sx) {
    const float* in = src + p * g.h * g.w;
    float sum = 0.f;
    for (int64_t y = sy.start; y < sy.end; ++y)
      for (int64_t xx = sx.start; xx < sx.end; ++xx) sum += in[y * g.w + xx];
    // An empty window (possible only with ceil_mode) averages to 0, as in PyTorch.
    dst[(p * g.oh + oy) * g.ow + ox] =
        sy.start >= sy.end || sx.start >= sx.end ? 0.f : sum / divisor(sy, sx, div);
  });
  return out;
}

// The adjoint of the forward: each output gradient spreads evenly over its window.
Tensor avg_pool2d_backward(const Tensor& grad_out, const Shape& input_shape, const Pool2dGeometry& g,
                           AvgPoolDivisor div) {
  Tensor gc = contiguous_data(grad_out);
  Tensor grad_in = zeros(input_shape);
  const float* go = gc.data<float>();
  float* gi = grad_in.data<float>();
  for_each_avg_window(g, [&](int64_t p, int64_t oy, int64_t ox, const Span& sy, const Span& sx) {
    float* in = gi + p * g.h * g.w;
    const float share = go[(p * g.oh + oy) * g.ow + ox] / divisor(sy, sx, div);
    for (int64_t y = sy.start; y < sy.end; ++y)
      for (int64_t xx = sx.start; xx < sx.end; ++xx) in[y * g.w + xx] += share;
  });
  return grad_in;
}

}  // namespace convgrad::kernels
