#include <fmt/format.h>

#include <cstring>

#include "core/factory.h"
#include "layers/data/loader.h"

namespace convgrad::data {
namespace {

uint64_t splitmix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

std::string name_of(const Example& ex, size_t i) {
  return ex.path.empty() ? fmt::format("sample {} of the batch", i) : ex.path;
}

// The tensors `pick` selects from each example, stacked along a new first dim.
template <class Pick>
Tensor stack_field(const std::vector<Example>& examples, const char* field, Pick pick) {
  const Tensor& first = pick(examples[0]);
  Shape shape = first.shape();
  shape.insert(shape.begin(), static_cast<int64_t>(examples.size()));
  Tensor out = uninitialized(shape, first.dtype());
  const size_t bytes = static_cast<size_t>(first.numel()) * dtype_size(first.dtype());
  char* dst = static_cast<char*>(out.storage()->data());
  for (size_t i = 0; i < examples.size(); ++i) {
    const Tensor& t = pick(examples[i]);
    CONVGRAD_CHECK(
        t.defined() && t.shape() == first.shape() && t.dtype() == first.dtype(),
        "collate: {} has {} {} {} but {} has {} {}; samples stacked into one batch need one shape: add a "
        "crop or resize transform",
        name_of(examples[i], i), field, t.defined() ? dtype_name(t.dtype()) : "no",
        t.defined() ? shape_str(t.shape()) : std::string(), name_of(examples[0], 0),
        dtype_name(first.dtype()), shape_str(first.shape()));
    const Tensor c = t.is_contiguous() ? t : clone_data(t);
    if (bytes > 0)
      std::memcpy(dst + i * bytes,
                  static_cast<const char*>(c.storage()->data()) + c.offset() * dtype_size(c.dtype()), bytes);
  }
  return out;
}

}  // namespace

uint64_t sample_seed(uint64_t seed, int64_t epoch, int64_t index) {
  uint64_t h = splitmix64(seed);
  h = splitmix64(h ^ static_cast<uint64_t>(epoch));
  return splitmix64(h ^ static_cast<uint64_t>(index));
}

Batch collate(const std::vector<Example>& examples) {
  CONVGRAD_CHECK(!examples.empty(), "collate: no examples to stack");
  Batch b;
  b.input = stack_field(examples, "input", [](const Example& e) -> const Tensor& { return e.input; });
  if (examples[0].target.defined())
    b.target = stack_field(examples, "target", [](const Example& e) -> const Tensor& { return e.target; });
  else
    for (size_t i = 0; i < examples.size(); ++i)
      CONVGRAD_CHECK(!examples[i].target.defined(), "collate: {} has a target but {} has none",
                     name_of(examples[i], i), name_of(examples[0], 0));
  std::vector<int64_t> labels;
  for (const auto& e : examples) {
    labels.push_back(e.label);
    b.paths.push_back(e.path);
  }
  b.label = from_vector(labels, {static_cast<int64_t>(labels.size())});
  return b;
}

}  // namespace convgrad::data
