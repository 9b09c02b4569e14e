// Convolution backends: the three-kernel contract, the registry and the selection switches.
//
// A backend implements exactly three kernels in the conv view (core/conv_geometry.h):
//   conv_forward          y  = conv(x, w) + bias
//   conv_backward_data    dx = conv^T(dy, w) + bias     (bias: when it serves as a transposed conv)
//   conv_backward_weights dw = corr(x, dy), db = sum of dy over N, H, W
// conv2d and conv_transpose2d (autograd/ops_conv.cpp) are built from these three and nothing else.
// All tensors are contiguous float32 NCHW (weights OIHW); outputs are pre-allocated by the caller and
// overwritten (never accumulated into).
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/conv_geometry.h"
#include "core/tensor.h"

namespace convgrad {

/// One implementation of the three convolution kernels.
class Backend {
 public:
  virtual ~Backend() = default;
  /// The name set_backend() and CONVGRAD_BACKEND use ("reference", "onednn").
  virtual const char* name() const = 0;
  /// y (N, O, OH, OW) = x (N, C, H, W) convolved with w (O, C/g, kh, kw), plus bias (O) when defined.
  virtual void conv_forward(const Tensor& x, const Tensor& w, const Tensor& bias, const Tensor& y,
                            const ConvParams& p) = 0;
  /// dx (N, C, H, W) = gradient of the convolution wrt its input, given dy (N, O, OH, OW), plus bias (C)
  /// per channel when defined (that is a transposed convolution's forward).
  virtual void conv_backward_data(const Tensor& dy, const Tensor& w, const Tensor& bias, const Tensor& dx,
                                  const ConvParams& p) = 0;
  /// dw (O, C/g, kh, kw) = gradient wrt the weight given x and dy; db (O) = sum of dy when defined.
  virtual void conv_backward_weights(const Tensor& x, const Tensor& dy, const Tensor& dw, const Tensor& db,
                                     const ConvParams& p) = 0;
};

/// Makes a backend (one per registry line).
using BackendFactory = std::function<std::unique_ptr<Backend>()>;

/// Names of the backends built in (and registered), in registry order.
std::vector<std::string> available_backends();
/// Selects the backend every convolution uses from now on; throws listing the available ones.
void set_backend(const std::string& name);
/// Name of the selected backend: CONVGRAD_BACKEND if set, else "onednn" when built, else "reference".
std::string current_backend();
/// The backend called `name` (created on first use); throws listing the available ones.
Backend& get_backend(const std::string& name);
/// Adds a backend at run time (a plugin, or a test double); replaces one of the same name.
void register_backend(const std::string& name, BackendFactory factory);

/// CONVGRAD_CHECK=1 equivalent: run every convolution on the selected backend AND a second one
/// (the reference, or oneDNN when the reference is selected) and throw on a mismatch.
void set_check_backends(bool on);
/// Whether the dual-run check is on.
bool check_backends();

/// CONVGRAD_VERBOSE=1 equivalent: report each kernel's implementation and every fallback.
void set_verbose(bool on);
/// Whether verbose reporting is on.
bool verbose();
/// Where verbose lines go (one call per line, no newline); null restores the default (stderr).
void set_verbose_sink(std::function<void(const std::string&)> sink);
/// Emits one verbose line when verbose reporting is on (backends call this).
void verbose_log(const std::string& line);

/// Validates the tensors of one kernel call: defined contiguous float32, shapes consistent in the
/// conv view (check_conv_shapes), `vec` (bias or db, may be undefined) of length src C when
/// `vec_on_src` else O. Throws naming `op`; backends call it so a direct call cannot crash.
ConvShapes check_conv_call(const char* op, const Tensor& src, const Tensor& wei, const Tensor& dst, const Tensor& vec,
                           bool vec_on_src, const ConvParams& p);

// The three kernels on the selected backend, with shape validation and the dual-run check.
// Autograd ops call these; shapes must be consistent (check_conv_shapes) or they throw.

/// conv_forward on the selected backend.
void conv_forward(const Tensor& x, const Tensor& w, const Tensor& bias, const Tensor& y, const ConvParams& p);
/// conv_backward_data on the selected backend.
void conv_backward_data(const Tensor& dy, const Tensor& w, const Tensor& bias, const Tensor& dx, const ConvParams& p);
/// conv_backward_weights on the selected backend (db may be undefined).
void conv_backward_weights(const Tensor& x, const Tensor& dy, const Tensor& dw, const Tensor& db, const ConvParams& p);

}  // namespace convgrad
