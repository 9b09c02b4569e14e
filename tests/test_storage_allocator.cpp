// The caching allocator behind Storage (core/memory.cpp): size classes, reuse, the cache bound,
// empty_cache, statistics, concurrent use from OpenMP threads, and the NaN poison of uninitialized storage.
#include <doctest/doctest.h>
#include <omp.h>

#include <cmath>
#include <cstring>
#include <memory>
#include <vector>

#include "core/factory.h"
#include "core/memory.h"
#include "core/npy.h"
#include "core/random.h"
#include "core/storage.h"

using namespace convgrad;

namespace {

constexpr int64_t MiB = int64_t{1} << 20;

// Sets the cache bound for one test case (caching is off by default in sanitizer builds) and puts the
// previous bound back afterwards, with an empty cache either way.
struct CacheLimit {
  int64_t saved = allocator_cache_limit();
  explicit CacheLimit(int64_t bytes) {
    empty_cache();
    set_allocator_cache_limit(bytes);
  }
  ~CacheLimit() {
    empty_cache();
    set_allocator_cache_limit(saved);
  }
};

struct Poison {
  bool saved = poison_uninitialized();
  explicit Poison(bool on) { set_poison_uninitialized(on); }
  ~Poison() { set_poison_uninitialized(saved); }
};

bool all_bytes(const void* p, size_t n, unsigned char value) {
  const auto* b = static_cast<const unsigned char*>(p);
  for (size_t i = 0; i < n; ++i)
    if (b[i] != value) return false;
  return true;
}

}  // namespace

TEST_CASE("size classes: multiples of 64, at most 12.5% above the request past 1 KiB, monotone") {
  CHECK(allocator_block_size(0) == 64);
  CHECK(allocator_block_size(1) == 64);
  CHECK(allocator_block_size(64) == 64);
  CHECK(allocator_block_size(65) == 128);
  CHECK(allocator_block_size(1024) == 1024);
  CHECK(allocator_block_size(1025) == 1152);
  CHECK(allocator_block_size(2048) == 2048);
  CHECK(allocator_block_size(52u << 20) == (52u << 20));
  size_t previous = 0;
  for (size_t n = 1; n < (size_t{1} << 26); n = n * 9 / 8 + 7) {
    size_t b = allocator_block_size(n);
    CHECK(b >= n);
    CHECK(b % 64 == 0);
    CHECK(b >= previous);
    if (n > 1024) CHECK(static_cast<double>(b) <= 1.125 * static_cast<double>(n));
    CHECK(allocator_block_size(b) == b);  // a class size is its own class
    previous = b;
  }
}

TEST_CASE("a freed block comes back for a request of the same size class; the counters follow") {
  CacheLimit limit(64 * MiB);
  for (size_t size : {size_t{200}, size_t{4096}, size_t{3} * MiB}) {
    CAPTURE(size);
    MemoryStats s0 = memory_stats();
    const int64_t block = static_cast<int64_t>(allocator_block_size(size));
    auto a = std::make_unique<Storage>(size);
    void* address = a->data();
    CHECK(reinterpret_cast<uintptr_t>(address) % 64 == 0);
    MemoryStats s1 = memory_stats();
    CHECK(s1.cache_misses == s0.cache_misses + 1);
    CHECK(s1.in_use_bytes == s0.in_use_bytes + block);
    CHECK(s1.peak_in_use_bytes >= s1.in_use_bytes);
    a.reset();
    MemoryStats s2 = memory_stats();
    CHECK(s2.in_use_bytes == s0.in_use_bytes);
    CHECK(s2.cached_bytes == s0.cached_bytes + block);
    CHECK(s2.cached_blocks == s0.cached_blocks + 1);
    // A slightly smaller request in the same class gets the very same block.
    auto b = std::make_unique<Storage>(size - 1, StorageInit::Uninitialized);
    CHECK(b->data() == address);
    MemoryStats s3 = memory_stats();
    CHECK(s3.cache_hits == s2.cache_hits + 1);
    CHECK(s3.cache_misses == s2.cache_misses);
    CHECK(s3.cached_bytes == s0.cached_bytes);
    CHECK(s3.in_use_bytes == s0.in_use_bytes + block);
  }
}

TEST_CASE("live_count counts Storage objects, not cached blocks") {
  CacheLimit limit(64 * MiB);
  const int64_t live = Storage::live_count();
  {
    Tensor t = zeros({256, 256});
    CHECK(Storage::live_count() == live + 1);
  }
  CHECK(Storage::live_count() == live);
  CHECK(memory_stats().cached_blocks == 1);
}

