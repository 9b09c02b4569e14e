// A graph node: the op's inputs plus a backward closure (micrograd's idea).
#pragma once

#include <array>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/tensor.h"

namespace convgrad {

/// Maps the gradient of an op's output to one gradient per input (undefined = no gradient).
using BackwardFn = std::function<std::vector<Tensor>(const Tensor& grad_output)>;

/// Whether an op's backward closure, run with grad mode on (backward or grad with create_graph), builds
/// its results from differentiable ops, so that the gradients it returns can be differentiated again.
/// The engine refuses create_graph through a node marked Unsupported instead of returning gradients
/// without history (a silently wrong second derivative).
enum class DoubleBackward { Unsupported, Supported };

/// One recorded op. Holds its inputs (never its output, so there are no shared_ptr cycles).
class Node {
 public:
  /// A node named `name` (the op) over `inputs` whose gradients `backward` computes.
  Node(std::string name, std::vector<Tensor> inputs, BackwardFn backward, Shape output_shape,
       DoubleBackward double_backward = DoubleBackward::Unsupported);
  /// Releases the graph below iteratively, so a 100,000-op chain cannot overflow the stack.
  ~Node();
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;

  /// The op's name, for errors and anomaly reports.
  const std::string& name() const { return name_; }
  /// The op's inputs, in argument order.
  const std::vector<Tensor>& inputs() const { return inputs_; }
  /// Shape of the op's output (the gradient arriving here has it).
  const Shape& output_shape() const { return output_shape_; }
  /// Runs the backward closure; throws if the node was released by an earlier backward().
  std::vector<Tensor> apply(const Tensor& grad_output);
  /// Drops the inputs and the closure (what backward() does unless retain_graph).
  void release();
  /// True once released.
  bool released() const { return !backward_; }
  /// True when the closure records its own graph under grad mode (create_graph may pass through).
  bool supports_double_backward() const { return double_backward_ == DoubleBackward::Supported; }
  /// Number of nodes alive in this process (for leak tests).
  static int64_t live_count();

 private:
  std::string name_;
  std::vector<Tensor> inputs_;
  BackwardFn backward_;
  Shape output_shape_;
  DoubleBackward double_backward_;
};

/// A tensor an op keeps for its backward and the version of its storage at the time of the save.
/// unpack() refuses it once an in-place write (an optimizer step, load_state_dict, an init function, ...)
/// changed the storage since, as PyTorch does; an op keeps through SavedTensor every tensor the user can
/// reach whose values its backward reads. An input is kept with its history (a create_graph backward
/// differentiates through it); an output is kept detached (save_output), since a node that held its own
/// output would form a shared_ptr cycle.
class SavedTensor {
 public:
  /// Nothing saved (unpack() gives an undefined tensor).
  SavedTensor() = default;
  /// Saves `t` (undefined stays undefined) at its current version; `detached` drops its history.
  explicit SavedTensor(const Tensor& t, bool detached = false)
      : data_(t.defined() && detached ? t.detach() : t), version_(t.defined() ? t.version() : 0) {}
  /// The saved tensor; throws convgrad::Error naming the op being differentiated when the storage was
  /// written in place after the save.
  const Tensor& unpack() const {
    if (data_.defined() && data_.version() != version_) fail_modified();
    return data_;
  }
  /// Whether a tensor was saved.
  bool defined() const { return data_.defined(); }
  /// The version recorded at the save.
  int64_t saved_version() const { return version_; }

