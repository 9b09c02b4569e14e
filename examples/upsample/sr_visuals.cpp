#include "sr_visuals.h"

#include <fmt/format.h>

#include <algorithm>

#include "canvas.h"
#include "image.h"
#include "plot.h"
#include "png_io.h"
#include "tensor_image.h"

namespace convgrad::upsample {

using example::Image;
using example::Rgb;

void write_training_curve(const std::string& path, const TrainResult& res, const std::string& model_name,
                          int64_t scale) {
  constexpr int kW = 640, kH = 400;
  Image image(kW, kH);
  std::vector<example::Series> series;
  example::Series train;
  for (const ValPoint& p : res.train_curve)
    train.x.push_back(static_cast<double>(p.step)), train.y.push_back(p.psnr);
  train.color = Rgb{160, 160, 160};
  train.thickness = 1;
  train.label = "training crops (smoothed)";
  series.push_back(train);
  if (!res.val.empty()) {
    example::Series val, bicubic;
    for (const ValPoint& p : res.val) val.x.push_back(static_cast<double>(p.step)), val.y.push_back(p.psnr);
    val.color = Rgb{31, 119, 180};
    val.label = "held-out, " + model_name;
    bicubic.x = {val.x.front(), val.x.back()};
    bicubic.y = {res.val_bicubic, res.val_bicubic};
    bicubic.color = Rgb{214, 39, 40};
    bicubic.label = "held-out, bicubic";
    series.push_back(val);
    series.push_back(bicubic);
  }
  example::PanelOptions o;
  o.title = fmt::format("{} x{}: PSNR (Y) in dB", model_name, scale);
  o.x_label = "step";
  o.legend_top = false;
  example::draw_panel(image, 0, 0, kW, kH, o, series);
  example::write_png(path, image);
}

void write_comparison(const std::string& path, const std::vector<std::vector<Panel>>& rows, int zoom) {
  CONVGRAD_CHECK(!rows.empty() && !rows[0].empty(), "write_comparison: nothing to draw");
  constexpr int kGap = 6, kMargin = 10;
  const int header = example::text_height() + 6;
  const int cols = static_cast<int>(rows[0].size());
  std::vector<int> heights;
  int cell_w = 0, total_h = 2 * kMargin;
  for (const auto& row : rows) {
    CONVGRAD_CHECK(static_cast<int>(row.size()) == cols, "write_comparison: every row needs {} panels", cols);
    const int h = static_cast<int>(row[0].image.size(-2)) * zoom;
    cell_w = std::max(cell_w, static_cast<int>(row[0].image.size(-1)) * zoom);
    heights.push_back(h);
    total_h += header + h + kGap;
  }
  Image canvas(2 * kMargin + cols * cell_w + (cols - 1) * kGap, total_h);
  const Rgb text{30, 30, 30};
  int y = kMargin;
  for (size_t r = 0; r < rows.size(); ++r) {
    for (int k = 0; k < cols; ++k) {
      const int x = kMargin + k * (cell_w + kGap);
      const std::string& s = rows[r][k].label;
      example::draw_text(canvas, x + (cell_w - example::text_width(s)) / 2, y, s, text);
      canvas.paste(example::image_from_tensor(rows[r][k].image).scaled(zoom), x, y + header);
    }
    y += header + heights[r] + kGap;
  }
  example::write_png(path, canvas);
}

}  // namespace convgrad::upsample
