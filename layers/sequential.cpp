#include "layers/sequential.h"

namespace convgrad {

Sequential::Sequential(std::initializer_list<std::shared_ptr<Module>> modules) {
  for (const auto& m : modules) push_back(m);
}

Sequential::Sequential(const std::vector<std::shared_ptr<Module>>& modules) { extend(modules); }

void Sequential::extend(const std::vector<std::shared_ptr<Module>>& modules) {
  for (const auto& m : modules) push_back(m);
}

std::shared_ptr<Module> Sequential::operator[](size_t i) const {
  auto kids = named_children();
  CONVGRAD_CHECK(i < kids.size(), "Sequential[{}]: index out of range for a Sequential of {} modules", i,
                 kids.size());
  return kids[i].second;
}

Tensor Sequential::forward(const Tensor& x) {
  Tensor h = x;
  for (const auto& [n, m] : named_children()) {
    try {
      h = m->forward(h);
    } catch (const Error& e) {
      // Say which element of the chain failed; the inner message names the op and shapes.
      fail("Sequential: module '{}' ({}) failed on input of shape {}: {}", n, m->name(), shape_str(h.shape()),
           e.what());
    }
  }
  return h;
}

}  // namespace convgrad
