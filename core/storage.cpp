#include "core/storage.h"

#include <atomic>
#include <cstdlib>
#include <cstring>

#include "core/memory.h"

namespace convgrad {

namespace {
std::atomic<int64_t> g_live{0};

std::atomic<bool>& poison_flag() {
  static std::atomic<bool> flag = [] {
    const char* env = std::getenv("CONVGRAD_POISON");
    return env && std::strcmp(env, "1") == 0;
  }();
  return flag;
}
}  // namespace

bool poison_uninitialized() { return poison_flag().load(std::memory_order_relaxed); }
void set_poison_uninitialized(bool on) { poison_flag().store(on, std::memory_order_relaxed); }

Storage::Storage(size_t nbytes, StorageInit init) : nbytes_(nbytes) {
  data_ = detail::allocate_block(nbytes);
  // Zero (or poison) the requested bytes rounded up to 64, as a kernel working in 64-byte vectors may
  // read that far; the rest of a rounded-up block is never looked at.
  size_t touched = nbytes == 0 ? 64 : (nbytes + 63) / 64 * 64;
  if (init == StorageInit::Zeros)
    std::memset(data_, 0, touched);
  else if (poison_uninitialized())
    std::memset(data_, 0xFF, touched);
  ++g_live;
}

Storage::~Storage() {
  detail::release_block(data_, nbytes_);
  --g_live;
}

int64_t Storage::live_count() { return g_live.load(); }

}  // namespace convgrad
