#include "core/tensor.h"

#include <cstring>

#include "core/kernels/elementwise.h"

namespace convgrad {

namespace {
detail::BackwardHook g_backward_hook = nullptr;

template <class To, class From>
To convert_from(const void* p) {
  return static_cast<To>(*static_cast<const From*>(p));
}

// The element of type `dtype` at `p`, converted to To (bfloat16 through its exact float32 value).
template <class To>
To load_as(const void* p, DType dtype) {
  switch (dtype) {
    case DType::Float32:
      return convert_from<To, float>(p);
    case DType::Int64:
      return convert_from<To, int64_t>(p);
    case DType::BFloat16:
      return static_cast<To>(to_float(*static_cast<const BFloat16*>(p)));
  }
  fail("Tensor: unknown dtype {}", static_cast<int>(dtype));
}
}  // namespace

void detail::set_backward_hook(BackwardHook hook) { g_backward_hook = hook; }

TensorImpl& Tensor::checked() const {
  if (!impl_) fail("Tensor: this tensor is undefined (default-constructed); create it with a factory");
  return *impl_;
}

const Shape& Tensor::shape() const { return checked().shape; }
const Shape& Tensor::strides() const { return checked().strides; }
int64_t Tensor::offset() const { return checked().offset; }
int64_t Tensor::numel() const { return shape_numel(shape()); }
DType Tensor::dtype() const { return checked().dtype; }
const std::shared_ptr<Storage>& Tensor::storage() const { return checked().storage; }

int64_t Tensor::size(int64_t d) const { return shape()[normalize_dim(d, dim(), "Tensor::size")]; }

bool Tensor::is_contiguous() const { return strides_match(shape(), strides(), MemoryFormat::Contiguous); }

bool Tensor::is_contiguous(MemoryFormat format) const {
  if (format == MemoryFormat::Preserve) format = suggest_memory_format();
  return strides_match(shape(), strides(), format);
}

MemoryFormat Tensor::suggest_memory_format() const { return format_of_strides(shape(), strides()); }

template <class T>
T* Tensor::data() const {
  auto& t = checked();
  if (t.dtype != dtype_of<T>())
    fail("Tensor::data: tensor holds {}, accessed as {}", dtype_name(t.dtype), dtype_name(dtype_of<T>()));
  return static_cast<T*>(t.storage->data()) + t.offset;
}
template float* Tensor::data<float>() const;
template int64_t* Tensor::data<int64_t>() const;
template BFloat16* Tensor::data<BFloat16>() const;

template <class T>
T Tensor::item() const {
  CONVGRAD_CHECK(numel() == 1, "Tensor::item: expected a tensor with one element, got shape {}",
                 shape_str(shape()));
  auto& t = checked();
  const char* base = static_cast<const char*>(t.storage->data()) + t.offset * dtype_size(t.dtype);
  return load_as<T>(base, t.dtype);
}
template float Tensor::item<float>() const;
template double Tensor::item<double>() const;
template int64_t Tensor::item<int64_t>() const;

template <class T>
T Tensor::at(std::initializer_list<int64_t> index) const {
  auto& t = checked();
  CONVGRAD_CHECK(static_cast<int64_t>(index.size()) == dim(),
                 "Tensor::at: {} indices for a tensor of shape {}", index.size(), shape_str(t.shape));
  int64_t pos = t.offset, d = 0;
  for (int64_t i : index) {
    int64_t n = t.shape[d];
    CONVGRAD_CHECK(i >= -n && i < n, "Tensor::at: index {} is out of range for dim {} of size {}", i, d, n);
    pos += (i < 0 ? i + n : i) * t.strides[d];
    ++d;
  }
  const char* base = static_cast<const char*>(t.storage->data()) + pos * dtype_size(t.dtype);
  return load_as<T>(base, t.dtype);
}
template float Tensor::at<float>(std::initializer_list<int64_t>) const;
template double Tensor::at<double>(std::initializer_list<int64_t>) const;
template int64_t Tensor::at<int64_t>(std::initializer_list<int64_t>) const;

template <class T>
std::vector<T> Tensor::to_vector() const {
  auto& t = checked();
  int64_t n = numel(), nd = dim();
  std::vector<T> out(static_cast<size_t>(n));
  Shape idx(nd, 0);
  const char* base = static_cast<const char*>(t.storage->data());
  size_t esize = dtype_size(t.dtype);
  if (is_contiguous()) {
    const char* p = base + t.offset * esize;
    if (t.dtype == DType::Float32)
      for (int64_t k = 0; k < n; ++k) out[k] = static_cast<T>(reinterpret_cast<const float*>(p)[k]);
    else if (t.dtype == DType::Int64)
      for (int64_t k = 0; k < n; ++k) out[k] = static_cast<T>(reinterpret_cast<const int64_t*>(p)[k]);
    else
      for (int64_t k = 0; k < n; ++k)
        out[k] = static_cast<T>(to_float(reinterpret_cast<const BFloat16*>(p)[k]));
    return out;
  }
  // Walk the index odometer-style so any strided view is copied in row-major order.
  for (int64_t k = 0; k < n; ++k) {
    int64_t pos = t.offset;
    for (int64_t d = 0; d < nd; ++d) pos += idx[d] * t.strides[d];
    const char* p = base + pos * esize;
    out[k] = load_as<T>(p, t.dtype);
    for (int64_t d = nd - 1; d >= 0; --d) {
      if (++idx[d] < t.shape[d]) break;
      idx[d] = 0;
    }
  }
  return out;
}
template std::vector<float> Tensor::to_vector<float>() const;
template std::vector<double> Tensor::to_vector<double>() const;
template std::vector<int64_t> Tensor::to_vector<int64_t>() const;

bool Tensor::requires_grad() const { return checked().autograd.requires_grad; }

Tensor& Tensor::set_requires_grad(bool value) {
  auto& t = checked();
  CONVGRAD_CHECK(!value || t.dtype == DType::Float32,
                 "set_requires_grad: only float32 tensors can require grad, got {}", dtype_name(t.dtype));
  CONVGRAD_CHECK(value || t.autograd.grad_fn == nullptr,
                 "set_requires_grad(false): tensor is the result of an op; use detach() instead");
  t.autograd.requires_grad = value;
  return *this;
}

Tensor Tensor::grad() const {
  auto& g = checked().autograd.grad;
  return g ? Tensor(g) : Tensor();
}

void Tensor::set_grad(const Tensor& grad) const {
  auto& t = checked();
  if (grad.defined())
    CONVGRAD_CHECK(grad.shape() == t.shape, "set_grad: gradient shape {} does not match tensor shape {}",
                   shape_str(grad.shape()), shape_str(t.shape));
  t.autograd.grad = grad.impl_ptr();
}

const std::shared_ptr<Node>& Tensor::grad_fn() const { return checked().autograd.grad_fn; }

void Tensor::set_grad_fn(std::shared_ptr<Node> node) const {
  auto& t = checked();
  t.autograd.grad_fn = std::move(node);
  if (t.autograd.grad_fn) t.autograd.requires_grad = true;
}

void Tensor::backward(const Tensor& gradient, std::optional<bool> retain_graph, bool create_graph) const {
  checked();
  if (!g_backward_hook) fail("Tensor::backward: the autograd engine is not linked into this program");
  g_backward_hook(*this, gradient, retain_graph.value_or(create_graph), create_graph);
}

Tensor Tensor::detach() const {
  auto& t = checked();
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = t.storage;
  impl->offset = t.offset;
  impl->shape = t.shape;
  impl->strides = t.strides;
  impl->dtype = t.dtype;
  return Tensor(impl);
}

Tensor Tensor::to(DType dtype) const {
  if (checked().dtype == dtype) return *this;
  return kernels::cast(*this, dtype);
}

Tensor as_strided(const Tensor& base, Shape shape, Shape strides, int64_t offset) {
  CONVGRAD_CHECK(shape.size() == strides.size(), "as_strided: shape {} and strides {} differ in rank",
                 shape_str(shape), shape_str(strides));
  const std::shared_ptr<Storage>& storage = base.storage();
  const int64_t numel = shape_numel(shape);
  // The last element addressed must lie inside the storage; an empty view addresses nothing.
  const int64_t capacity = static_cast<int64_t>(storage->nbytes() / dtype_size(base.dtype()));
  int64_t last = offset;
  bool overflow = false;
  for (size_t d = 0; d < shape.size(); ++d) {
    if (strides[d] < 0)
      fail("as_strided: negative strides are not supported, got strides {} (shape {})", shape_str(strides),
           shape_str(shape));
    int64_t span = 0;
    if (numel > 0)
      overflow = overflow || __builtin_mul_overflow(shape[d] - 1, strides[d], &span) ||
                 __builtin_add_overflow(last, span, &last);
  }
  if (offset < 0) fail("as_strided: storage offset {} is negative (shape {})", offset, shape_str(shape));
  if (numel > 0 && (overflow || last >= capacity))
    fail(
        "as_strided: shape {}, strides {} and storage offset {} address element {} of a storage of {} "
        "{} elements; the view must lie inside its storage",
        shape_str(shape), shape_str(strides), offset,
        overflow ? std::string("past int64") : std::to_string(last), capacity, dtype_name(base.dtype()));
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = storage;
  impl->offset = offset;
  impl->shape = std::move(shape);
  impl->strides = std::move(strides);
  impl->dtype = base.dtype();
  return Tensor(impl);
}

}  // namespace convgrad
