// The caching allocator behind Storage. A freed block goes to the free list of its size class and the
// next request of that class takes it back, so a training loop, which allocates the same sizes every
// step, stops paying for mmap, page faults and the kernel's zeroing of fresh pages after its first step.
#include "core/memory.h"

#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstdlib>
#include <map>
#include <mutex>
#include <new>
#include <string>
#include <vector>

#include "core/error.h"

// AddressSanitizer (gcc defines __SANITIZE_ADDRESS__, clang has the feature test).
#if defined(__SANITIZE_ADDRESS__)
#define CONVGRAD_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define CONVGRAD_ASAN 1
#endif
#endif
#ifdef CONVGRAD_ASAN
#include <sanitizer/asan_interface.h>
#endif

namespace convgrad {

namespace {

constexpr size_t kAlign = 64;

// With caching explicitly on under ASan, a cached block is poisoned, so a use after free is still reported
// (as a use-after-poison) while it waits in the cache.
void poison_cached(void* p, size_t n) {
#ifdef CONVGRAD_ASAN
  ASAN_POISON_MEMORY_REGION(p, n);
#else
  (void)p, (void)n;
#endif
}
void unpoison_cached(void* p, size_t n) {
#ifdef CONVGRAD_ASAN
  ASAN_UNPOISON_MEMORY_REGION(p, n);
#else
  (void)p, (void)n;
#endif
}

int64_t default_limit() {
#ifdef CONVGRAD_ASAN
  constexpr bool sanitized = true;
#else
  constexpr bool sanitized = false;
#endif
  if (const char* env = std::getenv("CONVGRAD_ALLOCATOR_CACHE_MB"); env && *env) {
    char* end = nullptr;
    errno = 0;
    long long mb = std::strtoll(env, &end, 10);
    CONVGRAD_CHECK(
        errno == 0 && *end == '\0' && mb >= 0 && mb < (1LL << 40),
        "CONVGRAD_ALLOCATOR_CACHE_MB='{}': expected a whole number of megabytes (0 turns the cache off)",
        env);
    return static_cast<int64_t>(mb) << 20;
  }
  if (sanitized) return 0;
  long pages = ::sysconf(_SC_PHYS_PAGES), page = ::sysconf(_SC_PAGESIZE);
  int64_t physical = pages > 0 && page > 0 ? static_cast<int64_t>(pages) * page : (int64_t{4} << 30);
  return std::min<int64_t>(physical / 4, int64_t{4} << 30);
}

struct Cached {
  void* block;
  uint64_t stamp;  // when it was cached: eviction takes the oldest first
};

// Never destroyed (a Storage may die in another translation unit's static destructor after this one's
// would have run). Its free lists stay reachable from this static object, so LeakSanitizer does not
// count blocks still cached at exit as leaks.
struct Allocator {
  std::mutex mutex;
  // Block size -> cached blocks, newest last. Emptied lists stay, so that a steady loop of allocations
  // and frees allocates nothing here.
  std::map<size_t, std::vector<Cached>> free_lists;
  int64_t limit = default_limit();
  uint64_t clock = 0;
  MemoryStats stats;

  // Removes the oldest cached block (the caller holds the mutex) and returns it for freeing.
  void* evict_oldest(size_t* size) {
    auto oldest = free_lists.end();
    for (auto it = free_lists.begin(); it != free_lists.end(); ++it)
      if (!it->second.empty() &&
          (oldest == free_lists.end() || it->second.front().stamp < oldest->second.front().stamp))
        oldest = it;
    *size = oldest->first;
    void* block = oldest->second.front().block;
    oldest->second.erase(oldest->second.begin());
    stats.cached_bytes -= static_cast<int64_t>(*size);
    --stats.cached_blocks;
    ++stats.evictions;
    return block;
  }

