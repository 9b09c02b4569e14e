// Module: the base of every layer and model. It owns named parameters, buffers and submodules and
// gives them dotted names (`up.weight`, `blocks.2.bias`) exactly like a PyTorch state dict.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <ostream>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "core/tensor.h"

namespace convgrad {

/// Ordered (name, tensor) pairs: what named_parameters(), named_buffers() and state_dict() return.
using NamedTensors = std::vector<std::pair<std::string, Tensor>>;

/// A layer or a model. Derive from it, register parameters/buffers/submodules in the constructor and
/// write `forward` with differentiable ops; autograd derives the backward.
/// Modules are held by std::shared_ptr; a parent owns its children, children never point back (adding a
/// module that contains its new parent throws). One module may be the child of several (weight sharing).
class Module {
 public:
  Module() = default;
  virtual ~Module() = default;
  // Copying would silently share parameters between two modules; build a new module instead.
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;

  /// The computation. The default throws: containers without a forward(x) need not define one.
  virtual Tensor forward(const Tensor& x);
  /// Same as forward(x).
  Tensor operator()(const Tensor& x) { return forward(x); }

  /// The type's name as printed ("Conv2d"); override it in your own layers for nicer printing.
  virtual std::string name() const { return "Module"; }
  /// The options shown in parentheses when printed ("3, 8, kernel_size=[3, 3]").
  virtual std::string extra_repr() const { return ""; }

  /// Parameters of this module and (when `recurse`) all submodules, in registration order. Each tensor is
  /// listed once, under its first name, when a module or tensor is used twice (like PyTorch).
  std::vector<Tensor> parameters(bool recurse = true) const;
  /// Parameters with dotted names.
  NamedTensors named_parameters(bool recurse = true) const;
  /// Buffers (running statistics, ...) of this module and its submodules, each tensor once.
  std::vector<Tensor> buffers(bool recurse = true) const;
  /// Buffers with dotted names.
  NamedTensors named_buffers(bool recurse = true) const;
  /// The direct submodules with their names.
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> named_children() const;
  /// The direct submodules.
  std::vector<std::shared_ptr<Module>> children() const;
  /// Every submodule (not this one) in depth-first pre-order, with dotted names; each module once.
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> named_modules() const;

  /// Every parameter and buffer under its dotted name, in PyTorch's order (per module: its
  /// parameters, its buffers, then its children). The tensors share data with the module. A module used
  /// twice appears under both names, as in PyTorch.
  NamedTensors state_dict() const;
  /// Problems that loading `state` would hit (missing, unexpected, shape or dtype mismatch), one line
  /// each; empty when load_state_dict would succeed. With strict=false only mismatches are reported.
  std::vector<std::string> check_state_dict(const std::map<std::string, Tensor>& state,
                                            bool strict = true) const;
  /// Copies `state` into the parameters and buffers in place (optimizers keep working). Every name and
  /// shape is checked first; all problems are reported in one Error and nothing is modified.
  /// With strict=false, missing and unexpected names are ignored.
  void load_state_dict(const std::map<std::string, Tensor>& state, bool strict = true);

  /// Sets training mode on this module and every submodule (affects BatchNorm and Dropout).
  virtual void train(bool on = true);
  /// Same as train(false).
  void eval() { train(false); }
  /// True in training mode (the default).
  bool is_training() const { return training_; }

  /// Clears the gradient of every parameter: set_to_none (default) drops it, otherwise fills it with 0.
  void zero_grad(bool set_to_none = true);
  /// Calls `fn` on this module and then every submodule (pre-order), e.g. for custom initialisation.
  void apply(const std::function<void(Module&)>& fn);

  /// The parameter registered as `name` on this module (not dotted); throws if there is none.
  Tensor parameter(const std::string& name) const;
  /// The buffer registered as `name` on this module; throws if there is none.
  Tensor buffer(const std::string& name) const;

  /// Prints the module tree like PyTorch's repr.
  void pretty_print(std::ostream& os, int indent = 0) const;

  /// Registers a float32 leaf tensor as a trainable parameter (requires_grad set to
  /// `requires_grad`) and returns it. Names must be unique within the module and contain no '.'.
  Tensor register_parameter(const std::string& name, Tensor tensor, bool requires_grad = true);
  /// Registers state that is saved and loaded but not trained (e.g. running_mean).
  Tensor register_buffer(const std::string& name, Tensor tensor);
  /// Registers a submodule and returns it with its own type:
  /// `conv = register_module("conv", std::make_shared<Conv2d>(Conv2dOptions(3, 8, 3)));`
  /// Throws when `module` contains this module (a cycle), naming the path that leads back.
  template <class M>
  std::shared_ptr<M> register_module(const std::string& name, std::shared_ptr<M> module) {
    add_child(name, module);
    return module;
  }
  /// Constructs a submodule from `args` and registers it:
  /// `conv = register_module<Conv2d>("conv", Conv2dOptions(3, 8, 3));`
  template <class M, class... Args>
  requires std::is_constructible_v<M, Args...> std::shared_ptr<M> register_module(const std::string& name,
                                                                                  Args&&... args) {
    return register_module(name, std::make_shared<M>(std::forward<Args>(args)...));
  }

 private:
  void add_child(const std::string& name, std::shared_ptr<Module> module);
  void check_new_name(const std::string& name, const char* what) const;
  void collect_named(NamedTensors& out, const std::string& prefix, bool params, bool recurse) const;
  void collect_state(NamedTensors& out, const std::string& prefix) const;

  NamedTensors parameters_;
  NamedTensors buffers_;
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> children_;
  bool training_ = true;
};

/// Streams the module tree (module.pretty_print).
std::ostream& operator<<(std::ostream& os, const Module& module);
/// The module tree as a string.
std::string to_string(const Module& module);

namespace detail {
/// Copies the values of `src` into `dst` (same shape and dtype; either may be strided). No autograd; counts
/// one in-place write named `writer` on dst (Storage::bump_version).
void copy_values(const Tensor& dst, const Tensor& src, const char* writer = "copy_values");
}  // namespace detail

}  // namespace convgrad
