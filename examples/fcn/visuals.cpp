#include "visuals.h"

#include <algorithm>

#include "autograd/ops_shape.h"
#include "canvas.h"
#include "core/error.h"
#include "plot.h"
#include "shapes_data.h"
#include "tensor_image.h"

namespace convgrad::fcn {

using example::Image;
using example::Rgb;

const std::vector<Rgb>& class_palette() {
  static const std::vector<Rgb> palette = {{40, 40, 48}, {228, 68, 56}, {52, 126, 226}, {246, 196, 40}};
  return palette;
}

Image prediction_grid(const Tensor& images, const Tensor& predictions, const Tensor& labels) {
  CONVGRAD_CHECK(
      images.dim() == 4 && predictions.dim() == 3 && labels.shape() == predictions.shape() &&
          images.size(0) == labels.size(0),
      "prediction_grid: expected images (N, 3, H, W) and labels/predictions (N, H, W), got {}, {}, {}",
      shape_str(images.shape()), shape_str(predictions.shape()), shape_str(labels.shape()));
  constexpr int kScale = 2, kGap = 4, kGroupGap = 16, kPerRow = 2, kMargin = 10;
  const int n = static_cast<int>(images.size(0));
  const int cell = static_cast<int>(images.size(3)) * kScale;
  const int group_w = 3 * cell + 2 * kGap;
  const int rows = (n + kPerRow - 1) / kPerRow;
  const int header = example::text_height() + 8, legend = example::text_height() + 14;
  Image grid(2 * kMargin + kPerRow * group_w + (kPerRow - 1) * kGroupGap,
             2 * kMargin + header + rows * (cell + kGap) + legend, {255, 255, 255});
  const Rgb text{30, 30, 30};
  const char* titles[3] = {"input", "prediction", "ground truth"};
  for (int g = 0; g < std::min(n, kPerRow); ++g)
    for (int k = 0; k < 3; ++k) {
      int x = kMargin + g * (group_w + kGroupGap) + k * (cell + kGap);
      example::draw_text(grid, x + (cell - example::text_width(titles[k])) / 2, kMargin, titles[k], text);
    }
  for (int i = 0; i < n; ++i) {
    int x = kMargin + (i % kPerRow) * (group_w + kGroupGap),
        y = kMargin + header + (i / kPerRow) * (cell + kGap);
    grid.paste(example::image_from_tensor(select(images, 0, i).detach()).scaled(kScale), x, y);
    grid.paste(example::image_from_labels(select(predictions, 0, i), class_palette()).scaled(kScale),
               x + cell + kGap, y);
    grid.paste(example::image_from_labels(select(labels, 0, i), class_palette()).scaled(kScale),
               x + 2 * (cell + kGap), y);
  }
  // Legend: a swatch and the name of each class.
  int lx = kMargin, ly = grid.height() - kMargin - example::text_height() - 2;
  for (int64_t c = 0; c < kClasses; ++c) {
    grid.fill_rect(lx, ly + (example::text_height() - 10) / 2, 10, 10, class_palette()[c]);
    example::draw_text(grid, lx + 14, ly, class_name(c), text);
    lx += 14 + example::text_width(class_name(c)) + 18;
  }
  return grid;
}

Image training_curves(const std::vector<double>& loss, const std::vector<double>& accuracy,
                      const std::string& subtitle) {
  constexpr int kPanelW = 420, kPanelH = 280, kFoot = 24;
  Image image(2 * kPanelW, kPanelH + kFoot, {255, 255, 255});
  std::vector<double> steps(loss.size());
  for (size_t i = 0; i < steps.size(); ++i) steps[i] = static_cast<double>(i + 1);
  const Rgb light_blue{174, 199, 232}, blue{31, 119, 180}, light_green{152, 223, 138}, green{44, 160, 44};
  const size_t window = std::max<size_t>(loss.size() / 40, 1);
  example::PanelOptions lo{"training loss", "step", 0.0, std::nullopt, true};
  example::draw_panel(image, 0, 0, kPanelW, kPanelH, lo,
                      {{steps, loss, light_blue, "per step", 1},
                       {steps, example::moving_average(loss, window), blue, "moving average", 2}});
  example::PanelOptions ao{"training pixel accuracy", "step", std::nullopt, 1.0, false};
  example::draw_panel(image, kPanelW, 0, kPanelW, kPanelH, ao,
                      {{steps, accuracy, light_green, "per step", 1},
                       {steps, example::moving_average(accuracy, window), green, "moving average", 2}});
  example::draw_text(image, (image.width() - example::text_width(subtitle)) / 2, kPanelH + 6, subtitle,
                     {30, 30, 30});
  return image;
}

}  // namespace convgrad::fcn
