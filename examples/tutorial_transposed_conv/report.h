// Terminal report of the tutorial: section headers, tensors beside the book's values, ✓/✗ checks.
#pragma once

#include <convgrad/convgrad.h>

#include <cstdint>
#include <string>
#include <string_view>

namespace tutorial {

/// Prints the tutorial's steps and counts the checks it makes; summary() gives the exit status.
class Report {
 public:
  /// Colours are used only when stdout is a terminal and NO_COLOR is unset.
  Report();

  /// The banner at the top of the run.
  void title(std::string_view text, std::string_view subtitle);
  /// A numbered section header ("1", "Hand-written transposed convolution").
  void section(std::string_view number, std::string_view title);
  /// A smaller heading inside a section.
  void subsection(std::string_view title);
  /// An indented line of prose (an empty line prints a blank line).
  void text(std::string_view line);
  /// `label` then the tensor in PyTorch's layout; continuation lines stay aligned under the value.
  void show(std::string_view label, const convgrad::Tensor& t);
  /// `label` then a plain value (a shape, a formula).
  void show(std::string_view label, std::string_view value);

  /// Prints `got` beside `expected` (side by side when they fit), checks that the shapes match
  /// and allclose holds, and records a ✓ or ✗ line that names the check.
  bool compare(std::string_view what, const convgrad::Tensor& got, std::string_view got_label,
               const convgrad::Tensor& expected, std::string_view expected_label);
  /// Records a check computed by the caller (shape equality, a boolean result).
  bool expect(bool ok, std::string_view what);

  /// Prints the totals; returns 0 when every check held, 1 otherwise.
  int summary();

 private:
  std::string paint(std::string_view code, std::string_view text) const;
  bool color_ = false;
  int64_t passed_ = 0;
  int64_t failed_ = 0;
};

/// A shape as PyTorch prints it: torch.Size([1, 10, 16, 16]).
std::string size_str(const convgrad::Shape& shape);
/// A 0/1 float tensor printed as PyTorch prints a bool tensor: tensor([[True, True], ...]).
std::string bool_str(const convgrad::Tensor& mask);

}  // namespace tutorial
