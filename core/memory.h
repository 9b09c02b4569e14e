// The storage allocator: a caching allocator behind Storage, its statistics and its switches.
#pragma once

#include <cstddef>
#include <cstdint>

namespace convgrad {

/// Counters of the allocator behind Storage. Byte counts are block sizes: a request rounded up to its
/// size class (at most 12.5 % more above 1 KiB, a multiple of 64 bytes below).
struct MemoryStats {
  int64_t in_use_bytes = 0;       ///< bytes in blocks held by live Storage objects
  int64_t peak_in_use_bytes = 0;  ///< the largest `in_use_bytes` since start-up or reset_peak_memory_stats()
  int64_t cached_bytes = 0;       ///< bytes in freed blocks kept for reuse
  int64_t cached_blocks = 0;      ///< number of those blocks
  int64_t cache_limit_bytes = 0;  ///< the bound on `cached_bytes`; 0 when caching is off
  int64_t cache_hits = 0;         ///< allocations served from the cache
  int64_t cache_misses = 0;       ///< allocations that asked the system (malloc) for memory
  int64_t evictions =
      0;  ///< cached blocks returned to the system to stay under the limit or by empty_cache()
};

/// A snapshot of the allocator's counters (thread-safe).
MemoryStats memory_stats();

/// Returns every cached block to the system; blocks in use are untouched.
void empty_cache();

/// Sets `peak_in_use_bytes` to the current `in_use_bytes`.
void reset_peak_memory_stats();

/// Bounds the bytes kept in the cache; 0 turns caching off (every freed block goes back to the system).
/// Cached blocks beyond the new bound are released at once. The default comes from the environment:
/// CONVGRAD_ALLOCATOR_CACHE_MB (megabytes; 0 = off), else a quarter of physical memory capped at
/// 4 GiB; in sanitizer builds it is 0, so that AddressSanitizer still sees every use after free.
void set_allocator_cache_limit(int64_t bytes);

/// The current bound on cached bytes (0: caching off).
int64_t allocator_cache_limit();

/// The size class a request of `nbytes` is rounded up to (the capacity of the block it gets).
size_t allocator_block_size(size_t nbytes);

namespace detail {
/// For Storage: a 64-byte-aligned block of allocator_block_size(nbytes) bytes with unspecified contents,
/// from the cache when one of that class is free. Throws convgrad::Error when the system has no memory.
void* allocate_block(size_t nbytes);
/// For Storage: gives back a block from allocate_block(nbytes, ...), with the same `nbytes`.
void release_block(void* block, size_t nbytes);
}  // namespace detail

}  // namespace convgrad
