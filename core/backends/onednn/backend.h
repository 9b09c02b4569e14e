// The oneDNN backend: the three kernels as oneDNN 2.6 convolution primitives (format_tag::any with
// reorders, cached primitive descriptors, user-managed scratchpad), falling back to the reference
// kernels for anything oneDNN rejects.
#pragma once

#include <memory>

#include "core/backend.h"

namespace convgrad {

/// Makes the oneDNN backend (the registry's "onednn" line).
std::unique_ptr<Backend> make_onednn_backend();

}  // namespace convgrad
