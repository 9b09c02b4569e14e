// Upscaling whole images of any size with a trained model: tiled with overlap (bounded memory, no
// seam), colour through YCbCr for Y models, and the `upsample apply` command.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "sr_models.h"

namespace convgrad::upsample {

/// How an image is cut into tiles.
struct TileOptions {
  int64_t tile = 128;    ///< low-resolution pixels per tile side (before the overlap is added)
  int64_t overlap = -1;  ///< context added on each side of a tile; -1 = the model's halo()
};

/// model(x) for one low-resolution image x (C, H, W), C = the model's channels, computed tile by
/// tile: each tile is run with `overlap` extra pixels of context on every side (fewer at the image
/// border, where the untiled model also sees the border) and only its centre is kept, so with
/// overlap >= model.halo() the result equals the untiled forward up to float rounding, while peak
/// memory depends on the tile size only. No gradient is recorded.
Tensor upscale_tiled(SrModel& model, const Tensor& x, const TileOptions& options = {});

/// Upscales an image (C, H, W) in [0, 1], C = 1 (grey) or 3 (RGB). A Y model (1 channel) upscales the
/// Y channel (BT.601) and bicubic the chroma (Cb, Cr), as the SR papers do. A grey image is handled as
/// RGB with three equal channels and comes back grey (their mean).
Tensor super_resolve(SrModel& model, const Tensor& image, const TileOptions& options = {});

/// The settings of `upsample apply`.
struct ApplyConfig {
  std::string load;                 ///< checkpoint written by `upsample train --save`
  std::vector<std::string> inputs;  ///< image files (PNG, JPEG, uint8 .npy)
  std::string out;                  ///< output folder: NAME_xS.png per input
  int64_t tile = 128;
  int threads = 2;
};

/// Runs `upsample apply`; returns the exit status.
int run_apply(const ApplyConfig& config);

}  // namespace convgrad::upsample
