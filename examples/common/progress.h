// Training progress shared by the examples: a bar redrawn in place on a terminal, periodic plain lines
// when the output is a file or a pipe. Each example formats its own metrics (loss, accuracy, PSNR...).
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

namespace convgrad::example {

/// Shows the progress of `total` steps on `out`. On a TTY the bar is redrawn in place at most ~10
/// times a second: `[#####.....]  120/1500  METRICS  ETA 1:02`; otherwise one line
/// `step 120/1500  METRICS  elapsed 0:10  ETA 1:02` is printed at step 1, every `every` steps and at
/// the last step, so logs stay short and scripts can read them.
class ProgressBar {
 public:
  ProgressBar(int64_t total, bool tty, int64_t every, std::FILE* out = stdout);
  /// Reports that `step` (1-based) finished, `elapsed_s` seconds into training; `metrics` is the
  /// example's text between the step counter and the time.
  void update(int64_t step, std::string_view metrics, double elapsed_s);
  /// Ends the bar's line (no-op for plain lines); call before printing anything else.
  void finish();
  /// The bar text (no escape codes).
  std::string bar_text(int64_t step, std::string_view metrics, double elapsed_s) const;
  /// The plain line printed when the output is not a terminal.
  std::string line_text(int64_t step, std::string_view metrics, double elapsed_s) const;

 private:
  double eta_s(int64_t step, double elapsed_s) const;

  int64_t total_, every_;
  bool tty_;
  std::FILE* out_;
  double last_draw_s_ = -1;
  bool drawn_ = false;
};

/// "m:ss" (or "h:mm:ss") for a duration in seconds.
std::string format_duration(double seconds);
/// True when `stream` is attached to a terminal.
bool is_terminal(std::FILE* stream);

}  // namespace convgrad::example
