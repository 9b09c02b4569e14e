// Convolution backends: the three-kernel contract, the registry and the selection switches.
//
// A backend implements exactly three kernels in the conv view (core/conv_geometry.h):
//   conv_forward          y  = conv(x, w) + bias
//   conv_backward_data    dx = conv^T(dy, w) + bias     (bias: when it serves as a transposed conv)
//   conv_backward_weights dw = corr(x, dy), db = sum of dy over N, H, W
// conv2d and conv_transpose2d (autograd/ops_conv.cpp) are built from these three and nothing else.
// All tensors are contiguous float32 NCHW (weights OIHW); outputs are pre-allocated by the caller and
// overwritten (never accumulated into), so they may be `uninitialized`. ConvParams::compute ==
// BFloat16 (autocast) says the inputs hold bfloat16 values: a backend may compute on them in bfloat16
// with float32 sums (oneDNN on AVX512_BF16) or, as the reference does, in float32.
//
// Each kernel also takes ConvCaches, optional per-operand caches of converted copies: see
// Note [Operand cache] below.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/conv_geometry.h"
#include "core/tensor.h"

namespace convgrad {

// Note [Operand cache]
// ~~~~~~~~~~~~~~~~~~~~
// A ConvOperandCache holds the copies of ONE operand (one tensor value) that a backend converted for a
// kernel call and keeps for the next call that reads the same operand (oneDNN: the operand in the
// blocked layout its primitive computes in, a BlockedCopy per layout). ConvCaches gives a kernel call
// one optional cache per role of the conv view: src, weights, dst.
//  - Contract: whoever creates a cache promises that every kernel call passing it for a role passes, in
//    that role, a tensor with the same shape and the same storage (views of one buffer). A cache is never
//    keyed on data pointers: it belongs to the operand because its creator passes it with that operand
//    only. It is keyed on the storage's version (Storage::version, bumped by every in-place write the
//    library makes): a backend calls key_on() before it looks up a copy, which drops the copies of an
//    earlier version, so an operand changed by an optimizer step, load_state_dict or any in-place
//    kernel is converted again. A write through data<T>() is not counted: call clear() after one.
//  - A cache passed for a role the kernel writes (its output) is ignored, and a backend may ignore them
//    all (the reference backend does). Not thread-safe: one call at a time (backends lock around it).
//  - In the conv view the forward, backward-data and backward-weights of one autograd node read the same
//    src, weights and dst values (whichever are inputs of the kernel), so one cache follows a role from
//    kernel to kernel. The autograd ops (autograd/ops_conv.cpp, input_cache) give the forward's input a
//    cache that lives with the node, read again by backward-weights, and the output gradient one per
//    backward pass, shared by both backward kernels: one training step converts each tensor once.
//  - CONVGRAD_CHECK runs the partner backend without caches, so a stale cache shows up as a mismatch.

/// Converted copies of one operand that a backend keeps between kernel calls; see Note [Operand cache].
class ConvOperandCache {
 public:
  /// One backend-specific copy; backends derive from it.
  struct Entry {
    virtual ~Entry() = default;
  };
  /// The copies held (any backend may add its own kind; find yours with dynamic_cast).
  std::vector<std::unique_ptr<Entry>>& entries() { return entries_; }
  /// Number of copies held.
  std::size_t size() const { return entries_.size(); }
  /// Drops every copy (the operand's values changed).
  void clear() { entries_.clear(); }
  /// Drops every copy unless they were made from the operand at storage version `version`; the copies
  /// made from now on are of that version. Backends call it before they look a copy up.
  void key_on(int64_t version) {
    if (version == version_) return;
    entries_.clear();
    version_ = version;
  }

 private:
  std::vector<std::unique_ptr<Entry>> entries_;
  int64_t version_ = -1;  // the operand's version the entries were made from; -1 before the first
};

/// The optional caches of one kernel call, by role in the conv view (null = no cache for that role);
/// see Note [Operand cache].
struct ConvCaches {
  ConvOperandCache* src = nullptr;  ///< the conv view's src (N, C, H, W)
  ConvOperandCache* wei = nullptr;  ///< the weights (O, C/g, kh, kw)
  ConvOperandCache* dst = nullptr;  ///< the conv view's dst (N, O, OH, OW)
};

/// One implementation of the three convolution kernels. The public calls validate the tensors
/// (check_conv_call) and then run the backend's kernel, so every call, through the dispatch below or
/// directly through a Backend&, is checked exactly once and a bad one cannot crash. A backend overrides
/// the run_* kernels, which may assume valid tensors. `caches` may be ignored (see ConvCaches); the
/// default argument lets direct calls leave it out.
class Backend {
 public:
  virtual ~Backend() = default;
  /// The name set_backend() and CONVGRAD_BACKEND use ("reference", "onednn").
  virtual const char* name() const = 0;
  /// y (N, O, OH, OW) = x (N, C, H, W) convolved with w (O, C/g, kh, kw), plus bias (O) when defined.
  void conv_forward(const Tensor& x, const Tensor& w, const Tensor& bias, const Tensor& y,
                    const ConvParams& p, const ConvCaches& caches = {});
  /// dx (N, C, H, W) = gradient of the convolution wrt its input, given dy (N, O, OH, OW), plus bias (C)
  /// per channel when defined (that is a transposed convolution's forward).
  void conv_backward_data(const Tensor& dy, const Tensor& w, const Tensor& bias, const Tensor& dx,
                          const ConvParams& p, const ConvCaches& caches = {});
  /// dw (O, C/g, kh, kw) = gradient wrt the weight given x and dy; db (O) = sum of dy when defined.
  void conv_backward_weights(const Tensor& x, const Tensor& dy, const Tensor& dw, const Tensor& db,
                             const ConvParams& p, const ConvCaches& caches = {});

 protected:
  /// The kernels, called with tensors check_conv_call accepted.
  virtual void run_forward(const Tensor& x, const Tensor& w, const Tensor& bias, const Tensor& y,
                           const ConvParams& p, const ConvCaches& caches) = 0;
  virtual void run_backward_data(const Tensor& dy, const Tensor& w, const Tensor& bias, const Tensor& dx,
                                 const ConvParams& p, const ConvCaches& caches) = 0;
  virtual void run_backward_weights(const Tensor& x, const Tensor& dy, const Tensor& dw, const Tensor& db,
                                    const ConvParams& p, const ConvCaches& caches) = 0;
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
/// `vec_on_src` else O. Throws naming `op`; formats and allocates nothing when the call is valid.
/// Backend's public calls run it before the kernel.
void check_conv_call(const char* op, const Tensor& src, const Tensor& wei, const Tensor& dst,
                     const Tensor& vec, bool vec_on_src, const ConvParams& p);

// The three kernels on the selected backend, with shape validation and the dual-run check.
// Autograd ops call these; shapes must be consistent (check_conv_shapes) or they throw. `caches`
// (ConvCaches) goes to the selected backend only; the dual-run partner runs without.

/// conv_forward on the selected backend.
void conv_forward(const Tensor& x, const Tensor& w, const Tensor& bias, const Tensor& y, const ConvParams& p,
                  const ConvCaches& caches = {});
/// conv_backward_data on the selected backend.
void conv_backward_data(const Tensor& dy, const Tensor& w, const Tensor& bias, const Tensor& dx,
                        const ConvParams& p, const ConvCaches& caches = {});
/// conv_backward_weights on the selected backend (db may be undefined).
void conv_backward_weights(const Tensor& x, const Tensor& dy, const Tensor& dw, const Tensor& db,
                           const ConvParams& p, const ConvCaches& caches = {});

}  // namespace convgrad
