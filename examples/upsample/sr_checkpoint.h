// Super-resolution checkpoints: the model's state dict plus the metadata that rebuilds the model, in
// one .npz that np.load reads.
//
// Metadata entries are int64 arrays whose names start with "meta." (docs/super-resolution.md):
//   meta.format    0-d, the layout version (1)
//   meta.arch      1-D, the architecture name as character codes ("fsrcnn", "espcn", "tconv");
//                  in Python: bytes(z["meta.arch"].astype("u1")).decode()
//   meta.scale, meta.channels, meta.residual (0/1), meta.d, meta.s, meta.m   0-d, the SrConfig fields
//   meta.steps     0-d, the optimizer steps the weights were trained for (informational)
// Every other entry is the model's state dict under PyTorch's names (features.0.weight, deconv.bias, ...).
#pragma once

#include <memory>
#include <string>

#include "sr_models.h"

namespace convgrad::upsample {

/// The metadata prefix of the checkpoint entries.
inline constexpr const char* kMetaPrefix = "meta.";
/// The metadata layout written by save_sr_checkpoint.
inline constexpr int64_t kMetaFormat = 1;

/// A model read back from a checkpoint, with how long it was trained.
struct LoadedModel {
  std::shared_ptr<SrModel> model;
  int64_t steps = 0;
};

/// Writes the model's weights and its SrConfig (and `steps`) to `path` atomically.
void save_sr_checkpoint(const SrModel& model, const std::string& path, int64_t steps = 0);
/// Rebuilds the model from the metadata of `path` and loads its weights. A file without the metadata,
/// with an unknown format or architecture, or whose weights do not fit the described model throws
/// convgrad::Error naming the file and the problem.
LoadedModel load_sr_checkpoint(const std::string& path);

}  // namespace convgrad::upsample
