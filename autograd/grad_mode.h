// Grad mode: whether ops record a graph (thread-local, on by default).
#pragma once

namespace convgrad {

/// Thread-local switch read by every differentiable op.
class GradMode {
 public:
  /// True when ops record the graph.
  static bool is_enabled();
  /// Turns recording on or off for this thread.
  static void set_enabled(bool enabled);
};

/// RAII: no graph is recorded while it lives (inference, optimizer updates).
class NoGradGuard {
 public:
  NoGradGuard() : previous_(GradMode::is_enabled()) { GradMode::set_enabled(false); }
  ~NoGradGuard() { GradMode::set_enabled(previous_); }
  NoGradGuard(const NoGradGuard&) = delete;
  NoGradGuard& operator=(const NoGradGuard&) = delete;

 private:
  bool previous_;
};

/// RAII: grad mode set to `enabled` while it lives (the engine runs closures under create_graph's value).
class AutoGradMode {
 public:
  explicit AutoGradMode(bool enabled) : previous_(GradMode::is_enabled()) { GradMode::set_enabled(enabled); }
  ~AutoGradMode() { GradMode::set_enabled(previous_); }
  AutoGradMode(const AutoGradMode&) = delete;
  AutoGradMode& operator=(const AutoGradMode&) = delete;

 private:
  bool previous_;
};

}  // namespace convgrad
