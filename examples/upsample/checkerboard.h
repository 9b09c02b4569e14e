// --checkerboard: why a transposed conv whose kernel size is not a multiple of its stride paints a
// checkerboard, shown on numbers, measured on learned models, and drawn.
#pragma once

#include "training.h"

namespace convgrad::upsample {

/// How much stride-2 checkerboard a model paints on a flat grey input: the spread (max - min) of the
/// mean output over the four pixel phases (row, column parity) away from the border, averaged over
/// channels; 0 for a perfectly flat output.
double flat_ripple(Upsampler& model);

/// Prints the tap-count demonstration, trains k4 s2 and k3 s2 learned upsamplers from random weights
/// and the default bilinear-skip model, reports PSNR and ripple (before and after training) of each
/// and writes upsample_checkerboard.png. Returns 0.
int run_checkerboard(const RunConfig& config);

}  // namespace convgrad::upsample
