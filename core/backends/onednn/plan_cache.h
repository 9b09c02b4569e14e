// The oneDNN backend's plan cache: a ready-to-run primitive per convolution configuration, looked up
// by a hashed key, in an LRU; and the growable buffers reordered tensors and scratchpads reuse.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <dnnl.hpp>
#include <list>
#include <string>
#include <unordered_map>
#include <utility>

#include "core/conv_geometry.h"
#include "core/error.h"

namespace convgrad::onednn {

using dnnl::memory;

/// A ready-to-run primitive: the layouts it chose, the reorders from/to the caller's plain tensors,
/// its implementation name, its thread count, and its memory objects and argument map, built once (a
/// call only swaps data pointers). `phase` routes the call to the phase kernels instead; `unsupported` caches oneDNN's
/// refusal so it is asked once.
struct Plan {
  dnnl::primitive prim;
  memory::desc user[3], chosen[3], bias, scratch;
  size_t chosen_bytes[3] = {0, 0, 0}, scratch_bytes = 0;
  bool reorder[3] = {false, false, false};
  dnnl::reorder reorders[3];
  memory user_mem[3], inner_mem[3], bias_mem, scratch_mem;
  std::unordered_map<int, memory> args;
  std::string impl;
  std::string unsupported;
  bool phase = false;
  int threads = 1;  ///< OpenMP threads the primitive was built for and its call runs with (1 for tiny calls)
};

/// What identifies a plan: kind, shapes, parameters, bias and thread count (hashed, no formatting).
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
    mix(k.kind), mix(k.vec), mix(k.threads), mix(k.params.groups);
    for (int64_t d : k.dims) mix(d);
    for (int i = 0; i < 2; ++i)
      mix(k.params.stride[i]), mix(k.params.dilation[i]), mix(k.params.pad_begin[i]), mix(k.params.pad_end[i]);
    return size_t(h);
  }
};

/// A growable 64-byte aligned buffer: reordered tensors and the scratchpad reuse it call after call.
class Buffer {
 public:
  ~Buffer() { std::free(ptr_); }
  void* get(size_t bytes) {
    if (bytes > size_) {
      std::free(ptr_);
      const size_t rounded = (bytes + 63) / 64 * 64;
      ptr_ = std::aligned_alloc(64, rounded);
      size_ = ptr_ ? rounded : 0;
      check(ptr_ != nullptr, "onednn: could not allocate {} bytes of workspace", rounded);
    }
    return ptr_;
  }

 private:
  void* ptr_ = nullptr;
  size_t size_ = 0;
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
