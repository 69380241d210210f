#pragma once
// Splitting a large entry into child orders (issue 4 §5: TWAP, VWAP, iceberg). Pure planning:
// quantities in whole lots, never more than the total (rounded down to the lot: never more than
// risk approved), every child at least the venue's minimum, and the sum of the children equal to
// the lot-rounded total. Execution sends the children (services/execution: sliced entries).
#include "core/decimal.hpp"

#include <chrono>
#include <string>
#include <vector>

namespace pt::oms {

enum class slice_algo { none, twap, vwap, iceberg };
[[nodiscard]] const char* to_string(slice_algo a);
// "none" | "twap" | "vwap" | "iceberg"; throws std::invalid_argument otherwise.
[[nodiscard]] slice_algo parse_slice_algo(const std::string& text);

struct child_slice {
  int index = 0;
  core::decimal qty;                // order unit, a whole number of lots
  std::chrono::milliseconds at{0};  // when to send, from the first child (iceberg: 0, each after the last is done)
};

// TWAP: `slices` children of (almost) equal size, child i at i x duration / slices; the first
// children take the lots that do not divide evenly. Fewer children when the total holds fewer
// minimum-size children. Throws std::invalid_argument for lot <= 0, slices < 1 or a negative duration.
[[nodiscard]] std::vector<child_slice> plan_twap(core::decimal total, core::decimal lot, core::decimal min_qty, int slices,
                                                 std::chrono::milliseconds duration);

// VWAP: one child per bucket, sized in proportion to the bucket's expected volume (`weights`,
// e.g. the same time of day over the last days), child i at i x bucket. Largest-remainder
// rounding to lots; a child under the minimum is merged into the next (the last into the one
// before). All-zero weights fall back to TWAP. Throws std::invalid_argument like plan_twap and
// for a negative weight.
[[nodiscard]] std::vector<child_slice> plan_vwap(core::decimal total, core::decimal lot, core::decimal min_qty,
                                                 const std::vector<core::decimal>& weights, std::chrono::milliseconds bucket);

// Iceberg: clips of `display` (rounded down to the lot, at least min_qty), the last one taking the
// rest (merged into the one before when under the minimum); every `at` is 0: each clip goes when
// the one before is done, so the book never sees more than one clip.
[[nodiscard]] std::vector<child_slice> plan_iceberg(core::decimal total, core::decimal lot, core::decimal min_qty,
                                                    core::decimal display);

}  // namespace pt::oms
