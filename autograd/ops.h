// Every differentiable op, by family.
#pragma once

#include "autograd/anomaly.h"
#include "autograd/autocast.h"
#include "autograd/grad_mode.h"
#include "autograd/node.h"
#include "autograd/ops_activation.h"
#include "autograd/ops_conv.h"
#include "autograd/ops_interpolate.h"
#include "autograd/ops_math.h"
#include "autograd/ops_nn.h"
#include "autograd/ops_reduce.h"
#include "autograd/ops_shape.h"
#include "autograd/ops_shuffle.h"
// pad(x, {left, right, top, bottom, ...}, PadMode::Constant|Reflect|Replicate|Circular, value),
// PadFuncOptions: F.pad with PyTorch's rules (negative pads crop).
#include "autograd/ops_loss.h"
#include "autograd/ops_pad.h"
// max_pool2d(x, MaxPool2dOptions(k).stride().padding().ceil_mode()),
// avg_pool2d(x, AvgPool2dOptions(k).stride().padding().ceil_mode().count_include_pad().divisor_override()).
#include "autograd/gradcheck.h"
#include "autograd/ops_pool.h"
