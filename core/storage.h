// Storage: one 64-byte-aligned buffer shared by a tensor and all its views, from the caching allocator
// (core/memory.h).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "core/bfloat16.h"

namespace convgrad {

/// Element types a tensor may hold: float32 for data, int64 for class labels and indices, bfloat16 as
/// a storage type for mixed precision (docs/mixed-precision.md): it converts to and from float32
/// (Tensor::to), copies, prints and takes views; arithmetic refuses it (convert to float32 first).
enum class DType { Float32, Int64, BFloat16 };

/// Bytes per element of a dtype.
constexpr size_t dtype_size(DType t) { return t == DType::Float32 ? 4 : t == DType::Int64 ? 8 : 2; }
/// "float32" / "int64" / "bfloat16".
constexpr const char* dtype_name(DType t) {
  return t == DType::Float32 ? "float32" : t == DType::Int64 ? "int64" : "bfloat16";
}

/// C++ type -> DType, for the typed accessors.
template <class T>
constexpr DType dtype_of();
template <>
constexpr DType dtype_of<float>() {
  return DType::Float32;
}
template <>
constexpr DType dtype_of<int64_t>() {
  return DType::Int64;
}
template <>
constexpr DType dtype_of<BFloat16>() {
  return DType::BFloat16;
}

/// How the bytes of a new Storage start out.
enum class StorageInit {
  Zeros,          ///< every byte zero (also when the block is a reused one)
  Uninitialized,  ///< unspecified (for kernel outputs that overwrite every element); every byte 0xFF
                  ///< (float NaN, int64 -1) when the environment has CONVGRAD_POISON=1
};

/// Whether Uninitialized storage is filled with 0xFF bytes: CONVGRAD_POISON=1 in the environment (read
/// at the first allocation) or set_poison_uninitialized(true).
bool poison_uninitialized();
/// Turns the 0xFF fill of Uninitialized storage on or off for this process (tests of kernels).
void set_poison_uninitialized(bool on);

/// A raw, 64-byte-aligned buffer. Views share it through shared_ptr. The block comes from the caching
/// allocator (core/memory.h) and goes back to it when the last view dies.
class Storage {
 public:
  /// Allocates `nbytes` (the block is rounded up to its size class, a multiple of 64), zeroed unless
  /// `init` says otherwise; throws convgrad::Error on failure.
  explicit Storage(size_t nbytes, StorageInit init = StorageInit::Zeros);
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;

  /// Start of the buffer.
  void* data() const { return data_; }
  /// Size requested at construction.
  size_t nbytes() const { return nbytes_; }
  /// Number of Storage objects alive in this process (for leak tests).
  static int64_t live_count();

  /// How many in-place writes the library has made to this buffer (PyTorch's `_version`): every view of
  /// it shares the count. Autograd records it when it saves a tensor for backward and refuses a saved
  /// tensor whose buffer was written since (docs/reliability.md#in-place-changes).
  int64_t version() const { return version_.load(std::memory_order_relaxed); }
  /// Name of the last in-place write (e.g. "SGD::step"), or "" before the first one.
  const char* last_writer() const { return last_writer_.load(std::memory_order_relaxed); }
  /// Counts one in-place write named `writer` (a string literal). Every library function that changes
  /// existing values calls it; a write through data<T>() by user code is not counted.
  void bump_version(const char* writer) {
    last_writer_.store(writer, std::memory_order_relaxed);
    version_.fetch_add(1, std::memory_order_relaxed);
  }

 private:
  void* data_ = nullptr;
  size_t nbytes_ = 0;
  std::atomic<int64_t> version_{0};
  std::atomic<const char*> last_writer_{""};
};

}  // namespace convgrad
