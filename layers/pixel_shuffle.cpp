#include "layers/pixel_shuffle.h"

#include "autograd/ops_shuffle.h"

namespace convgrad {

PixelShuffle::PixelShuffle(int64_t upscale_factor) : factor_(upscale_factor) {
  CONVGRAD_CHECK(upscale_factor > 0, "PixelShuffle: upscale_factor must be positive, got {}", upscale_factor);
}

Tensor PixelShuffle::forward(const Tensor& x) { return pixel_shuffle(x, factor_); }

std::string PixelShuffle::extra_repr() const { return fmt::format("upscale_factor={}", factor_); }

PixelUnshuffle::PixelUnshuffle(int64_t downscale_factor) : factor_(downscale_factor) {
  CONVGRAD_CHECK(downscale_factor > 0, "PixelUnshuffle: downscale_factor must be positive, got {}",
                 downscale_factor);
}

Tensor PixelUnshuffle::forward(const Tensor& x) { return pixel_unshuffle(x, factor_); }

std::string PixelUnshuffle::extra_repr() const { return fmt::format("downscale_factor={}", factor_); }

}  // namespace convgrad
