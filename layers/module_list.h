// ModuleList: holds submodules under the names "0", "1", ... like torch.nn.ModuleList, so their
// parameters appear in parameters() and state_dict(). It has no forward: the owner calls the
// elements itself (for (auto& m : *blocks) x = m->forward(x);).
#pragma once

#include <concepts>
#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

#include "layers/module.h"

namespace convgrad {

/// An indexable list of submodules; state-dict keys are "<index>.<name>", as in PyTorch.
class ModuleList : public Module {
 public:
  using const_iterator = std::vector<std::shared_ptr<Module>>::const_iterator;

  /// An empty list; add modules with push_back or extend.
  ModuleList() = default;
  /// A list of `modules`: ModuleList({std::make_shared<ReLU>(), std::make_shared<Sigmoid>()}).
  explicit ModuleList(std::initializer_list<std::shared_ptr<Module>> modules);
  /// A list of `modules`, in order.
  explicit ModuleList(const std::vector<std::shared_ptr<Module>>& modules);

  /// Appends `module` under the next index and returns it with its own type.
  template <class M>
  std::shared_ptr<M> push_back(std::shared_ptr<M> module) {
    auto added = register_module(std::to_string(modules_.size()), std::move(module));
    modules_.push_back(added);
    return added;
  }
  /// Appends every module of `modules`, continuing the numbering.
  void extend(const std::vector<std::shared_ptr<Module>>& modules);
  /// Appends the modules of `other` (they are then shared by both lists). A template only so that
  /// extend({a, b}) picks the vector overload.
  template <class List>
  requires std::same_as<List, ModuleList>
  void extend(const List& other) {
    // A copy first: extending a list with itself must not iterate while it grows.
    extend(std::vector<std::shared_ptr<Module>>(other.begin(), other.end()));
  }

  /// Number of modules.
  size_t size() const { return modules_.size(); }
  /// True when the list is empty.
  bool empty() const { return modules_.empty(); }
  /// The i-th module (throws when out of range).
  std::shared_ptr<Module> operator[](size_t i) const;
  /// The i-th module as type M (throws when out of range or of another type).
  template <class M>
  std::shared_ptr<M> at(size_t i) const {
    auto typed = std::dynamic_pointer_cast<M>((*this)[i]);
    CONVGRAD_CHECK(typed != nullptr, "ModuleList::at: module {} is a {}, not the requested type", i,
                   (*this)[i]->name());
    return typed;
  }
  /// Iteration over the modules in order.
  const_iterator begin() const { return modules_.begin(); }
  const_iterator end() const { return modules_.end(); }

  std::string name() const override { return "ModuleList"; }

 private:
  std::vector<std::shared_ptr<Module>> modules_;
};

}  // namespace convgrad
