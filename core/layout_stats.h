// Counts of the layout work the library does behind the user's back: copies that change a tensor's
// memory format, and oneDNN reorders of activations and weights into a primitive's layout. A
// channels-last network should run without format copies or activation reorders; tests assert it,
// and CONVGRAD_VERBOSE=1 prints the counts (docs/architecture.md, "Memory formats").
#pragma once

#include <cstdint>
#include <string>

namespace convgrad {

/// A snapshot of the counters since the last reset_layout_stats().
struct LayoutStats {
  int64_t format_copies = 0;        ///< copies of a 4-D tensor into a different memory format
  int64_t activation_reorders = 0;  ///< oneDNN reorders of an activation (src, dst, diff_src, diff_dst)
  int64_t weight_reorders = 0;      ///< oneDNN reorders of a weight or weight gradient
};

/// Which counter count_layout() adds to.
enum class LayoutEvent { FormatCopy, ActivationReorder, WeightReorder };

/// The counts so far (process-wide, all threads).
LayoutStats layout_stats();
/// Sets every counter to zero.
void reset_layout_stats();
/// Adds one to the counter of `event`; with verbose reporting on (CONVGRAD_VERBOSE=1, core/backend.h)
/// also logs `what`.
void count_layout(LayoutEvent event, const std::string& what);

}  // namespace convgrad
