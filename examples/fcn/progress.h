// Training progress: a redrawn bar on a terminal, plain periodic lines when output is a file/pipe.
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>

namespace convgrad::fcn {

/// What one training step reports.
struct StepStats {
  int64_t step = 0;       ///< 1-based step just finished
  double loss = 0;        ///< its (smoothed) loss
  double accuracy = 0;    ///< its (smoothed) training pixel accuracy
  double images_per_s = 0;
};

/// Shows training progress on `out`. On a TTY the bar is redrawn in place at most ~10 times a
/// second: `[#####.....] 120/1500  loss 0.213  acc 0.934  412 img/s  ETA 1:02`; otherwise one line
/// is printed every `every` steps and at the last step, so logs stay short.
class Progress {
 public:
  /// `total` steps; `tty` chooses the bar; `every` is the line period when not a TTY.
  Progress(int64_t total, bool tty, int64_t every, std::FILE* out = stdout);
  /// Reports a finished step; `elapsed_s` is the training time so far.
  void update(const StepStats& stats, double elapsed_s);
  /// Ends the bar's line (no-op for plain lines).
  void finish();
  /// "m:ss" (or "h:mm:ss") for a duration in seconds.
  static std::string format_duration(double seconds);
  /// The bar text for `stats` (exposed for tests; no escape codes).
  std::string bar_text(const StepStats& stats, double elapsed_s) const;

 private:
  int64_t total_;
  bool tty_;
  int64_t every_;
  std::FILE* out_;
  double last_draw_s_ = -1;
  bool drawn_ = false;
};

/// True when `stream` is attached to a terminal.
bool is_terminal(std::FILE* stream);

}  // namespace convgrad::fcn