TEST_CASE("Zeros storage is zero when its block comes from the cache") {
  CacheLimit limit(64 * MiB);
  for (size_t size : {size_t{256}, size_t{100000}, size_t{5} * MiB}) {
    CAPTURE(size);
    void* address = nullptr;
    {
      Storage dirty(size, StorageInit::Uninitialized);
      std::memset(dirty.data(), 0xAB, size);
      address = dirty.data();
    }
    Storage clean(size);
    REQUIRE(clean.data() == address);  // the dirty block, reused
    CHECK(all_bytes(clean.data(), size, 0));
  }
  // The same through the factories: a dirtied float tensor's block becomes zeros().
  void* address = nullptr;
  {
    Tensor dirty = full({64, 1000}, 7.0);
    address = dirty.data<float>();
  }
  Tensor t = zeros({64, 1000});
  REQUIRE(t.data<float>() == address);
  CHECK(all_bytes(t.data<float>(), 64 * 1000 * 4, 0));
}

TEST_CASE("the cache keeps at most its bound and evicts the oldest blocks first") {
  const int64_t block = static_cast<int64_t>(allocator_block_size(MiB));
  CacheLimit limit(3 * block);
  MemoryStats s0 = memory_stats();
  CHECK(s0.cache_limit_bytes == 3 * block);
  std::vector<std::unique_ptr<Storage>> held;
  std::vector<void*> addresses;
  for (int i = 0; i < 5; ++i) {
    held.push_back(std::make_unique<Storage>(MiB));
    addresses.push_back(held.back()->data());
  }
  for (auto& h : held) h.reset();  // frees blocks 0, 1, 2, 3, 4 in that order: 0 and 1 are evicted
  held.clear();
  MemoryStats s1 = memory_stats();
  CHECK(s1.cached_bytes == 3 * block);
  CHECK(s1.cached_blocks == 3);
  CHECK(s1.evictions == s0.evictions + 2);
  // The cache hands out the newest block first: 4, 3, 2, then it is empty and the system gives a new one.
  for (int i = 4; i >= 2; --i) {
    held.push_back(std::make_unique<Storage>(MiB));
    CHECK(held.back()->data() == addresses[static_cast<size_t>(i)]);
  }
  MemoryStats s2 = memory_stats();
  CHECK(s2.cached_blocks == 0);
  held.push_back(std::make_unique<Storage>(MiB));
  CHECK(memory_stats().cache_misses == s2.cache_misses + 1);
  held.clear();

  // A block larger than the bound is never cached; lowering the bound releases what no longer fits.
  { Storage big(4 * MiB); }
  MemoryStats s3 = memory_stats();
  CHECK(s3.cached_bytes == 3 * block);
  set_allocator_cache_limit(block);
  MemoryStats s4 = memory_stats();
  CHECK(s4.cached_bytes == block);
  CHECK(s4.evictions == s3.evictions + 2);
}

TEST_CASE("bound 0 turns caching off") {
  CacheLimit limit(0);
  MemoryStats s0 = memory_stats();
  for (int i = 0; i < 3; ++i) Storage s(MiB);
  MemoryStats s1 = memory_stats();
  CHECK(s1.cached_bytes == 0);
  CHECK(s1.cache_hits == s0.cache_hits);
  CHECK(s1.cache_misses == s0.cache_misses + 3);
  CHECK_THROWS_AS(set_allocator_cache_limit(-1), Error);
}

TEST_CASE("impossible sizes throw convgrad::Error instead of wrapping around") {
  CHECK_THROWS_AS(Storage(SIZE_MAX - 10), Error);
  CHECK_THROWS_AS(Storage(SIZE_MAX / 2), Error);
  CHECK_THROWS_AS(uninitialized({int64_t{1} << 61}), Error);
}

TEST_CASE("empty_cache returns every cached block; blocks in use stay") {
  CacheLimit limit(64 * MiB);
  Storage kept(MiB);
  std::memset(kept.data(), 0x5A, MiB);
  { Storage a(2 * MiB), b(300), c(70000); }
  MemoryStats s0 = memory_stats();
  CHECK(s0.cached_blocks == 3);
  empty_cache();
  MemoryStats s1 = memory_stats();
  CHECK(s1.cached_bytes == 0);
  CHECK(s1.cached_blocks == 0);
  CHECK(s1.evictions == s0.evictions + 3);
  CHECK(s1.in_use_bytes == s0.in_use_bytes);
  CHECK(all_bytes(kept.data(), MiB, 0x5A));
  { Storage again(2 * MiB); }
  CHECK(memory_stats().cache_misses == s1.cache_misses + 1);
}

TEST_CASE("peak_in_use_bytes tracks the high-water mark and resets to the current use") {
  CacheLimit limit(64 * MiB);
  reset_peak_memory_stats();
  MemoryStats s0 = memory_stats();
  CHECK(s0.peak_in_use_bytes == s0.in_use_bytes);
  { Storage a(8 * MiB); }
  MemoryStats s1 = memory_stats();
  CHECK(s1.peak_in_use_bytes == s0.in_use_bytes + static_cast<int64_t>(allocator_block_size(8 * MiB)));
  reset_peak_memory_stats();
  CHECK(memory_stats().peak_in_use_bytes == s0.in_use_bytes);
}

