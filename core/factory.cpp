#include "core/factory.h"

#include <cmath>
#include <cstring>

#include "core/kernels/layout.h"
#include "core/layout_stats.h"

namespace convgrad {

namespace {
Tensor allocate(const Shape& shape, DType dtype, StorageInit init, const char* op,
                MemoryFormat format = MemoryFormat::Contiguous) {
  int64_t n = shape_numel(shape);
  // Refuse byte counts that overflow size_t before asking the allocator.
  if (n > static_cast<int64_t>(SIZE_MAX / 2 / dtype_size(dtype)))
    fail("{}: shape {} needs more bytes than can be addressed", op, shape_str(shape));
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = std::make_shared<Storage>(static_cast<size_t>(n) * dtype_size(dtype), init);
  impl->shape = shape;
  impl->strides = strides_for(shape, format);
  impl->dtype = dtype;
  return Tensor(impl);
}
}  // namespace

Tensor empty(const Shape& shape, DType dtype) { return allocate(shape, dtype, StorageInit::Zeros, "empty"); }

Tensor uninitialized(const Shape& shape, DType dtype) {
  return allocate(shape, dtype, StorageInit::Uninitialized, "uninitialized");
}

Tensor zeros(const Shape& shape, DType dtype) { return empty(shape, dtype); }

void note_format_copy(const char* op, const Tensor& t, MemoryFormat format) {
  MemoryFormat from = t.suggest_memory_format();
  if (t.dim() != 4 || from == format) return;
  count_layout(LayoutEvent::FormatCopy, fmt::format("{} {} {} -> {}", op, shape_str(t.shape()),
                                                    memory_format_name(from), memory_format_name(format)));
}

Tensor zeros(const Shape& shape, MemoryFormat format, DType dtype) {
  return allocate(shape, dtype, StorageInit::Zeros, "zeros", format);
}

Tensor uninitialized(const Shape& shape, MemoryFormat format, DType dtype) {
  return allocate(shape, dtype, StorageInit::Uninitialized, "uninitialized", format);
}

Tensor clone_data(const Tensor& t, MemoryFormat format) {
  if (format == MemoryFormat::Preserve) format = t.suggest_memory_format();
  if (format == MemoryFormat::Contiguous) return clone_data(t);
  note_format_copy("clone_data", t, format);
  Tensor out = uninitialized(t.shape(), format, t.dtype());
  kernels::copy_into(out, t);
  return out;
}

Tensor contiguous_data(const Tensor& t, MemoryFormat format) {
  if (format == MemoryFormat::Preserve) format = t.suggest_memory_format();
  return t.is_contiguous(format) ? t : clone_data(t, format);
}

// full, arange, from_vector and clone_data write every element: no zero-fill first.
Tensor full(const Shape& shape, double value, DType dtype) {
  Tensor t = uninitialized(shape, dtype);
  int64_t n = t.numel();
  if (dtype == DType::Float32) {
    float* p = t.data<float>();
    for (int64_t i = 0; i < n; ++i) p[i] = static_cast<float>(value);
  } else if (dtype == DType::BFloat16) {
    BFloat16* p = t.data<BFloat16>();
    for (int64_t i = 0; i < n; ++i) p[i] = to_bfloat16(static_cast<float>(value));
  } else {
    int64_t* p = t.data<int64_t>();
    for (int64_t i = 0; i < n; ++i) p[i] = static_cast<int64_t>(value);
  }
  return t;
}

Tensor ones(const Shape& shape, DType dtype) { return full(shape, 1.0, dtype); }
Tensor zeros_like(const Tensor& like) { return zeros(like.shape(), like.dtype()); }
Tensor ones_like(const Tensor& like) { return ones(like.shape(), like.dtype()); }

Tensor arange(double end, DType dtype) { return arange(0.0, end, 1.0, dtype); }

Tensor arange(double start, double end, double step, DType dtype) {
  CONVGRAD_CHECK(step != 0.0, "arange: step must be non-zero");
  double count = std::ceil((end - start) / step);
  // Checked in double before the conversion to int64, which would be undefined for NaN or > 2^63.
  CONVGRAD_CHECK(!std::isnan(count) && count < 0x1p62,
                 "arange: start {}, end {}, step {} gives {} elements; expected a "
                 "finite count below 2^62",
                 start, end, step, count);
  int64_t n = count > 0 ? static_cast<int64_t>(count) : 0;
  Tensor t = uninitialized({n}, dtype);
  for (int64_t i = 0; i < n; ++i) {
    double v = start + static_cast<double>(i) * step;
    if (dtype == DType::Float32)
      t.data<float>()[i] = static_cast<float>(v);
    else if (dtype == DType::BFloat16)
      t.data<BFloat16>()[i] = to_bfloat16(static_cast<float>(v));
    else
      t.data<int64_t>()[i] = static_cast<int64_t>(v);
  }
  return t;
}

template <class T>
static Tensor from_values(const std::vector<T>& values, const Shape& shape) {
  int64_t n = shape_numel(shape);
  CONVGRAD_CHECK(n == static_cast<int64_t>(values.size()),
                 "from_vector: {} values do not fill shape {} ({} elements)", values.size(), shape_str(shape),
                 n);
  Tensor t = uninitialized(shape, dtype_of<T>());
  if (n) std::memcpy(t.data<T>(), values.data(), values.size() * sizeof(T));
  return t;
}

Tensor from_vector(const std::vector<float>& values, const Shape& shape) {
  return from_values(values, shape);
}
Tensor from_vector(const std::vector<int64_t>& values, const Shape& shape) {
  return from_values(values, shape);
}

Tensor tensor(std::initializer_list<float> values) {
  return from_vector(std::vector<float>(values), {static_cast<int64_t>(values.size())});
}

Tensor tensor(std::initializer_list<std::initializer_list<float>> rows) {
  std::vector<float> flat;
  size_t cols = rows.size() ? rows.begin()->size() : 0;
  for (const auto& r : rows) {
    CONVGRAD_CHECK(r.size() == cols, "tensor: rows have different lengths ({} and {})", cols, r.size());
    flat.insert(flat.end(), r.begin(), r.end());
  }
  return from_vector(flat, {static_cast<int64_t>(rows.size()), static_cast<int64_t>(cols)});
}

Tensor clone_data(const Tensor& t) {
  note_format_copy("clone_data", t, MemoryFormat::Contiguous);
  Tensor out = uninitialized(t.shape(), t.dtype());
  size_t nbytes = static_cast<size_t>(t.numel()) * dtype_size(t.dtype());
  if (nbytes == 0) return out;
  // Contiguous sources copy in one block; strided views go through the element walk.
  if (t.is_contiguous()) {
    std::memcpy(out.storage()->data(),
                static_cast<const char*>(t.storage()->data()) + t.offset() * dtype_size(t.dtype()), nbytes);
  } else if (t.dtype() == DType::Float32) {
    auto v = t.to_vector<float>();
    std::memcpy(out.data<float>(), v.data(), nbytes);
  } else if (t.dtype() == DType::Int64) {
    auto v = t.to_vector<int64_t>();
    std::memcpy(out.data<int64_t>(), v.data(), nbytes);
  } else {
    // Through float32: exact both ways for bfloat16 values.
    auto v = t.to_vector<float>();
    BFloat16* o = out.data<BFloat16>();
    for (size_t i = 0; i < v.size(); ++i) o[i] = to_bfloat16(v[i]);
  }
  return out;
}

}  // namespace convgrad
