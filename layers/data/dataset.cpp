#include "layers/data/dataset.h"

#include <fmt/format.h>

#include <utility>

#include "autograd/ops_shape.h"
#include "core/factory.h"

namespace convgrad::data {

Tensor apply(const Transform& transform, const Tensor& image, Generator& gen) {
  CONVGRAD_CHECK(static_cast<bool>(transform), "data::apply: the transform is empty");
  Example ex;
  ex.input = image;
  return transform(std::move(ex), gen).input;
}

std::string Dataset::describe(int64_t index) const { return fmt::format("sample {}", index); }

TensorDataset::TensorDataset(Tensor inputs, Tensor targets, Transform transform)
    : inputs_(std::move(inputs)), targets_(std::move(targets)), transform_(std::move(transform)) {
  CONVGRAD_CHECK(inputs_.defined() && inputs_.dim() >= 1,
                 "TensorDataset: expected inputs with a sample dim first, (N, ...), got {}",
                 inputs_.defined() ? shape_str(inputs_.shape()) : std::string("an undefined tensor"));
  if (!targets_.defined()) return;
  CONVGRAD_CHECK(targets_.dim() >= 1 && targets_.size(0) == inputs_.size(0),
                 "TensorDataset: targets {} must have as many samples (dim 0) as inputs {}",
                 shape_str(targets_.shape()), shape_str(inputs_.shape()));
  CONVGRAD_CHECK(targets_.dtype() == DType::Float32 || targets_.dim() == 1,
                 "TensorDataset: int64 targets are class labels and must be 1-D (N,), got {}",
                 shape_str(targets_.shape()));
}

Example TensorDataset::get(int64_t index, Generator& gen) const {
  CONVGRAD_CHECK(index >= 0 && index < size(), "TensorDataset::get: index {} out of range [0, {})", index,
                 size());
  Example ex;
  // Copies, not views: a transform's result never aliases the dataset's tensors.
  ex.input = clone_data(select(inputs_, 0, index));
  if (targets_.defined()) {
    if (targets_.dtype() == DType::Int64)
      ex.label = targets_.at<int64_t>({index});
    else
      ex.target = clone_data(select(targets_, 0, index));
  }
  return transform_ ? transform_(std::move(ex), gen) : ex;
}

}  // namespace convgrad::data
