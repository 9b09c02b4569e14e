// The rearrangements around the GEMMs of the phase convolution (phase_conv.h): plain loops that gather
// the weight into phase order, build the columns of dy, pixel-unshuffle src blocks, pixel-shuffle GEMM
// results into src, and shift-add the per-tap results into dst.
#pragma once

#include <cstdint>
#include <vector>

#include "core/conv_geometry.h"

namespace convgrad::onednn::phase {

/// The sizes of one phase convolution. src (N, C, H, W) is the large tensor, dst (N, O, OH, OW) the
/// small one; the stride (sh, sw) splits the kernel in jh x jw taps per phase. Grid row qh covers src
/// rows sh * (qh0 + qh) + rh - pad_top for rh in [0, sh); the grid spans exactly the rows of src.
struct Geom {
  int64_t N, C, H, W, O, OH, OW, sh, sw, ph, pw, jh, jw;
  int64_t qh0, qw0, QH, QW;
  /// Grid columns [lo, hi) whose src column sw * (qw0 + qw) + rw - pw lies in [0, W), per rw.
  struct Span {
    int64_t lo, hi;
  };
  std::vector<Span> span;
  /// Grid rows [lo, hi) whose src row sh * (qh0 + qh) + rh - ph lies in [0, H), per rh.
  std::vector<Span> rowspan;
  Geom(const Shape& src, const Shape& wei, const Shape& dst, const ConvParams& p);
  /// Rows of the unshuffled src: (c, rh, rw).
  int64_t rows() const { return C * sh * sw; }
  /// Rows of the columns of dy: (o, jh, jw).
  int64_t taps() const { return O * jh * jw; }
  /// Grid positions (qh, qw).
  int64_t Q() const { return QH * QW; }
};

/// W2[(o, jh, jw), (c, rh, rw)] = w[o, c, rh + sh * jh, rw + sw * jw] (parallel).
void gather_weights(const Geom& g, const float* w, float* w2);

/// dw[o, c, rh + sh * jh, rw + sw * jw] = sum over the `parts` partial matrices dW2 (each taps x rows,
/// consecutive) at [(o, jh, jw), (c, rh, rw)] (parallel).
void scatter_weights(const Geom& g, const float* dw2, int64_t parts, float* dw);

/// col[(o, jh, jw) * ld + (qh, qw)] = dy[o, qh0 + qh - jh, qw0 + qw - jw] of one image, zero outside dy.
void gather_columns(const Geom& g, const float* dy, float* col, int64_t ld);

/// xp[(qh, qw) * ld + (u - u0, rw)] = src[c, sh * (qh0 + qh) + rh - ph, sw * (qw0 + qw) + rw - pw] of
/// one image for the units u = c * sh + rh in [u0, u1), zero outside src. Position-major: each
/// (qw, unit) is a run of sw consecutive src columns, copied as is.
void unshuffle(const Geom& g, const float* src, int64_t u0, int64_t u1, float* xp, int64_t ld);

/// The inverse of unshuffle, plus bias[c] (when not null): writes the src rows of units [u0, u1) of
/// one image from G[(qh, qw) * ld + (u - u0, rw)].
void shuffle(const Geom& g, const float* G, int64_t ld, int64_t u0, int64_t u1, const float* bias,
             float* src);

/// dst[o, oh, ow] of one image = bias + the sum over `parts` partial Z (`stride` floats apart) and the
/// taps (jh, jw) of Z[(o, jh, jw) * ld + (oh + jh - qh0, ow + jw - qw0)] (terms off the grid are 0).
void shift_add(const Geom& g, const float* z, int64_t ld, int64_t parts, int64_t stride, int64_t o,
               float bias, float* dst);

}  // namespace convgrad::onednn::phase
