#include "progress.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>

namespace convgrad::fcn {

bool is_terminal(std::FILE* stream) { return isatty(fileno(stream)) != 0; }

Progress::Progress(int64_t total, bool tty, int64_t every, std::FILE* out)
    : total_(std::max<int64_t>(total, 1)), tty_(tty), every_(std::max<int64_t>(every, 1)), out_(out) {}

std::string Progress::format_duration(double seconds) {
  int64_t s = static_cast<int64_t>(std::llround(std::max(seconds, 0.0)));
  if (s >= 3600) return fmt::format("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60);
  return fmt::format("{}:{:02}", s / 60, s % 60);
}

std::string Progress::bar_text(const StepStats& st, double elapsed_s) const {
  constexpr int kWidth = 24;
  double frac = std::clamp(static_cast<double>(st.step) / total_, 0.0, 1.0);
  int filled = static_cast<int>(frac * kWidth);
  double eta = st.step > 0 ? elapsed_s / st.step * (total_ - st.step) : 0.0;
  return fmt::format("[{}{}] {:>{}}/{}  loss {:.4f}  acc {:.3f}  {:.0f} img/s  ETA {}", std::string(filled, '#'),
                     std::string(kWidth - filled, '.'), st.step, fmt::formatted_size("{}", total_), total_,
                     st.loss, st.accuracy, st.images_per_s, format_duration(eta));
}

void Progress::update(const StepStats& st, double elapsed_s) {
  bool last = st.step >= total_;
  if (tty_) {
    if (!last && last_draw_s_ >= 0 && elapsed_s - last_draw_s_ < 0.1) return;
    last_draw_s_ = elapsed_s;
    // \r returns to the line start, \x1b[K clears what a longer previous bar left behind.
    fmt::print(out_, "\r{}\x1b[K", bar_text(st, elapsed_s));
    drawn_ = true;
  } else if (last || st.step % every_ == 0 || st.step == 1) {
    fmt::print(out_, "step {}/{}  loss {:.4f}  acc {:.3f}  {:.0f} img/s  elapsed {}  ETA {}\n", st.step, total_,
               st.loss, st.accuracy, st.images_per_s, format_duration(elapsed_s),
               format_duration(st.step > 0 ? elapsed_s / st.step * (total_ - st.step) : 0.0));
  }
  std::fflush(out_);
}

void Progress::finish() {
  if (tty_ && drawn_) fmt::print(out_, "\n");
  drawn_ = false;
  std::fflush(out_);
}

}  // namespace convgrad::fcn
