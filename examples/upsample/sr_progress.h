// Training progress of `upsample train`: a bar redrawn in place on a terminal, periodic plain lines
// when the output is a file or a pipe.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>

namespace convgrad::upsample {

/// What one training step reports.
struct StepReport {
  int64_t step = 0;         ///< 1-based step just finished
  double loss = 0;          ///< smoothed training loss
  double psnr = 0;          ///< smoothed PSNR of the training crops, dB
  double images_per_s = 0;  ///< crops per second so far
};

/// `[#####.......] 120/3000  loss 0.00123  29.10 dB  410 img/s  ETA 2:31`, redrawn at most ~10 times
/// a second on a TTY; otherwise one line every `every` steps, at step 1 and at the last step.
class SrProgress {
 public:
  SrProgress(int64_t total, bool tty, int64_t every, std::FILE* out = stdout);
  /// Reports a finished step; `elapsed_s` is the training time so far.
  void update(const StepReport& report, double elapsed_s);
  /// Ends the bar's line; call before printing anything else.
  void finish();
  /// The text of the bar (no escape codes).
  std::string text(const StepReport& report, double elapsed_s) const;

 private:
  int64_t total_, every_;
  bool tty_;
  std::FILE* out_;
  double last_draw_s_ = -1;
  bool drawn_ = false;
};

/// "m:ss" for a duration in seconds.
std::string format_duration(double seconds);
/// True when `stream` is a terminal.
bool is_tty(std::FILE* stream);

}  // namespace convgrad::upsample
