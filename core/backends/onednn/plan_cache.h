// The oneDNN backend's plan cache: a ready-to-run primitive per convolution configuration, looked up
// by a hashed key, in an LRU; the growable buffers reordered tensors and scratchpads reuse; and the
// converted operand copies kept in ConvOperandCaches.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <dnnl.hpp>
#include <list>
#include <memory>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/backend.h"
#include "core/backends/onednn/conv_algo.h"
#include "core/conv_geometry.h"
#include "core/error.h"
#include "core/tensor.h"

namespace convgrad::onednn {

using dnnl::memory;

/// An operand converted to the layout `md` a primitive computes in, kept in the operand's
/// ConvOperandCache (see Note [Operand cache] in core/backend.h).
struct BlockedCopy final : ConvOperandCache::Entry {
  memory::desc md;
  Tensor buffer;  // uninitialized float32 storage of md.get_size() bytes (64-byte aligned)
};

/// The copy of `operand` in layout `md` held by `cache`, or null. Copies of an earlier version of the
/// operand (written in place since) are dropped first (ConvOperandCache::key_on).
inline BlockedCopy* find_copy(ConvOperandCache& cache, const memory::desc& md, const Tensor& operand) {
  cache.key_on(operand.version());
  for (auto& e : cache.entries())
    if (auto* c = dynamic_cast<BlockedCopy*>(e.get()); c && c->md == md) return c;
  return nullptr;
}

/// A growable 64-byte aligned buffer: reordered tensors and the scratchpad reuse it call after call.
class Buffer {
 public:
  Buffer() = default;
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;
  ~Buffer() { std::free(ptr_); }
  void* get(size_t bytes) {
    if (bytes > size_) {
      std::free(ptr_);
      const size_t rounded = (bytes + 63) / 64 * 64;
      ptr_ = std::aligned_alloc(64, rounded);
      size_ = ptr_ ? rounded : 0;
      CONVGRAD_CHECK(ptr_ != nullptr, "onednn: could not allocate {} bytes of workspace", rounded);
    }
    return ptr_;
  }

 private:
  void* ptr_ = nullptr;
  size_t size_ = 0;
};

/// One thread's objects for a batch-split plan (conv_split.h, run_split): its own memory objects, argument
/// map, stream and buffers, since threads may execute one primitive at once only with distinct memory
/// objects. Held by pointer: a Buffer owns its memory and must not be copied.
struct Lane {
  memory user_mem[3], inner_mem[3], bias_mem, scratch_mem;
  std::unordered_map<int, memory> args;
  dnnl::stream strm;
  Buffer buffers[3], scratch;
  /// Backward-weights: this thread's sum over its images of dw (in the plan's layout) and of db, and
  /// the per-image db the primitive overwrites (buffers[1] holds its per-image dw).
  Buffer partial_w, partial_b, image_b;
};

/// The algorithm a call configuration runs (choose_algo, conv_algo.h) and, when that is oneDNN's
/// primitive, the ready-to-run primitive: the layouts it chose, the reorders from/to the caller's plain
/// tensors, its implementation name, its thread count, and its memory objects and argument map, built
/// once (a call only swaps data pointers). Caching the choice asks oneDNN once per configuration, also
/// when it has no implementation.
struct Plan {
  dnnl::primitive prim;
  memory::desc user[3], chosen[3], bias, scratch;
  size_t chosen_bytes[3] = {0, 0, 0}, scratch_bytes = 0;
  bool reorder[3] = {false, false, false};
  dnnl::reorder reorders[3];
  memory user_mem[3], inner_mem[3], bias_mem, scratch_mem;
  std::unordered_map<int, memory> args;
  std::string impl;
  ConvAlgo algo = ConvAlgo::Primitive;
  std::string reason;  ///< why the reference kernels run (ConvAlgo::Reference)
  int threads = 1;  ///< OpenMP threads the primitive was built for and its call runs with (1 for tiny calls)
  /// Batch-split plans (built for one image and one thread, keyed with threads = -lanes): one Lane
  /// per thread.
  std::vector<std::unique_ptr<Lane>> lanes;
  /// Full-batch plans: whether their batch-split plan lays the batch out as they do, image after image
  /// (0: not checked yet, 1: yes, -1: no, the call runs unsplit).
  int split_fits = 0;
};

/// What identifies a plan: kind, shapes, parameters (with the compute dtype), bias and thread count (hashed,
/// no formatting). A batch-split plan has batch 1 in its dims and minus the number of threads in `threads`.
struct Key {
  int kind;
  int64_t dims[12];
  ConvParams params;
  bool vec;
  int threads;
  bool operator==(const Key&) const = default;
};

/// FNV-1a over the fields of a Key.
struct KeyHash {
  size_t operator()(const Key& k) const {
    uint64_t h = 1469598103934665603ull;
    auto mix = [&h](int64_t v) { h = (h ^ uint64_t(v)) * 1099511628211ull; };
    mix(k.kind), mix(k.vec), mix(k.threads), mix(k.params.groups), mix(int64_t(k.params.compute));
    for (int64_t d : k.dims) mix(d);
    for (int i = 0; i < 2; ++i)
      mix(k.params.stride[i]), mix(k.params.dilation[i]), mix(k.params.pad_begin[i]),
          mix(k.params.pad_end[i]);
    return size_t(h);
  }
};

/// LRU of plans keyed by kind, shapes, parameters, bias and thread count.
class PlanCache {
 public:
  Plan* find(const Key& key) {
    auto it = index_.find(key);
    if (it == index_.end()) return nullptr;
    items_.splice(items_.begin(), items_, it->second);
    return &it->second->second;
  }
  Plan& insert(const Key& key, Plan plan) {
    items_.emplace_front(key, std::move(plan));
    index_[key] = items_.begin();
    if (items_.size() > kCapacity) {
      index_.erase(items_.back().first);
      items_.pop_back();
    }
    return items_.front().second;
  }
  size_t size() const { return items_.size(); }

 private:
  static constexpr size_t kCapacity = 128;
  std::list<std::pair<Key, Plan>> items_;
  std::unordered_map<Key, std::list<std::pair<Key, Plan>>::iterator, KeyHash> index_;
};

}  // namespace convgrad::onednn
