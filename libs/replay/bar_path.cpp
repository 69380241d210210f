#include "replay/bar_path.hpp"

#include <fmt/format.h>

#include <stdexcept>

namespace pt::replay {

std::string_view to_string(path_bias b) {
  switch (b) {
    case path_bias::low_first: return "low_first";
    case path_bias::high_first: return "high_first";
    case path_bias::nearest_first: return "nearest_first";
  }
  return "unknown";
}

std::vector<path_point> bar_path(const bar& b, path_bias bias, std::int64_t duration_ms) {
  if (duration_ms < 1) throw std::invalid_argument(fmt::format("bar_path: duration {} ms must be >= 1", duration_ms));
  if (b.low > b.open || b.low > b.close || b.high < b.open || b.high < b.close)
    throw std::invalid_argument(fmt::format("bar_path: inconsistent bar at {}: open {} high {} low {} close {}",
                                            b.open_time_ms, b.open.to_string(), b.high.to_string(),
                                            b.low.to_string(), b.close.to_string()));
  bool low_first = bias == path_bias::low_first;
  if (bias == path_bias::nearest_first) low_first = (b.open - b.low) <= (b.high - b.open);  // tie: low

  const path_point low{path_stage::low, b.low, 0, 0};
  const path_point high{path_stage::high, b.high, 0, 0};
  std::vector<path_point> path{{path_stage::open, b.open, 0, 0}, low_first ? low : high, low_first ? high : low,
                               {path_stage::close, b.close, 0, 0}};
  const std::int64_t offsets[4] = {0, duration_ms / 3, duration_ms / 3 * 2 + (duration_ms % 3) * 2 / 3, duration_ms - 1};
  for (std::size_t i = 0; i < path.size(); ++i) {
    path[i].offset_ms = offsets[i];
    std::int64_t t = 0;
    if (__builtin_add_overflow(b.open_time_ms, offsets[i], &t))
      throw std::invalid_argument("bar_path: bar time out of range");
    path[i].time_ms = t;
  }
  return path;
}

path_bias adverse_bias_for(int position_sign) {
  if (position_sign > 0) return path_bias::low_first;
  if (position_sign < 0) return path_bias::high_first;
  return path_bias::nearest_first;
}

path_bias adverse_bias_for(core::decimal position) { return adverse_bias_for(position.sign()); }

}  // namespace pt::replay
