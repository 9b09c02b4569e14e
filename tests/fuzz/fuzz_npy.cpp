// libFuzzer target: the .npy parser (core/npy.h parse_npy). Any input must either parse or throw
// convgrad::Error; a parsed array must round-trip through npy_bytes, and its size must be bounded by the
// input's (sizes are checked against the file before anything is allocated).
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/factory.h"
#include "core/npy.h"
#include "fuzz_util.h"

using namespace convgrad;

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  fuzz::write_seeds_if_asked([] {
    return std::vector<std::pair<std::string, std::string>>{
        {"scalar_f4.npy", npy_bytes(full({}, 1.5))},
        {"i8_2x3.npy", npy_bytes(from_vector(std::vector<int64_t>{1, -2, 3, 1 << 20, 0, -1}, {2, 3}))},
        {"f4_6d.npy", npy_bytes(from_vector(arange(12).to_vector(), {1, 2, 1, 3, 2, 1}))},
        {"f4_0x5.npy", npy_bytes(zeros({0, 5}))},
    };
  });
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  Tensor t;
  try {
    t = parse_npy(bytes, "fuzz");
  } catch (const Error&) {
    return 0;
  }
  // uint8 files load as int64: at most eight times the input's bytes.
  size_t loaded = static_cast<size_t>(t.numel()) * dtype_size(t.dtype());
  if (loaded > 8 * size) std::abort();
  Tensor again = parse_npy(npy_bytes(t), "round trip");
  if (again.shape() != t.shape() || again.dtype() != t.dtype() || npy_bytes(again) != npy_bytes(t))
    std::abort();
  return 0;
}
