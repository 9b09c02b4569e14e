#include "plot.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "font.h"

namespace convgrad::example {
namespace {

constexpr Rgb kAxis{60, 60, 60}, kGrid{225, 225, 225}, kText{30, 30, 30};

double step_for(double lo, double hi, int target) {
  double raw = (hi - lo) / std::max(target, 1);
  double mag = std::pow(10.0, std::floor(std::log10(raw)));
  double f = raw / mag;
  return (f < 1.5 ? 1 : f < 3.5 ? 2 : f < 7.5 ? 5 : 10) * mag;
}

std::string tick_label(double v, double step) {
  int decimals = std::max(0, static_cast<int>(-std::floor(std::log10(step) + 1e-9)));
  if (std::abs(v) < step * 1e-6) v = 0;  // avoid "-0.0"
  return fmt::format("{:.{}f}", v, decimals);
}

}  // namespace

std::vector<double> moving_average(const std::vector<double>& values, size_t window) {
  std::vector<double> out;
  out.reserve(values.size());
  window = std::max<size_t>(window, 1);
  double sum = 0;
  for (size_t i = 0; i < values.size(); ++i) {
    sum += values[i];
    if (i >= window) sum -= values[i - window];
    out.push_back(sum / static_cast<double>(std::min(i + 1, window)));
  }
  return out;
}

std::vector<double> nice_ticks(double lo, double hi, int target) {
  std::vector<double> ticks;
  if (!(hi > lo) || !std::isfinite(lo) || !std::isfinite(hi)) return ticks;
  double step = step_for(lo, hi, target);
  for (double v = std::ceil(lo / step - 1e-9) * step; v <= hi + step * 1e-9; v += step) ticks.push_back(v);
  return ticks;
}

void draw_panel(Image& image, int x, int y, int width, int height, const PanelOptions& options,
                const std::vector<Series>& series) {
  // Data ranges (x defaults to the index).
  double x_lo = std::numeric_limits<double>::infinity(), x_hi = -x_lo, y_lo = x_lo, y_hi = -x_lo;
  auto x_at = [](const Series& s, size_t i) { return s.x.empty() ? static_cast<double>(i) : s.x[i]; };
  for (const Series& s : series)
    for (size_t i = 0; i < s.y.size(); ++i) {
      if (!std::isfinite(s.y[i])) continue;
      x_lo = std::min(x_lo, x_at(s, i));
      x_hi = std::max(x_hi, x_at(s, i));
      y_lo = std::min(y_lo, s.y[i]);
      y_hi = std::max(y_hi, s.y[i]);
    }
  if (!std::isfinite(x_lo)) x_lo = 0, x_hi = 1, y_lo = 0, y_hi = 1;
  if (options.y_min) y_lo = *options.y_min;
  if (options.y_max) y_hi = *options.y_max;
  if (!options.y_min && !options.y_max) {  // a little air above and below the data
    double pad = (y_hi - y_lo) * 0.05;
    y_lo -= pad;
    y_hi += pad;
  }
  if (x_hi <= x_lo) x_hi = x_lo + 1;
  if (y_hi <= y_lo) y_hi = y_lo + 1;

  // Layout: title on top, tick labels left and below, the plot area in between.
  std::vector<double> y_ticks = nice_ticks(y_lo, y_hi, 5), x_ticks = nice_ticks(x_lo, x_hi, 6);
  double y_step = y_ticks.size() > 1 ? y_ticks[1] - y_ticks[0] : 1;
  double x_step = x_ticks.size() > 1 ? x_ticks[1] - x_ticks[0] : 1;
  int label_w = 0;
  for (double t : y_ticks) label_w = std::max(label_w, text_width(tick_label(t, y_step)));
  int left = x + label_w + 10, top = y + text_height(2) + 8;
  int right = x + width - 20, bottom = y + height - text_height() * 2 - 10;
  draw_text(image, x + (width - text_width(options.title, 2)) / 2, y + 2, options.title, kText, 2);
  draw_text(image, left + (right - left - text_width(options.x_label)) / 2, bottom + text_height() + 8,
            options.x_label, kText);

  auto px = [&](double v) { return left + (v - x_lo) / (x_hi - x_lo) * (right - left); };
  auto py = [&](double v) { return bottom - (v - y_lo) / (y_hi - y_lo) * (bottom - top); };
  for (double t : y_ticks) {
    int ty = static_cast<int>(std::lround(py(t)));
    image.fill_rect(left + 1, ty, right - left, 1, kGrid);
    image.fill_rect(left - 4, ty, 4, 1, kAxis);
    std::string s = tick_label(t, y_step);
    draw_text(image, left - 7 - text_width(s), ty - 3, s, kText);
  }
  for (double t : x_ticks) {
    int tx = static_cast<int>(std::lround(px(t)));
    image.fill_rect(tx, top, 1, bottom - top, kGrid);
    image.fill_rect(tx, bottom, 1, 4, kAxis);
    std::string s = tick_label(t, x_step);
    draw_text(image, tx - text_width(s) / 2, bottom + 6, s, kText);
  }
  image.fill_rect(left, top, 1, bottom - top + 1, kAxis);
  image.fill_rect(left, bottom, right - left + 1, 1, kAxis);

  // Lines, clipped to the plot area by clamping (values outside a fixed range sit on the edge).
  for (const Series& s : series) {
    bool have_prev = false;
    double prev_x = 0, prev_y = 0;
    for (size_t i = 0; i < s.y.size(); ++i) {
      if (!std::isfinite(s.y[i])) {
        have_prev = false;
        continue;
      }
      double cx = px(x_at(s, i)), cy = std::clamp(py(s.y[i]), double(top), double(bottom));
      if (have_prev) image.draw_line(prev_x, prev_y, cx, cy, s.color, s.thickness);
      prev_x = cx, prev_y = cy, have_prev = true;
    }
  }

  // Legend: a boxed list in the top-right (or bottom-right) corner, one colour swatch per labelled series.
  int labelled = 0, legend_w = 0;
  for (const Series& s : series)
    if (!s.label.empty()) ++labelled, legend_w = std::max(legend_w, text_width(s.label));
  if (labelled == 0) return;
  const int row_h = text_height() + 4, box_w = legend_w + 32, box_h = labelled * row_h + 8;
  const int bx = right - box_w - 6, by = options.legend_top ? top + 6 : bottom - box_h - 6;
  image.fill_rect(bx, by, box_w, box_h, {255, 255, 255});
  image.draw_rect(bx, by, box_w, box_h, {200, 200, 200});
  int row = 0;
  for (const Series& s : series) {
    if (s.label.empty()) continue;
    int ly = by + 6 + row++ * row_h;
    image.fill_rect(bx + 6, ly + 2, 16, 3, s.color);
    draw_text(image, bx + 26, ly, s.label, kText);
  }
}

}  // namespace convgrad::example
