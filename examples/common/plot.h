// Line plots drawn with cairo (canvas.h): axes, "nice" ticks with labels, anti-aliased lines and a legend.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "image.h"

namespace convgrad::example {

/// One line of a plot: points (x[i], y[i]); x empty means 0, 1, 2, ...
struct Series {
  std::vector<double> x;
  std::vector<double> y;
  Rgb color{31, 119, 180};
  std::string label;  ///< shown in the legend when not empty
  int thickness = 2;
};

/// What a panel shows besides its lines.
struct PanelOptions {
  std::string title;
  std::string x_label;
  std::optional<double> y_min, y_max;  ///< fixed y range; unset = fit the data
  bool legend_top = true;              ///< legend in the top-right corner, else bottom-right
};

/// Trailing moving average over `window` values (fewer at the start), to show a trend under noise.
std::vector<double> moving_average(const std::vector<double>& values, size_t window);
/// About `target` round tick positions (steps of 1, 2 or 5 times a power of ten) inside [lo, hi].
std::vector<double> nice_ticks(double lo, double hi, int target);
/// Draws a titled panel with axes, ticks, the series and a legend in the rectangle
/// (x, y, width, height) of `image`. Non-finite points are skipped.
void draw_panel(Image& image, int x, int y, int width, int height, const PanelOptions& options,
                const std::vector<Series>& series);

}  // namespace convgrad::example
