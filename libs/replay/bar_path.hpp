#pragma once
// The price path a simulator walks inside one candle. A bar only tells us open, high, low and
// close, not their order, so we assume the straight path open -> first extreme -> second
// extreme -> close, and let the caller choose which extreme comes first:
//
//   low_first      O -> L -> H -> C
//   high_first     O -> H -> L -> C
//   nearest_first  the extreme closer to the open first; on a tie (|O - L| == |H - O|) the low
//                  first, so the choice is deterministic
//
// A simulator holding a position uses adverse_bias_for(position): the extreme that hurts the
// position comes first, so a bar that touches both its stop and its take-profit fills the stop
// (the conservative reading). Long -> low_first, short -> high_first, flat -> nearest_first.
//
// The four points are stamped at fixed fractions of the bar's duration D (integer ms):
// open at 0, first extreme at floor(D/3), second extreme at floor(2D/3), close at D - 1 (the
// bar's last millisecond: a 1h bar opened 13:00 closes 13:59:59.999). Always four points, even
// when prices repeat (e.g. open == low), so index i always means the same stage.
#include "replay/data_files.hpp"

#include "core/decimal.hpp"

#include <cstdint>
#include <string_view>
#include <vector>

namespace pt::replay {

enum class path_bias { low_first, high_first, nearest_first };
[[nodiscard]] std::string_view to_string(path_bias b);

enum class path_stage { open, high, low, close };

struct path_point {
  path_stage stage = path_stage::open;
  core::decimal price;
  std::int64_t offset_ms = 0;  // from the bar's open time
  std::int64_t time_ms = 0;    // open_time_ms + offset_ms
  friend bool operator==(const path_point&, const path_point&) = default;
};

// Throws std::invalid_argument when duration_ms < 1 or the bar is inconsistent (low above open
// or close, high below them).
[[nodiscard]] std::vector<path_point> bar_path(const bar& b, path_bias bias, std::int64_t duration_ms);

// The bias that puts the adverse extreme first for a position of this sign (> 0 long, < 0 short).
[[nodiscard]] path_bias adverse_bias_for(int position_sign);
[[nodiscard]] path_bias adverse_bias_for(core::decimal position);

}  // namespace pt::replay
