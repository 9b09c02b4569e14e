// A graph node: the op's inputs plus a backward closure (micrograd's idea).
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/tensor.h"

namespace convgrad {

/// Maps the gradient of an op's output to one gradient per input (undefined = no gradient).
using BackwardFn = std::function<std::vector<Tensor>(const Tensor& grad_output)>;

/// One recorded op. Holds its inputs (never its output, so there are no shared_ptr cycles).
class Node {
 public:
  /// A node named `name` (the op) over `inputs` whose gradients `backward` computes.
  Node(std::string name, std::vector<Tensor> inputs, BackwardFn backward, Shape output_shape);
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
  /// Number of nodes alive in this process (for leak tests).
  static int64_t live_count();

 private:
  std::string name_;
  std::vector<Tensor> inputs_;
  BackwardFn backward_;
  Shape output_shape_;
};

/// A tensor an op keeps for its backward: the values (detached, no graph) and the version of their
/// storage at the time of the save. unpack() refuses them once an in-place write (an optimizer step,
/// load_state_dict, an init function, ...) changed the storage since, as PyTorch does; an op keeps
/// through SavedTensor every tensor the user can reach whose values its backward reads.
class SavedTensor {
 public:
  /// Nothing saved (unpack() gives an undefined tensor).
  SavedTensor() = default;
  /// Saves `t` (undefined stays undefined) at its current version.
  explicit SavedTensor(const Tensor& t)
      : data_(t.defined() ? t.detach() : Tensor()), version_(t.defined() ? t.version() : 0) {}
  /// The saved values; throws convgrad::Error naming the op being differentiated when the storage was
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

/// Saves `t` for the backward of the op being recorded (see SavedTensor); nothing when not `needed`
/// (a value only the gradient of an input that requires none would read).
inline SavedTensor save(const Tensor& t, bool needed = true) { return SavedTensor(needed ? t : Tensor()); }

/// Records `output` as the result of op `name` over `inputs` when grad mode is on and any input
/// requires grad; otherwise returns `output` untouched. The closure must not capture `output`
/// itself (capture `save(output)` if the gradient needs its values).
Tensor make_result(Tensor output, std::vector<Tensor> inputs, const char* name, BackwardFn backward);

/// Runs the reverse pass from `root` (what Tensor::backward calls).
void backward(const Tensor& root, const Tensor& gradient = Tensor(), bool retain_graph = false);

}  // namespace convgrad
