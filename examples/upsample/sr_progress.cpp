#include "sr_progress.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>

namespace convgrad::upsample {

bool is_tty(std::FILE* stream) { return isatty(fileno(stream)) != 0; }

std::string format_duration(double seconds) {
  int64_t s = static_cast<int64_t>(std::llround(std::max(seconds, 0.0)));
  return fmt::format("{}:{:02}", s / 60, s % 60);
}

SrProgress::SrProgress(int64_t total, bool tty, int64_t every, std::FILE* out)
    : total_(std::max<int64_t>(total, 1)), every_(std::max<int64_t>(every, 1)), tty_(tty), out_(out) {}

std::string SrProgress::text(const StepReport& r, double elapsed_s) const {
  constexpr int kWidth = 24;
  const double frac = std::clamp(static_cast<double>(r.step) / total_, 0.0, 1.0);
  const int filled = static_cast<int>(frac * kWidth);
  const double eta = r.step > 0 ? elapsed_s / r.step * (total_ - r.step) : 0.0;
  return fmt::format("[{}{}] {}/{}  loss {:.5f}  {:.2f} dB  {:.0f} img/s  ETA {}", std::string(filled, '#'),
                     std::string(kWidth - filled, '.'), r.step, total_, r.loss, r.psnr, r.images_per_s,
                     format_duration(eta));
}

void SrProgress::update(const StepReport& r, double elapsed_s) {
  const bool last = r.step >= total_;
  if (tty_) {
    if (!last && last_draw_s_ >= 0 && elapsed_s - last_draw_s_ < 0.1) return;
    last_draw_s_ = elapsed_s;
    // \r returns to the line start, \x1b[K clears what a longer previous bar left behind.
    fmt::print(out_, "\r{}\x1b[K", text(r, elapsed_s));
    drawn_ = true;
  } else if (last || r.step == 1 || r.step % every_ == 0) {
    fmt::print(out_, "{}  elapsed {}\n", text(r, elapsed_s), format_duration(elapsed_s));
  }
  std::fflush(out_);
}

void SrProgress::finish() {
  if (tty_ && drawn_) fmt::print(out_, "\n");
  drawn_ = false;
  std::fflush(out_);
}

}  // namespace convgrad::upsample