TEST_CASE("concurrent allocation and release from OpenMP threads: no block is handed out twice") {
  CacheLimit limit(MiB / 2);  // small enough that the threads also evict
  MemoryStats s0 = memory_stats();
  // Mostly allocator calls (only the first and last 64 bytes of a block are written), so that the
  // threads really overlap inside the allocator.
  const int threads = 4, rounds = 50000;
  const size_t sizes[] = {64, 1000, 5000, 20000, 65536, 300000};
  int corrupted = 0;
#pragma omp parallel num_threads(threads) reduction(+ : corrupted)
  {
    const auto tag = static_cast<unsigned char>(1 + omp_get_thread_num());
    auto mark = [&](Storage& s) {
      std::memset(s.data(), tag, 64);
      std::memset(static_cast<char*>(s.data()) + s.nbytes() - 64, tag, 64);
    };
    auto intact = [&](const Storage& s) {
      return all_bytes(s.data(), 64, tag) &&
             all_bytes(static_cast<char*>(s.data()) + s.nbytes() - 64, 64, tag);
    };
    std::vector<std::unique_ptr<Storage>> mine;
    for (int r = 0; r < rounds; ++r) {
      size_t size = sizes[(r * 7 + omp_get_thread_num()) % 6];
      mine.push_back(
          std::make_unique<Storage>(size, r % 2 ? StorageInit::Zeros : StorageInit::Uninitialized));
      mark(*mine.back());
      if (mine.size() > 3 || r % 5 == 0) {
        // Another thread holding one of our blocks would have overwritten a tag.
        for (auto& s : mine)
          if (!intact(*s)) ++corrupted;
        mine.erase(mine.begin(), mine.begin() + static_cast<long>(mine.size() / 2));
      }
    }
  }
  CHECK(corrupted == 0);
  MemoryStats s1 = memory_stats();
  CHECK(s1.in_use_bytes == s0.in_use_bytes);
  CHECK(s1.cached_bytes <= MiB / 2);
  CHECK(s1.cache_hits + s1.cache_misses == s0.cache_hits + s0.cache_misses + threads * rounds);
  CHECK(s1.cache_hits > s0.cache_hits);
  CHECK(s1.evictions > s0.evictions);
}

TEST_CASE("with poisoning on, uninitialized storage is NaN, also when the block is reused") {
  CacheLimit limit(64 * MiB);
  Poison poison(true);
  { Tensor z = zeros({1000}); }  // leaves a zeroed block of the class in the cache
  Tensor u = uninitialized({1000});
  for (float v : u.to_vector<float>()) REQUIRE(std::isnan(v));
  Tensor i = uninitialized({10}, DType::Int64);
  for (int64_t v : i.to_vector<int64_t>()) REQUIRE(v == -1);
  // Zeros are never poisoned, and the factories that write every element leave no NaN behind.
  for (float v : zeros({1000}).to_vector<float>()) REQUIRE(v == 0.f);
  CHECK(full({3, 5}, 2.5).to_vector<float>() == std::vector<float>(15, 2.5f));
  CHECK(ones({4}).to_vector<float>() == std::vector<float>(4, 1.f));
  CHECK(arange(1.0, 4.0).to_vector<float>() == std::vector<float>{1, 2, 3});
  CHECK(from_vector(std::vector<int64_t>{4, 5}, {2}).to_vector<int64_t>() == std::vector<int64_t>{4, 5});
  Tensor m = from_vector(std::vector<float>{1, 2, 3, 4, 5, 6}, {2, 3});
  CHECK(clone_data(as_strided(m, {3, 2}, {1, 3}, 0)).to_vector<float>() ==
        std::vector<float>{1, 4, 2, 5, 3, 6});
  Generator gen(3);
  for (float v : rand({500}, gen).to_vector<float>()) REQUIRE((v >= 0.f && v < 1.f));
  for (float v : randn({500}, gen).to_vector<float>()) REQUIRE(std::isfinite(v));
  for (int64_t v : randint(2, 5, {500}, gen).to_vector<int64_t>()) REQUIRE((v >= 2 && v < 5));
  Tensor loaded = parse_npy(npy_bytes(m), "test");
  CHECK(loaded.to_vector<float>() == m.to_vector<float>());

  set_poison_uninitialized(false);
  CHECK_FALSE(poison_uninitialized());
}

TEST_CASE("blocks left in the cache at exit are not leaks") {
  // Left cached on purpose: the sanitizer build (tools/sanitize.sh) runs this with LeakSanitizer, which
  // must find them reachable from the allocator.
  if (allocator_cache_limit() == 0) set_allocator_cache_limit(16 * MiB);
  for (size_t size : {size_t{128}, size_t{40000}, size_t{3} * MiB}) Storage s(size);
  CHECK(memory_stats().cached_blocks >= 3);
}
