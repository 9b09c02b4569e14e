// The one operand check every op and kernel entry point makes on its tensor arguments.
#pragma once

#include "core/tensor.h"

namespace convgrad {

/// What an operand must be beyond "defined": float32 always; contiguous where a kernel indexes raw
/// data (the backends' conv kernels). Autograd ops accept any strides and make them contiguous.
enum class Layout { Any, Contiguous };

/// Throws convgrad::Error naming `op` and the argument (`what`) unless `t` is defined and float32
/// (and contiguous when `layout` says so). Formats nothing when it passes.
void check_operand(const Tensor& t, const char* op, const char* what, Layout layout = Layout::Any);

/// Throws convgrad::Error naming `op` and the argument when `t` holds bfloat16: for the ops that take
/// float32 and int64 but have no bfloat16 arithmetic (bfloat16 is a storage type; see
/// docs/mixed-precision.md). Formats nothing when it passes.
void reject_bfloat16(const Tensor& t, const char* op, const char* what);

}  // namespace convgrad
