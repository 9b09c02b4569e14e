// Checkpoints: a module's (and optionally an optimizer's) state as a NumPy .npz file, one array per
// dotted name (`conv1.weight`, `bn.running_mean`, `optim.state.0.exp_avg`), readable by np.load.
#pragma once

#include <string>

#include "layers/module.h"

namespace convgrad {

class Optimizer;  // layers/optim.h

/// The prefix of the optimizer's entries in a checkpoint.
inline constexpr const char* kOptimizerPrefix = "optim.";

/// Writes module.state_dict() to `path` atomically (temporary file, fsync, rename): a crash mid-save
/// leaves any previous file intact.
void save(const Module& module, const std::string& path);
/// Writes the module's state plus the optimizer's (prefixed "optim.") to `path`, atomically.
void save(const Module& module, const Optimizer& optimizer, const std::string& path);

/// Loads `path` into the module in place. Every name, shape and dtype is checked first and all
/// problems (missing, unexpected, mismatched) are reported in one Error; on any error (also a
/// truncated or corrupted file) the module is left unchanged. Optimizer entries in the file are ignored.
void load(Module& module, const std::string& path);
/// Loads the module's and the optimizer's state from `path`; on error neither is modified by this call
/// beyond what Optimizer::load_state_dict itself guarantees (the module is checked before anything is set).
void load(Module& module, Optimizer& optimizer, const std::string& path);

}  // namespace convgrad
