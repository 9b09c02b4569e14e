#include "layers/checkpoint.h"

#include <map>
#include <vector>

#include "core/npy.h"
#include "layers/optim.h"

namespace convgrad {

namespace {

bool has_prefix(const std::string& s, const std::string& prefix) { return s.rfind(prefix, 0) == 0; }

NamedTensors module_entries(const Module& module, const std::string& path) {
  NamedTensors entries = module.state_dict();
  for (const auto& [name, t] : entries)
    CONVGRAD_CHECK(
        !has_prefix(name, kOptimizerPrefix),
        "save '{}': the module has an entry '{}' that starts with the reserved prefix '{}' (used for optimizer "
        "state); rename that submodule",
        path, name, kOptimizerPrefix);
  return entries;
}

// Splits a loaded file into module entries and optimizer entries (prefix removed).
void split(const std::map<std::string, Tensor>& all, std::map<std::string, Tensor>& module_state,
           std::map<std::string, Tensor>& optim_state) {
  const std::string prefix = kOptimizerPrefix;
  for (const auto& [name, t] : all) {
    if (has_prefix(name, prefix))
      optim_state.emplace(name.substr(prefix.size()), t);
    else
      module_state.emplace(name, t);
  }
}

std::map<std::string, Tensor> read(const std::string& path) {
  try {
    return load_npz(path);
  } catch (const Error& e) {
    fail("load '{}': cannot read the checkpoint (nothing was loaded): {}", path, e.what());
  }
}

void check_module(const Module& module, const std::map<std::string, Tensor>& state, const std::string& path) {
  std::vector<std::string> problems = module.check_state_dict(state);
  if (problems.empty()) return;
  std::string lines;
  for (const auto& p : problems) lines += "\n  " + p;
  fail(
      "load '{}': the checkpoint does not match the {} ({} problem(s), nothing was loaded):{}\n(build the model "
      "with the same layers and options as the one that was saved)",
      path, module.name(), problems.size(), lines);
}

}  // namespace

void save(const Module& module, const std::string& path) { save_npz(path, module_entries(module, path)); }

void save(const Module& module, const Optimizer& optimizer, const std::string& path) {
  NamedTensors entries = module_entries(module, path);
  for (const auto& [name, t] : optimizer.state_dict()) entries.emplace_back(kOptimizerPrefix + name, t);
  save_npz(path, entries);
}

void load(Module& module, const std::string& path) {
  std::map<std::string, Tensor> module_state, optim_state;
  split(read(path), module_state, optim_state);
  check_module(module, module_state, path);
  module.load_state_dict(module_state);
}

void load(Module& module, Optimizer& optimizer, const std::string& path) {
  std::map<std::string, Tensor> module_state, optim_state;
  split(read(path), module_state, optim_state);
  check_module(module, module_state, path);
  // The module is known to load cleanly; the optimizer checks its own entries before the module is set.
  try {
    optimizer.load_state_dict(optim_state);
  } catch (const Error& e) {
    fail("load '{}': the optimizer state does not match (the module was not modified): {}", path, e.what());
  }
  module.load_state_dict(module_state);
}

}  // namespace convgrad
