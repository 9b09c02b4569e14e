#include "progress.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>

namespace convgrad::example {

bool is_terminal(std::FILE* stream) { return isatty(fileno(stream)) != 0; }

std::string format_duration(double seconds) {
  const int64_t s = static_cast<int64_t>(std::llround(std::max(seconds, 0.0)));
  if (s >= 3600) return fmt::format("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60);
  return fmt::format("{}:{:02}", s / 60, s % 60);
}

ProgressBar::ProgressBar(int64_t total, bool tty, int64_t every, std::FILE* out)
    : total_(std::max<int64_t>(total, 1)), every_(std::max<int64_t>(every, 1)), tty_(tty), out_(out) {}

double ProgressBar::eta_s(int64_t step, double elapsed_s) const {
  return step > 0 ? elapsed_s / static_cast<double>(step) * static_cast<double>(total_ - step) : 0.0;
}

std::string ProgressBar::bar_text(int64_t step, std::string_view metrics, double elapsed_s) const {
  constexpr int kWidth = 24;
  const double frac = std::clamp(static_cast<double>(step) / static_cast<double>(total_), 0.0, 1.0);
  const int filled = static_cast<int>(frac * kWidth);
  return fmt::format("[{}{}] {}  {}  ETA {}", std::string(filled, '#'), std::string(kWidth - filled, '.'),
                     // The step is right-aligned to the width of the total, so the bar does not jitter.
                     fmt::format("{:>{}}/{}", step, fmt::formatted_size("{}", total_), total_), metrics,
                     format_duration(eta_s(step, elapsed_s)));
}

std::string ProgressBar::line_text(int64_t step, std::string_view metrics, double elapsed_s) const {
  return fmt::format("step {}/{}  {}  elapsed {}  ETA {}", step, total_, metrics, format_duration(elapsed_s),
                     format_duration(eta_s(step, elapsed_s)));
}

void ProgressBar::update(int64_t step, std::string_view metrics, double elapsed_s) {
  const bool last = step >= total_;
  if (tty_) {
    if (!last && last_draw_s_ >= 0 && elapsed_s - last_draw_s_ < 0.1) return;
    last_draw_s_ = elapsed_s;
    // \r returns to the line start, \x1b[K clears what a longer previous bar left behind.
    fmt::print(out_, "\r{}\x1b[K", bar_text(step, metrics, elapsed_s));
    drawn_ = true;
  } else if (last || step == 1 || step % every_ == 0) {
    fmt::print(out_, "{}\n", line_text(step, metrics, elapsed_s));
  }
  std::fflush(out_);
}

void ProgressBar::finish() {
  if (tty_ && drawn_) fmt::print(out_, "\n");
  drawn_ = false;
  std::fflush(out_);
}

}  // namespace convgrad::example
