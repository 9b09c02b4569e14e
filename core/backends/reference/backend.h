// The reference backend: plain loops, always built, every parameter combination. It is the ground
// truth of the agreement tests and the fallback of every other backend.
#pragma once

#include <memory>

#include "core/backend.h"

namespace convgrad {

/// Makes the reference backend (the registry's "reference" line).
std::unique_ptr<Backend> make_reference_backend();

}  // namespace convgrad
