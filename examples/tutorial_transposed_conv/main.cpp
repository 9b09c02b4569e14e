// tutorial_transposed_conv: d2l section 14.10 "Transposed Convolution", step by step with convgrad.
// Each step prints convgrad's result beside the book's value and checks it; the exit status is 0
// only when every check holds.
#include <fmt/format.h>

#include <exception>

#include "steps.h"

int main() {
  using namespace tutorial;
  Report report;
  report.title("convgrad: transposed convolution, step by step",
               "Dive into Deep Learning, section 14.10, recomputed and checked");
  try {
    step_hand_written(report);
    step_framework_op(report);
    step_padding(report);
    step_stride(report);
    step_multi_channel(report);
    step_matrix(report);
    section_other_frameworks(report);
  } catch (const std::exception& e) {
    report.expect(false, fmt::format("the tutorial stopped on an error: {}", e.what()));
  }
  return report.summary();
}
