// convgrad: everything a program needs, in one include.
#pragma once

#include "autograd/ops.h"
#include "core/factory.h"
#include "core/print.h"
#include "core/random.h"
#include "core/tensor.h"
#include "core/threading.h"
