#include "core/layout_stats.h"

#include <fmt/core.h>

#include <atomic>

#include "core/backend.h"

namespace convgrad {

namespace {
std::atomic<int64_t> g_counts[3];

const char* event_name(LayoutEvent event) {
  switch (event) {
    case LayoutEvent::FormatCopy:
      return "format copy";
    case LayoutEvent::ActivationReorder:
      return "activation reorder";
    case LayoutEvent::WeightReorder:
      return "weight reorder";
  }
  return "layout event";
}
}  // namespace

LayoutStats layout_stats() {
  return {g_counts[0].load(std::memory_order_relaxed), g_counts[1].load(std::memory_order_relaxed),
          g_counts[2].load(std::memory_order_relaxed)};
}

void reset_layout_stats() {
  for (auto& c : g_counts) c.store(0, std::memory_order_relaxed);
}

void count_layout(LayoutEvent event, const std::string& what) {
  int64_t n = g_counts[static_cast<int>(event)].fetch_add(1, std::memory_order_relaxed) + 1;
  if (verbose()) verbose_log(fmt::format("{} #{}: {}", event_name(event), n, what));
}

}  // namespace convgrad
