// Factories: tensors from sizes, values, ranges and nested lists.
#pragma once

#include <initializer_list>
#include <vector>

#include "core/tensor.h"

namespace convgrad {

/// A contiguous tensor of `shape` filled with zeros (the storage is zero-initialised).
Tensor empty(const Shape& shape, DType dtype = DType::Float32);
/// A contiguous tensor of `shape` whose contents are unspecified: for outputs a kernel overwrites
/// completely. With CONVGRAD_POISON=1 it is filled with NaN, so a kernel that reads it first fails its tests.
Tensor uninitialized(const Shape& shape, DType dtype = DType::Float32);
/// Zeros of `shape`.
Tensor zeros(const Shape& shape, DType dtype = DType::Float32);
/// Zeros of `shape` stored in `format` (Contiguous or ChannelsLast; core/memory_format.h).
Tensor zeros(const Shape& shape, MemoryFormat format, DType dtype = DType::Float32);
/// uninitialized() stored in `format` (Contiguous or ChannelsLast): outputs of kernels that write
/// every element through the strides.
Tensor uninitialized(const Shape& shape, MemoryFormat format, DType dtype = DType::Float32);
/// Ones of `shape`.
Tensor ones(const Shape& shape, DType dtype = DType::Float32);
/// `shape` filled with `value`.
Tensor full(const Shape& shape, double value, DType dtype = DType::Float32);
/// Zeros with the shape and dtype of `like`.
Tensor zeros_like(const Tensor& like);
/// Ones with the shape and dtype of `like`.
Tensor ones_like(const Tensor& like);
/// [0, 1, ..., end-1] as float32 (like torch.arange(end, dtype=float)).
Tensor arange(double end, DType dtype = DType::Float32);
/// [start, start+step, ...) up to but excluding `end`.
Tensor arange(double start, double end, double step = 1.0, DType dtype = DType::Float32);
/// A float32 tensor of `shape` holding `values` row-major; sizes must match.
Tensor from_vector(const std::vector<float>& values, const Shape& shape);
/// An int64 tensor of `shape` holding `values` row-major; sizes must match.
Tensor from_vector(const std::vector<int64_t>& values, const Shape& shape);
/// 1-D float32 tensor: tensor({1, 2, 3}).
Tensor tensor(std::initializer_list<float> values);
/// 2-D float32 tensor from rows: tensor({{0, 1}, {2, 3}}); rows must have equal length.
Tensor tensor(std::initializer_list<std::initializer_list<float>> rows);
/// A contiguous copy of `t` (no autograd).
Tensor clone_data(const Tensor& t);
/// A copy of `t` stored in `format` (no autograd); Preserve keeps t's suggest_memory_format().
Tensor clone_data(const Tensor& t, MemoryFormat format);
/// `t` itself when contiguous, else clone_data(t): for kernels that index raw data row-major.
inline Tensor contiguous_data(const Tensor& t) { return t.is_contiguous() ? t : clone_data(t); }
/// Counts a copy of `t` into `format` (core/layout_stats.h) when it changes a 4-D tensor's format;
/// every copying function calls it, so hidden conversions show up in layout_stats().
void note_format_copy(const char* op, const Tensor& t, MemoryFormat format);
/// `t` itself when already dense in `format`, else clone_data(t, format).
Tensor contiguous_data(const Tensor& t, MemoryFormat format);

}  // namespace convgrad
