#include "layers/module.h"

#include <cstring>
#include <set>
#include <sstream>
#include <type_traits>
#include <unordered_set>

#include "core/factory.h"

namespace convgrad {

namespace {

// Calls f(element offset from data<T>()) for every element of `t` in row-major order.
template <class F>
void for_each_offset(const Tensor& t, F&& f) {
  const Shape& shape = t.shape();
  const Shape& strides = t.strides();
  int64_t n = t.numel();
  if (n == 0) return;
  Shape index(shape.size(), 0);
  int64_t off = 0;
  for (int64_t e = 0; e < n; ++e) {
    f(off);
    for (int64_t d = static_cast<int64_t>(shape.size()) - 1; d >= 0; --d) {
      if (++index[d] < shape[d]) {
        off += strides[d];
        break;
      }
      off -= strides[d] * (shape[d] - 1);
      index[d] = 0;
    }
  }
}

template <class T>
void copy_typed(const Tensor& dst, const Tensor& src) {
  if (dst.is_contiguous() && src.is_contiguous()) {
    if (dst.numel()) std::memcpy(dst.data<T>(), src.data<T>(), sizeof(T) * dst.numel());
    return;
  }
  std::vector<T> values = src.to_vector<T>();
  T* d = dst.data<T>();
  size_t i = 0;
  for_each_offset(dst, [&](int64_t off) { d[off] = values[i++]; });
}

// `all` without the entries whose tensor (or module) already appeared under an earlier name: a module
// used twice, or a parameter shared by two modules, is listed once, like PyTorch's parameters().
template <class T>
std::vector<std::pair<std::string, T>> first_of_each(std::vector<std::pair<std::string, T>> all) {
  std::unordered_set<const void*> seen;
  std::erase_if(all, [&](const auto& entry) {
    if constexpr (std::is_same_v<T, Tensor>)
      return !seen.insert(entry.second.impl()).second;
    else
      return !seen.insert(entry.second.get()).second;
  });
  return all;
}

}  // namespace

void detail::copy_values(const Tensor& dst, const Tensor& src, const char* writer) {
  CONVGRAD_CHECK(dst.shape() == src.shape() && dst.dtype() == src.dtype(),
                 "copy_values: destination {} {} and source {} {} differ", shape_str(dst.shape()),
                 dtype_name(dst.dtype()), shape_str(src.shape()), dtype_name(src.dtype()));
  dst.bump_version(writer);  // an in-place write: a tensor saved for backward may no longer be used
  if (dst.dtype() == DType::Float32)
    copy_typed<float>(dst, src);
  else
    copy_typed<int64_t>(dst, src);
}

Tensor Module::forward(const Tensor& x) {
  fail(
      "{}::forward: this module has no forward(x) (input shape {}); override `Tensor forward(const Tensor&)` "
      "or call its submodules directly",
      name(), shape_str(x.shape()));
}

void Module::check_new_name(const std::string& name, const char* what) const {
  CONVGRAD_CHECK(
      !name.empty() && name.find('.') == std::string::npos,
      "{}::{}: invalid name '{}': names must be non-empty and contain no '.' (dots separate submodules)",
      this->name(), what, name);
  auto taken = [&](const auto& list) {
    for (const auto& [n, _] : list)
      if (n == name) return true;
    return false;
  };
  CONVGRAD_CHECK(!taken(parameters_) && !taken(buffers_) && !taken(children_),
                 "{}::{}: the name '{}' is already registered on this module; pick another name",
                 this->name(), what, name);
}

Tensor Module::register_parameter(const std::string& name, Tensor tensor, bool requires_grad) {
  check_new_name(name, "register_parameter");
  CONVGRAD_CHECK(tensor.defined(), "{}::register_parameter: '{}' is an undefined tensor", this->name(), name);
  CONVGRAD_CHECK(tensor.dtype() == DType::Float32,
                 "{}::register_parameter: '{}' must be float32, got {} (shape {})", this->name(), name,
                 dtype_name(tensor.dtype()), shape_str(tensor.shape()));
  CONVGRAD_CHECK(tensor.is_leaf(),
                 "{}::register_parameter: '{}' (shape {}) is the result of an op, not a leaf; "
                 "register t.detach() or a fresh tensor",
                 this->name(), name, shape_str(tensor.shape()));
  tensor.set_requires_grad(requires_grad);
  parameters_.emplace_back(name, tensor);
  return tensor;
}

Tensor Module::register_buffer(const std::string& name, Tensor tensor) {
  check_new_name(name, "register_buffer");
  CONVGRAD_CHECK(tensor.defined(), "{}::register_buffer: '{}' is an undefined tensor", this->name(), name);
  buffers_.emplace_back(name, tensor);
  return tensor;
}

void Module::add_child(const std::string& name, std::shared_ptr<Module> module) {
  check_new_name(name, "register_module");
  CONVGRAD_CHECK(module != nullptr, "{}::register_module: '{}' is a null module pointer", this->name(), name);
  CONVGRAD_CHECK(module.get() != this, "{}::register_module: a module cannot be its own child ('{}')",
                 this->name(), name);
  // A module that already contains this one would make a cycle, and every walk over the tree (parameters(),
  // train(), state_dict(), printing) would never end: refuse it here, naming the path back.
  std::vector<std::pair<const Module*, std::string>> stack{{module.get(), name}};
  std::unordered_set<const Module*> visited{module.get()};
  while (!stack.empty()) {
    auto [m, path] = stack.back();
    stack.pop_back();
    for (const auto& [n, child] : m->children_) {
      const std::string child_path = path + "." + n;
      CONVGRAD_CHECK(
          child.get() != this,
          "{}::register_module: adding '{}' ({}) would make a cycle: this module is already inside it, so "
          "'{}' would lead back to this module; a module cannot contain itself (use a new module)",
          this->name(), name, module->name(), child_path);
      if (visited.insert(child.get()).second) stack.emplace_back(child.get(), child_path);
    }
  }
  children_.emplace_back(name, std::move(module));
}

Tensor Module::parameter(const std::string& name) const {
  for (const auto& [n, t] : parameters_)
    if (n == name) return t;
  fail("{}::parameter: no parameter named '{}' on this module (dotted names: use named_parameters())",
       this->name(), name);
}

Tensor Module::buffer(const std::string& name) const {
  for (const auto& [n, t] : buffers_)
    if (n == name) return t;
  fail("{}::buffer: no buffer named '{}' on this module", this->name(), name);
}

void Module::collect_named(NamedTensors& out, const std::string& prefix, bool params, bool recurse) const {
  for (const auto& [n, t] : params ? parameters_ : buffers_) out.emplace_back(prefix + n, t);
  if (!recurse) return;
  for (const auto& [n, child] : children_) child->collect_named(out, prefix + n + ".", params, true);
}

void Module::collect_state(NamedTensors& out, const std::string& prefix) const {
  for (const auto& [n, t] : parameters_) out.emplace_back(prefix + n, t);
  for (const auto& [n, t] : buffers_) out.emplace_back(prefix + n, t);
  for (const auto& [n, child] : children_) child->collect_state(out, prefix + n + ".");
}

NamedTensors Module::named_parameters(bool recurse) const {
  NamedTensors out;
  collect_named(out, "", true, recurse);
  return first_of_each(std::move(out));
}

std::vector<Tensor> Module::parameters(bool recurse) const {
  std::vector<Tensor> out;
  for (auto& [_, t] : named_parameters(recurse)) out.push_back(t);
  return out;
}

NamedTensors Module::named_buffers(bool recurse) const {
  NamedTensors out;
  collect_named(out, "", false, recurse);
  return first_of_each(std::move(out));
}

std::vector<Tensor> Module::buffers(bool recurse) const {
  std::vector<Tensor> out;
  for (auto& [_, t] : named_buffers(recurse)) out.push_back(t);
  return out;
}

std::vector<std::pair<std::string, std::shared_ptr<Module>>> Module::named_children() const {
  return children_;
}

std::vector<std::shared_ptr<Module>> Module::children() const {
  std::vector<std::shared_ptr<Module>> out;
  for (const auto& [_, m] : children_) out.push_back(m);
  return out;
}

std::vector<std::pair<std::string, std::shared_ptr<Module>>> Module::named_modules() const {
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> out;
  for (const auto& [n, child] : children_) {
    out.emplace_back(n, child);
    for (auto& [sub, m] : child->named_modules()) out.emplace_back(n + "." + sub, m);
  }
  return first_of_each(std::move(out));
}

NamedTensors Module::state_dict() const {
  NamedTensors out;
  collect_state(out, "");
  return out;
}

std::vector<std::string> Module::check_state_dict(const std::map<std::string, Tensor>& state,
                                                  bool strict) const {
  std::vector<std::string> problems;
  std::set<std::string> known;
  for (const auto& [n, t] : state_dict()) {
    known.insert(n);
    auto it = state.find(n);
    if (it == state.end()) {
      if (strict)
        problems.push_back(fmt::format("missing '{}' (expected shape {})", n, shape_str(t.shape())));
    } else if (!it->second.defined()) {
      problems.push_back(fmt::format("'{}' is an undefined tensor", n));
    } else if (it->second.shape() != t.shape()) {
      problems.push_back(fmt::format("shape mismatch for '{}': the module has {}, the state dict {}", n,
                                     shape_str(t.shape()), shape_str(it->second.shape())));
    } else if (it->second.dtype() != t.dtype()) {
      problems.push_back(fmt::format("dtype mismatch for '{}': the module has {}, the state dict {}", n,
                                     dtype_name(t.dtype()), dtype_name(it->second.dtype())));
    }
  }
  if (strict)
    for (const auto& [n, t] : state)
      if (!known.count(n))
        problems.push_back(
            fmt::format("unexpected '{}' (shape {})", n, t.defined() ? shape_str(t.shape()) : "?"));
  return problems;
}

void Module::load_state_dict(const std::map<std::string, Tensor>& state, bool strict) {
  std::vector<std::string> problems = check_state_dict(state, strict);
  if (!problems.empty()) {
    std::string lines;
    for (const auto& p : problems) lines += "\n  " + p;
    fail(
        "{}::load_state_dict: {} problem(s), nothing was loaded:{}\n(names are dotted paths as printed by "
        "named_parameters()/named_buffers(); build the module with the same options as the saved one)",
        name(), problems.size(), lines);
  }
  for (const auto& [n, t] : state_dict()) {
    auto it = state.find(n);
    if (it != state.end() && !it->second.is_same(t))
      detail::copy_values(t, it->second, "Module::load_state_dict");
  }
}

void Module::train(bool on) {
  training_ = on;
  for (auto& [_, child] : children_) child->train(on);
}

void Module::zero_grad(bool set_to_none) {
  for (auto& p : parameters()) {
    if (!p.grad().defined()) continue;
    p.set_grad(set_to_none ? Tensor() : zeros(p.shape()));
  }
}

void Module::apply(const std::function<void(Module&)>& fn) {
  fn(*this);
  for (auto& [_, child] : children_) child->apply(fn);
}

void Module::pretty_print(std::ostream& os, int indent) const {
  os << name() << "(" << extra_repr();
  if (children_.empty()) {
    os << ")";
    return;
  }
  std::string pad(indent + 2, ' ');
  for (const auto& [n, child] : children_) {
    os << "\n" << pad << "(" << n << "): ";
    child->pretty_print(os, indent + 2);
  }
  os << "\n" << std::string(indent, ' ') << ")";
}

std::ostream& operator<<(std::ostream& os, const Module& module) {
  module.pretty_print(os);
  return os;
}

std::string to_string(const Module& module) {
  std::ostringstream os;
  module.pretty_print(os);
  return os.str();
}

}  // namespace convgrad
