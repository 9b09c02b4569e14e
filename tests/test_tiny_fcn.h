// The FCN example's TinyFCN (examples/fcn/tiny_fcn.h) rebuilt from library layers, for tests that need
// a realistic training step without linking the example: 3 -> 16 -> 32/2 -> 64/4 -> 64/8 -> 4 class
// scores -> ConvTranspose2d k16 s8 p4 back to full size.
#pragma once

#include <cstdint>
#include <memory>

#include "core/random.h"
#include "layers/activation.h"
#include "layers/conv.h"
#include "layers/sequential.h"

namespace convgrad::testing {

inline std::shared_ptr<Sequential> tiny_fcn(Generator& gen) {
  auto relu = [] { return std::make_shared<ReLU>(); };
  auto conv = [&](int64_t in, int64_t out, int64_t k, int64_t stride, int64_t pad) {
    return std::make_shared<Conv2d>(Conv2dOptions(in, out, k).stride(stride).padding(pad), gen);
  };
  return std::make_shared<Sequential>(
      conv(3, 16, 3, 1, 1), relu(), conv(16, 32, 3, 2, 1), relu(), conv(32, 64, 3, 2, 1), relu(),
      conv(64, 64, 3, 2, 1), relu(), conv(64, 4, 1, 1, 0),
      std::make_shared<ConvTranspose2d>(ConvTranspose2dOptions(4, 4, 16).stride(8).padding(4).bias(false),
                                        gen));
}

}  // namespace convgrad::testing
