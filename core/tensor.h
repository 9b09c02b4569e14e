// Tensor: an N-d view (shape, strides, offset) over shared Storage, plus an autograd slot.
// Core holds the autograd slot as plain data; autograd/ gives it meaning (core <- autograd).
#pragma once

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/memory_format.h"
#include "core/shape.h"
#include "core/storage.h"

namespace convgrad {

class Node;  // a graph node; defined in autograd/node.h, core only stores the pointer
struct TensorImpl;

/// Per-tensor autograd state, held by core as data only.
struct AutogradMeta {
  bool requires_grad = false;        ///< leaf flag set by the user, or "result of a tracked op"
  std::shared_ptr<TensorImpl> grad;  ///< gradient accumulated into a leaf by backward()
  std::shared_ptr<Node> grad_fn;     ///< the node that produced this tensor; null for leaves
};

/// The state behind a Tensor handle.
struct TensorImpl {
  std::shared_ptr<Storage> storage;
  int64_t offset = 0;  ///< in elements
  Shape shape;
  Shape strides;  ///< in elements
  DType dtype = DType::Float32;
  AutogradMeta autograd;
};

/// A handle to a tensor; copies share the same data and autograd state (like torch.Tensor).
class Tensor {
 public:
  /// An undefined tensor (no data); `defined()` is false.
  Tensor() = default;
  /// Wraps an existing impl.
  explicit Tensor(std::shared_ptr<TensorImpl> impl) : impl_(std::move(impl)) {}

  /// True when the handle refers to data.
  bool defined() const { return impl_ != nullptr; }
  /// Sizes, outermost first.
  const Shape& shape() const;
  /// Strides in elements.
  const Shape& strides() const;
  /// Offset of the first element into the storage, in elements.
  int64_t offset() const;
  /// Number of dimensions.
  int64_t dim() const { return static_cast<int64_t>(shape().size()); }
  /// Size of dimension `d` (negative counts from the end).
  int64_t size(int64_t d) const;
  /// Number of elements.
  int64_t numel() const;
  /// Element type.
  DType dtype() const;
  /// True when the strides are row-major for the shape (size-1 dims ignored).
  bool is_contiguous() const;
  /// True when the strides are the dense strides of `format` (size-1 dims ignored): is_contiguous(
  /// MemoryFormat::ChannelsLast) holds for a 4-D tensor stored N, H, W, C (core/memory_format.h).
  bool is_contiguous(MemoryFormat format) const;
  /// The format the strides suggest, PyTorch's rule: ChannelsLast for a 4-D tensor whose strides order
  /// C innermost, then W, H, N; Contiguous otherwise (and in ambiguous cases).
  MemoryFormat suggest_memory_format() const;
  /// Pointer to the first element; throws if T does not match dtype().
  template <class T>
  T* data() const;
  /// The value of a one-element tensor as T (float32 and int64 convert).
  template <class T = float>
  T item() const;
  /// The element at a full index (negative indices count from the end), as T.
  template <class T = float>
  T at(std::initializer_list<int64_t> index) const;
  /// A row-major copy of all elements as T.
  template <class T = float>
  std::vector<T> to_vector() const;
  /// The shared storage.
  const std::shared_ptr<Storage>& storage() const;
  /// The storage's in-place write count (PyTorch's `_version`), shared by every view of it.
  int64_t version() const { return storage()->version(); }
  /// Counts one in-place write named `writer` on the storage (library functions that change existing
  /// values call it; see Storage::bump_version).
  void bump_version(const char* writer) const { storage()->bump_version(writer); }

  // ---- autograd slot (data only here; see autograd/ for the graph) ----
  /// Whether gradients flow to / through this tensor.
  bool requires_grad() const;
  /// Marks a leaf as requiring a gradient (float32 only); returns *this.
  Tensor& set_requires_grad(bool value = true);
  /// The accumulated gradient of a leaf; undefined until backward() reached it.
  Tensor grad() const;
  /// Replaces (or clears, with an undefined tensor) the accumulated gradient.
  void set_grad(const Tensor& grad) const;
  /// The node that produced this tensor, null for leaves.
  const std::shared_ptr<Node>& grad_fn() const;
  /// Attaches the node that produced this tensor (used by autograd ops).
  void set_grad_fn(std::shared_ptr<Node> node) const;
  /// True for tensors not produced by a tracked op.
  bool is_leaf() const { return grad_fn() == nullptr; }
  /// Reverse-mode pass from this tensor: implicit gradient 1 for scalars, `gradient` otherwise.
  /// retain_graph (default: create_graph) keeps the graph for another pass; create_graph records the
  /// gradients' own graph so they can be differentiated again (autograd/node.h).
  void backward(const Tensor& gradient = Tensor(), std::optional<bool> retain_graph = std::nullopt,
                bool create_graph = false) const;
  /// Same data, no autograd history, requires_grad false.
  Tensor detach() const;
  /// The values converted to `dtype` (like torch.Tensor.to(dtype)): this tensor itself when it already
  /// has that dtype, else a new contiguous tensor without autograd history (to_dtype in autograd/ops_math.h
  /// is the same conversion as a function). float32 -> bfloat16 rounds to nearest, ties to even, as
  /// PyTorch; bfloat16 -> float32 is exact.
  Tensor to(DType dtype) const;

  /// True when both handles share one impl.
  bool is_same(const Tensor& other) const { return impl_ == other.impl_; }
  /// The impl (for kernels and autograd).
  TensorImpl* impl() const { return impl_.get(); }
  /// The impl's shared pointer.
  const std::shared_ptr<TensorImpl>& impl_ptr() const { return impl_; }

 private:
  TensorImpl& checked() const;
  std::shared_ptr<TensorImpl> impl_;
};

/// A tensor that shares `base`'s storage with a new shape, strides and offset (no autograd).
Tensor as_strided(const Tensor& base, Shape shape, Shape strides, int64_t offset);

namespace detail {
/// Signature of the reverse pass autograd/ registers; Tensor::backward() calls it.
using BackwardHook = void (*)(const Tensor& root, const Tensor& gradient, bool retain_graph,
                              bool create_graph);
/// Registers the reverse pass (called once by autograd/).
void set_backward_hook(BackwardHook hook);
}  // namespace detail

}  // namespace convgrad
