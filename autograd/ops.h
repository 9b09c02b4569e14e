// Every differentiable op, by family.
#pragma once

#include "autograd/anomaly.h"
#include "autograd/grad_mode.h"
#include "autograd/node.h"
#include "autograd/ops_math.h"
#include "autograd/ops_reduce.h"
#include "autograd/ops_shape.h"
#include "autograd/ops_conv.h"
#include "autograd/ops_nn.h"
#include "autograd/ops_shuffle.h"
#include "autograd/ops_activation.h"
#include "autograd/gradcheck.h"
