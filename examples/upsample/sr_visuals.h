// Pictures of `upsample train` and `upsample eval`: the PSNR curve and crops side by side.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "core/tensor.h"
#include "sr_train.h"

namespace convgrad::upsample {

/// Writes a PNG plot of PSNR against step: the held-out (validation) curve with bicubic's level as a
/// reference when there is one, and the smoothed PSNR of the training crops.
void write_training_curve(const std::string& path, const TrainResult& result, const std::string& model_name,
                          int64_t scale);

/// One labelled picture of a comparison row: an RGB or grey (C, H, W) image in [0, 1].
struct Panel {
  std::string label;
  Tensor image;
};

/// Writes rows of panels side by side, each scaled by `zoom` (nearest), labels above the first row.
/// Every panel of a row must have the same size.
void write_comparison(const std::string& path, const std::vector<std::vector<Panel>>& rows, int zoom = 2);

}  // namespace convgrad::upsample
