#include "core/operand_check.h"

namespace convgrad {

void check_operand(const Tensor& t, const char* op, const char* what, Layout layout) {
  CONVGRAD_CHECK(t.defined(), "{}: {} is undefined", op, what);
  CONVGRAD_CHECK(t.dtype() == DType::Float32, "{}: {} must be float32, got {} (shape {})", op, what,
                 dtype_name(t.dtype()), shape_str(t.shape()));
  CONVGRAD_CHECK(layout == Layout::Any || t.is_contiguous(),
                 "{}: {} (shape {}, strides {}) must be contiguous; pass contiguous(t)", op, what,
                 shape_str(t.shape()), shape_str(t.strides()));
}

void reject_bfloat16(const Tensor& t, const char* op, const char* what) {
  CONVGRAD_CHECK(!t.defined() || t.dtype() != DType::BFloat16,
                 "{}: {} (shape {}) is bfloat16, which this op does not compute in; bfloat16 is a storage "
                 "type: convert with t.to(DType::Float32), or run the op under AutocastGuard",
                 op, what, shape_str(t.shape()));
}

}  // namespace convgrad
