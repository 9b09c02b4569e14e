// PixelShuffle and PixelUnshuffle: the sub-pixel rearrangement as modules, for a Sequential.
#pragma once

#include <cstdint>
#include <string>

#include "layers/module.h"

namespace convgrad {

/// (*, C*r*r, H, W) -> (*, C, H*r, W*r) like nn.PixelShuffle(upscale_factor).
class PixelShuffle : public Module {
 public:
  explicit PixelShuffle(int64_t upscale_factor);
  Tensor forward(const Tensor& x) override;
  std::string name() const override { return "PixelShuffle"; }
  std::string extra_repr() const override;
  int64_t upscale_factor() const { return factor_; }

 private:
  int64_t factor_;
};

/// (*, C, H*r, W*r) -> (*, C*r*r, H, W) like nn.PixelUnshuffle(downscale_factor).
class PixelUnshuffle : public Module {
 public:
  explicit PixelUnshuffle(int64_t downscale_factor);
  Tensor forward(const Tensor& x) override;
  std::string name() const override { return "PixelUnshuffle"; }
  std::string extra_repr() const override;
  int64_t downscale_factor() const { return factor_; }

 private:
  int64_t factor_;
};

}  // namespace convgrad
