#include "plot.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "canvas.h"

namespace convgrad::example {
namespace {

constexpr Rgb kAxis{60, 60, 60}, kGrid{225, 225, 225}, kText{30, 30, 30};
constexpr double kTitleSize = 16.0, kTickSize = 11.0;

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
  for (double t : y_ticks) label_w = std::max(label_w, text_width(tick_label(t, y_step), kTickSize));
  const int tick_h = text_height(kTickSize);
  int left = x + label_w + 12, top = y + text_height(kTitleSize) + 10;
  int right = x + width - 20, bottom = y + height - tick_h - text_height() - 14;

  Canvas canvas(image, x, y, width, height);
  cairo_t* cr = canvas.cr();
  canvas.text(x + (width - text_width(options.title, kTitleSize)) / 2.0, y + 4, options.title, kText,
              kTitleSize);
  canvas.text(left + (right - left - text_width(options.x_label)) / 2.0, bottom + tick_h + 10,
              options.x_label, kText);

  // Grid, ticks and axes on whole pixels (a rectangle per line), so they stay crisp.
  auto px = [&](double v) { return left + (v - x_lo) / (x_hi - x_lo) * (right - left); };
  auto py = [&](double v) { return bottom - (v - y_lo) / (y_hi - y_lo) * (bottom - top); };
  auto rect = [&](int rx, int ry, int rw, int rh, Rgb color) {
    canvas.set_color(color);
    cairo_rectangle(cr, rx, ry, rw, rh);
    cairo_fill(cr);
  };
  for (double t : y_ticks) {
    int ty = static_cast<int>(std::lround(py(t)));
    rect(left + 1, ty, right - left, 1, kGrid);
    rect(left - 4, ty, 4, 1, kAxis);
    std::string s = tick_label(t, y_step);
    canvas.text(left - 7 - text_width(s, kTickSize), ty - tick_h / 2.0, s, kText, kTickSize);
  }
  for (double t : x_ticks) {
    int tx = static_cast<int>(std::lround(px(t)));
    rect(tx, top, 1, bottom - top, kGrid);
    rect(tx, bottom, 1, 4, kAxis);
    std::string s = tick_label(t, x_step);
    canvas.text(tx - text_width(s, kTickSize) / 2.0, bottom + 6, s, kText, kTickSize);
  }
  rect(left, top, 1, bottom - top + 1, kAxis);
  rect(left, bottom, right - left + 1, 1, kAxis);

  // Lines: anti-aliased polylines clipped to the plot area; a non-finite point breaks the line.
  cairo_save(cr);
  cairo_rectangle(cr, left + 1, top, right - left, bottom - top);
  cairo_clip(cr);
  cairo_set_line_join(cr, CAIRO_LINE_JOIN_ROUND);
  cairo_set_line_cap(cr, CAIRO_LINE_CAP_ROUND);
  for (const Series& s : series) {
    bool have_prev = false;
    for (size_t i = 0; i < s.y.size(); ++i) {
      if (!std::isfinite(s.y[i])) {
        have_prev = false;
        continue;
      }
      if (have_prev)
        cairo_line_to(cr, px(x_at(s, i)), py(s.y[i]));
      else
        cairo_move_to(cr, px(x_at(s, i)), py(s.y[i]));
      have_prev = true;
    }
    canvas.set_color(s.color);
    cairo_set_line_width(cr, s.thickness);
    cairo_stroke(cr);
  }
  cairo_restore(cr);

  // Legend: a boxed list in the top-right (or bottom-right) corner, one colour swatch per labelled series.
  int labelled = 0, legend_w = 0;
  for (const Series& s : series)
    if (!s.label.empty()) ++labelled, legend_w = std::max(legend_w, text_width(s.label));
  if (labelled == 0) return;
  const int row_h = text_height() + 4, box_w = legend_w + 36, box_h = labelled * row_h + 8;
  const int bx = right - box_w - 6, by = options.legend_top ? top + 6 : bottom - box_h - 6;
  rect(bx, by, box_w, box_h, {200, 200, 200});
  rect(bx + 1, by + 1, box_w - 2, box_h - 2, {255, 255, 255});
  int row = 0;
  for (const Series& s : series) {
    if (s.label.empty()) continue;
    int ly = by + 4 + row++ * row_h;
    rect(bx + 6, ly + row_h / 2 - 2, 18, std::max(s.thickness, 2), s.color);
    canvas.text(bx + 30, ly + 1, s.label, kText);
  }
}

}  // namespace convgrad::example