  // Evicts until cached_bytes + incoming <= limit (the caller holds the mutex); the blocks go to `out`.
  void trim(int64_t incoming, std::vector<std::pair<void*, size_t>>& out) {
    while (stats.cached_blocks > 0 && stats.cached_bytes + incoming > limit) {
      size_t size = 0;
      void* block = evict_oldest(&size);
      out.emplace_back(block, size);
    }
  }
};

Allocator& allocator() {
  alignas(Allocator) static unsigned char storage[sizeof(Allocator)];
  static Allocator* instance = new (storage) Allocator();
  return *instance;
}

void free_blocks(const std::vector<std::pair<void*, size_t>>& blocks) {
  for (auto [block, size] : blocks) {
    unpoison_cached(block, size);
    std::free(block);
  }
}

}  // namespace

size_t allocator_block_size(size_t nbytes) {
  if (nbytes <= 1024) return nbytes == 0 ? kAlign : (nbytes + kAlign - 1) / kAlign * kAlign;
  // 2^k < nbytes <= 2^(k+1): eight classes per doubling, 2^k / 8 apart.
  size_t step = (size_t{1} << (std::bit_width(nbytes - 1) - 1)) / 8;
  return (nbytes + step - 1) / step * step;
}

namespace detail {

void* allocate_block(size_t nbytes) {
  // Beyond this the rounding to a size class would overflow; no system has that much memory anyway.
  CONVGRAD_CHECK(nbytes <= SIZE_MAX / 4, "Storage: {} bytes requested; that is more than can be addressed",
                 nbytes);
  const size_t size = allocator_block_size(nbytes);
  Allocator& a = allocator();
  {
    std::lock_guard<std::mutex> lock(a.mutex);
    auto it = a.free_lists.find(size);
    if (it != a.free_lists.end() && !it->second.empty()) {
      void* block = it->second.back().block;  // the most recently freed block: likely still in cache
      it->second.pop_back();
      a.stats.cached_bytes -= static_cast<int64_t>(size);
      --a.stats.cached_blocks;
      ++a.stats.cache_hits;
      a.stats.in_use_bytes += static_cast<int64_t>(size);
      a.stats.peak_in_use_bytes = std::max(a.stats.peak_in_use_bytes, a.stats.in_use_bytes);
      unpoison_cached(block, size);
      return block;
    }
  }
  void* block = std::aligned_alloc(kAlign, size);
  if (!block) {
    // The cache may hold the memory the system lacks: give it back and try once more.
    empty_cache();
    block = std::aligned_alloc(kAlign, size);
    if (!block) fail("Storage: could not allocate {} bytes (out of memory)", nbytes);
  }
  std::lock_guard<std::mutex> lock(a.mutex);
  ++a.stats.cache_misses;
  a.stats.in_use_bytes += static_cast<int64_t>(size);
  a.stats.peak_in_use_bytes = std::max(a.stats.peak_in_use_bytes, a.stats.in_use_bytes);
  return block;
}

void release_block(void* block, size_t nbytes) {
  if (!block) return;
  const size_t size = allocator_block_size(nbytes);
  Allocator& a = allocator();
  std::vector<std::pair<void*, size_t>> to_free;
  {
    std::lock_guard<std::mutex> lock(a.mutex);
    a.stats.in_use_bytes -= static_cast<int64_t>(size);
    if (static_cast<int64_t>(size) <= a.limit) {
      a.trim(static_cast<int64_t>(size), to_free);
      poison_cached(block, size);
      a.free_lists[size].push_back({block, ++a.clock});
      a.stats.cached_bytes += static_cast<int64_t>(size);
      ++a.stats.cached_blocks;
      block = nullptr;
    }
  }
  if (block) std::free(block);
  free_blocks(to_free);
}

}  // namespace detail

MemoryStats memory_stats() {
  Allocator& a = allocator();
  std::lock_guard<std::mutex> lock(a.mutex);
  MemoryStats s = a.stats;
  s.cache_limit_bytes = a.limit;
  return s;
}

void empty_cache() {
  Allocator& a = allocator();
  std::vector<std::pair<void*, size_t>> to_free;
  {
    std::lock_guard<std::mutex> lock(a.mutex);
    for (auto& [size, list] : a.free_lists)
      for (const Cached& c : list) to_free.emplace_back(c.block, size);
    a.stats.evictions += static_cast<int64_t>(to_free.size());
    a.free_lists.clear();
    a.stats.cached_bytes = 0;
    a.stats.cached_blocks = 0;
  }
  free_blocks(to_free);
}

void reset_peak_memory_stats() {
  Allocator& a = allocator();
  std::lock_guard<std::mutex> lock(a.mutex);
  a.stats.peak_in_use_bytes = a.stats.in_use_bytes;
}

void set_allocator_cache_limit(int64_t bytes) {
  CONVGRAD_CHECK(bytes >= 0, "set_allocator_cache_limit: {} bytes; expected >= 0 (0 turns the cache off)",
                 bytes);
  Allocator& a = allocator();
  std::vector<std::pair<void*, size_t>> to_free;
  {
    std::lock_guard<std::mutex> lock(a.mutex);
    a.limit = bytes;
    a.trim(0, to_free);
  }
  free_blocks(to_free);
}

int64_t allocator_cache_limit() {
  Allocator& a = allocator();
  std::lock_guard<std::mutex> lock(a.mutex);
  return a.limit;
}

}  // namespace convgrad
