// Sequential: runs its submodules one after the other; they are named "0", "1", ... like PyTorch.
#pragma once

#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

#include "layers/module.h"

namespace convgrad {

/// A chain of modules: forward(x) = m_n(...m_1(m_0(x))). Every element only needs forward(x); a
/// ConvTranspose2d that must hit an exact size takes it through its options (output_size).
class Sequential : public Module {
 public:
  /// An empty chain; add modules with push_back.
  Sequential() = default;
  /// A chain of `modules`: Sequential({std::make_shared<Conv2d>(...), std::make_shared<ReLU>()}).
  Sequential(std::initializer_list<std::shared_ptr<Module>> modules);
  /// A chain of `modules`, in order, named "0", "1", ...: Sequential(layers) for a list built in a loop.
  explicit Sequential(const std::vector<std::shared_ptr<Module>>& modules);
  /// A chain of modules of any types, so std::make_shared<Sequential>(conv, relu, ...) works.
  template <class... M>
  requires(sizeof...(M) > 0) explicit Sequential(std::shared_ptr<M>... modules) {
    (push_back(std::move(modules)), ...);
  }

  /// Appends `module` under the next index as name and returns it with its own type.
  template <class M>
  std::shared_ptr<M> push_back(std::shared_ptr<M> module) {
    return register_module(std::to_string(size()), std::move(module));
  }
  /// Appends `module` under a custom name (its state-dict keys use that name).
  template <class M>
  std::shared_ptr<M> push_back(const std::string& name, std::shared_ptr<M> module) {
    return register_module(name, std::move(module));
  }

  /// Appends every module of `modules` under the next indices.
  void extend(const std::vector<std::shared_ptr<Module>>& modules);

  /// Number of modules in the chain.
  size_t size() const { return named_children().size(); }
  /// True when the chain is empty.
  bool empty() const { return size() == 0; }
  /// The i-th module (throws when out of range).
  std::shared_ptr<Module> operator[](size_t i) const;
  /// The i-th module as type M (throws when out of range or of another type).
  template <class M>
  std::shared_ptr<M> at(size_t i) const {
    auto typed = std::dynamic_pointer_cast<M>((*this)[i]);
    CONVGRAD_CHECK(typed != nullptr, "Sequential::at: module {} is a {}, not the requested type", i,
                   (*this)[i]->name());
    return typed;
  }

  /// Runs every module in order; an empty Sequential is the identity.
  Tensor forward(const Tensor& x) override;
  std::string name() const override { return "Sequential"; }
};

}  // namespace convgrad
