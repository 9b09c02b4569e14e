#include "layers/module_list.h"

namespace convgrad {

ModuleList::ModuleList(std::initializer_list<std::shared_ptr<Module>> modules) {
  for (const auto& m : modules) push_back(m);
}

ModuleList::ModuleList(const std::vector<std::shared_ptr<Module>>& modules) { extend(modules); }

void ModuleList::extend(const std::vector<std::shared_ptr<Module>>& modules) {
  for (const auto& m : modules) push_back(m);
}

std::shared_ptr<Module> ModuleList::operator[](size_t i) const {
  CONVGRAD_CHECK(i < modules_.size(), "ModuleList[{}]: index out of range for a ModuleList of {} modules", i,
                 modules_.size());
  return modules_[i];
}

}  // namespace convgrad
