// The tutorial's sections: d2l 14.10 steps 1-6, then the framework-convention comparison.
#pragma once

#include "report.h"

namespace tutorial {

/// Step 1: the hand-written trans_conv against the book's 3 x 3 result.
void step_hand_written(Report& report);
/// Step 2: the framework op conv_transpose2d on the same inputs.
void step_framework_op(Report& report);
/// Step 3: padding = 1 crops the output.
void step_padding(Report& report);
/// Step 4: stride = 2 spaces the scattered kernels.
void step_stride(Report& report);
/// Step 5: the multi-channel shape round trip and the shape formulas.
void step_multi_channel(Report& report);
/// Step 6: convolution as a matrix W, transposed convolution as W^T.
void step_matrix(Report& report);
/// Why the seed (Flax) prints different numbers, reproduced with convgrad ops.
void section_other_frameworks(Report& report);

}  // namespace tutorial
