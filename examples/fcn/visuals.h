// The FCN example's pictures: a prediction grid (input | prediction | ground truth) and training curves.
#pragma once

#include <string>
#include <vector>

#include "core/tensor.h"
#include "image.h"

namespace convgrad::fcn {

/// One fixed colour per class: background dark grey, disk red, square blue, triangle yellow.
const std::vector<example::Rgb>& class_palette();

/// A grid of `images` (N, 3, 64, 64) with their predicted and true label maps (N, 64, 64), one
/// "input | prediction | ground truth" triple per image, two triples per row, pixels scaled x2,
/// with column titles and a colour legend.
example::Image prediction_grid(const Tensor& images, const Tensor& predictions, const Tensor& labels);

/// Two panels: training loss and training pixel accuracy per step (raw values light, smoothed dark);
/// `subtitle` is drawn under the panels (e.g. the final held-out metrics).
example::Image training_curves(const std::vector<double>& loss, const std::vector<double>& accuracy,
                               const std::string& subtitle);

}  // namespace convgrad::fcn
