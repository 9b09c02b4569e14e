#include "core/storage.h"

#include <atomic>
#include <cstdlib>
#include <cstring>

#include "core/error.h"

namespace convgrad {

namespace {
std::atomic<int64_t> g_live{0};
}

Storage::Storage(size_t nbytes, StorageInit init) : nbytes_(nbytes) {
  // aligned_alloc needs a size that is a multiple of the alignment (and > 0 to be portable).
  size_t rounded = ((nbytes + 63) / 64) * 64;
  if (rounded == 0) rounded = 64;
  data_ = std::aligned_alloc(64, rounded);
  if (!data_) fail("Storage: could not allocate {} bytes", nbytes);
  if (init == StorageInit::Zeros) std::memset(data_, 0, rounded);
  ++g_live;
}

Storage::~Storage() {
  std::free(data_);
  --g_live;
}

int64_t Storage::live_count() { return g_live.load(); }

}  // namespace convgrad