 private:
  [[noreturn]] void fail_modified() const;
  Tensor data_;
  int64_t version_ = 0;
};

/// Saves input `t` for the backward of the op being recorded, with its history (see SavedTensor);
/// nothing when not `needed` (a value only the gradient of an input that requires none would read).
inline SavedTensor save(const Tensor& t, bool needed = true) { return SavedTensor(needed ? t : Tensor()); }
/// Saves the op's own output `y`, detached (see SavedTensor); nothing when not `needed`.
inline SavedTensor save_output(const Tensor& y, bool needed = true) {
  return SavedTensor(needed ? y : Tensor(), true);
}

/// Which of an op's inputs need a gradient, in argument order (n[0] for the first input), recorded at
/// forward time so the backward computes and saves only what is needed.
template <std::size_t N>
using Needs = std::array<bool, N>;

/// needs(a, b, ...): for each input, whether it is defined and requires grad (an undefined optional input,
/// such as a missing bias, needs no gradient).
template <class... Inputs>
Needs<sizeof...(Inputs)> needs(const Inputs&... inputs) {
  return {(inputs.defined() && inputs.requires_grad())...};
}

/// A backward closure's result: one gradient per input, where input i's gradient is `grad_fns[i]()` when
/// `n[i]` and an undefined tensor (which the engine skips) otherwise, so an unneeded gradient is never
/// computed: `return grads(n, [&] { return g * b; }, [&] { return g * a; });`.
template <std::size_t N, class... GradFns>
std::vector<Tensor> grads(const Needs<N>& n, GradFns&&... grad_fns) {
  static_assert(sizeof...(GradFns) == N, "grads: one gradient function per input");
  std::vector<Tensor> out;
  out.reserve(N);
  std::size_t i = 0;
  (out.push_back(n[i++] ? Tensor(grad_fns()) : Tensor()), ...);
  return out;
}

/// Note [Owned gradient]
/// A backward closure may overwrite the incoming gradient `g` in place (and return it as its result)
/// only when nothing else can see it: the engine holds the only handle to it and to its storage, and
/// anomaly mode, which reports the incoming gradient after the closure ran, is off. owns_gradient(g)
/// tells; kernels take the answer as an `in_place` flag. The engine applies the same rule to the
/// gradients it sums (autograd/engine.cpp).
bool owns_gradient(const Tensor& g);
/// True when `t` is the only handle to its TensorImpl and no other tensor (view) shares its storage.
inline bool sole_handle(const Tensor& t) {
  return t.impl_ptr().use_count() == 1 && t.storage().use_count() == 1;
}

/// Records `output` as the result of op `name` over `inputs` when grad mode is on and any input
/// requires grad; otherwise returns `output` untouched. The closure must not capture `output`
/// itself (capture `save_output(output)` if the gradient needs its values).
///
/// Backward closures run with grad mode set to the pass's create_graph: off for an ordinary backward (the
/// closure may call kernels directly), on under create_graph. A closure marked DoubleBackward::Supported
/// must then build its results from differentiable ops over its inputs (saved with save(), which keeps
/// their history) and the incoming gradient; GradMode::is_enabled() tells it which case it is in.
Tensor make_result(Tensor output, std::vector<Tensor> inputs, const char* name, BackwardFn backward,
                   DoubleBackward double_backward = DoubleBackward::Unsupported);

/// Runs the reverse pass from `root` (what Tensor::backward calls), accumulating into the leaves' grad().
/// With create_graph the accumulated gradients carry history; a leaf's grad() then references the graph
/// that references the leaf, so reset it (set_grad(Tensor()), zero_grad) once used, or prefer grad().
void backward(const Tensor& root, const Tensor& gradient = Tensor(), bool retain_graph = false,
              bool create_graph = false);

/// The gradients of `outputs` (weighted by `grad_outputs`, default ones for scalar outputs) with respect to
/// `inputs`, returned in order without touching any tensor's grad() (torch::autograd::grad). Only the part
/// of the graph that leads to `inputs` runs. retain_graph defaults to create_graph; with create_graph the
/// results carry history and can be differentiated again. An input the outputs do not depend on is an error
/// unless allow_unused, which returns an undefined tensor for it.
std::vector<Tensor> grad(const std::vector<Tensor>& outputs, const std::vector<Tensor>& inputs,
                         const std::vector<Tensor>& grad_outputs = {},
                         std::optional<bool> retain_graph = std::nullopt, bool create_graph = false,
                         bool allow_unused = false);

}  // namespace convgrad
