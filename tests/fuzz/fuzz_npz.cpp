// libFuzzer target: the .npz (ZIP) reader (core/npy.h parse_npz). Each input is parsed as is and again
// with its stored members' CRC-32s repaired, so mutations inside members reach the .npy parser.
// Either it parses or it throws convgrad::Error; parsed archives must round-trip through npz_bytes.
#include <cstdint>
#include <cstdlib>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "core/factory.h"
#include "core/npy.h"
#include "fuzz_util.h"

using namespace convgrad;

namespace {

void check_one(std::string_view bytes) {
  std::map<std::string, Tensor> arrays;
  try {
    arrays = parse_npz(bytes, "fuzz");
  } catch (const Error&) {
    return;
  }
  std::vector<std::pair<std::string, Tensor>> list(arrays.begin(), arrays.end());
  std::map<std::string, Tensor> again;
  try {
    again = parse_npz(npz_bytes(list), "round trip");
  } catch (const Error&) {
    std::abort();  // whatever the reader accepts, the writer must write back
  }
  if (again.size() != arrays.size()) std::abort();
  for (const auto& [name, t] : arrays)
    if (!again.count(name) || npy_bytes(again.at(name)) != npy_bytes(t)) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  fuzz::write_seeds_if_asked([] {
    std::vector<std::pair<std::string, Tensor>> three{
        {"weight", from_vector(std::vector<float>{0.5f, -1.f, 2.f, 3.f}, {2, 2})},
        {"labels", from_vector(std::vector<int64_t>{3, 1, 2}, {3})},
        {"step", full({}, 7, DType::Int64)}};
    return std::vector<std::pair<std::string, std::string>>{
        {"three_arrays.npz", npz_bytes(three)},
        {"empty_archive.npz", npz_bytes({})},
        {"zero_size_member.npz", npz_bytes({{"nothing", zeros({0, 3})}})},
    };
  });
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string bytes(reinterpret_cast<const char*>(data), size);
  check_one(bytes);
  std::string repaired = fuzz::repair_zip_crcs(bytes);
  if (repaired != bytes) check_one(repaired);
  return 0;
}
