// Printing tensors in PyTorch's layout: tensor([[ 0.,  0.,  1.], ...]).
#pragma once

#include <fmt/format.h>

#include <ostream>
#include <string>

#include "core/tensor.h"

namespace convgrad {

/// The tensor as PyTorch prints it (size= and dtype= appear only for empty tensors, as in PyTorch).
std::string to_string(const Tensor& t);
/// Streams to_string(t).
std::ostream& operator<<(std::ostream& os, const Tensor& t);

}  // namespace convgrad

/// fmt::print("{}", t) prints like PyTorch.
template <>
struct fmt::formatter<convgrad::Tensor> : fmt::formatter<std::string> {
  auto format(const convgrad::Tensor& t, fmt::format_context& ctx) const {
    return fmt::formatter<std::string>::format(convgrad::to_string(t), ctx);
  }
};
