#pragma once
// Builds the higher timeframes (5m, 15m, 1h, 4h, 1d, ...) from closed base bars (1m) as the
// marketdata service receives them. Periods are aligned to the UTC epoch (a 4h bar opens at 00,
// 04, 08 ... UTC, a 1d bar at 00:00 UTC), as Binance and Poloniex align theirs.
//
// A target bar closes as soon as the base bar that ends its period arrives, or, when that one
// is missing, when a base bar of a later period arrives or on_time() passes the period's end.
// A bar built from fewer base bars than its period holds is marked incomplete (`complete =
// false`, `base_bars` says how many) and the missing stretch is reported as a gap, so the caller
// can backfill over REST and decide whether to trust it. Prices and volumes stay decimals.
//
// Bad input (a base bar out of order, a duplicate, a bar not aligned to the base period, high
// below low) throws bar_error and changes nothing: the caller logs it and goes on.
#include "core/decimal.hpp"

#include <chrono>
#include <climits>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <vector>

namespace pt::bars {

class bar_error : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

struct bar {
  std::int64_t open_time_ms = 0;
  core::decimal open, high, low, close, volume;
  std::optional<core::decimal> quote_volume;  // summed when every base bar has it
  int base_bars = 0;                          // base bars folded in
  bool complete = true;                       // every base bar of the period was seen
  friend bool operator==(const bar&, const bar&) = default;
};

// A stretch of base bars that never arrived: [from_ms, to_ms), in base-period steps.
struct gap {
  std::int64_t from_ms = 0, to_ms = 0;
  friend bool operator==(const gap&, const gap&) = default;
};

struct closed_bar {
  std::chrono::milliseconds period;
  bar b;
};

// The open time of the period of length `period` that holds `t_ms`, aligned to the UTC epoch
// (floor division, so times before 1970 align too).
[[nodiscard]] std::int64_t period_start(std::int64_t t_ms, std::chrono::milliseconds period);

class bar_aggregator {
 public:
  // Every target must be a whole multiple of `base` and no shorter than it.
  bar_aggregator(std::chrono::milliseconds base, std::vector<std::chrono::milliseconds> targets);

  // One closed base bar, in time order. Returns the target bars it closed (shortest period
  // first). Throws bar_error for bad input, leaving the state as it was.
  std::vector<closed_bar> on_base_bar(const bar& b);

  // The clock passed `now_ms` with no later base bar: closes every open target bar whose
  // period ended at or before now, incomplete, and records the missing base bars as a gap.
  std::vector<closed_bar> on_time(std::int64_t now_ms);

  // Gaps found since the last call (base bars that never arrived), oldest first.
  std::vector<gap> take_gaps();

  // The bar being built for `period` (nullopt before its first base bar), for a running view.
  [[nodiscard]] std::optional<bar> open_bar(std::chrono::milliseconds period) const;

  [[nodiscard]] std::chrono::milliseconds base() const { return base_; }
  // Open time of the last base bar accepted (nullopt before the first).
  [[nodiscard]] std::optional<std::int64_t> last_base_open() const { return last_open_; }

 private:
  struct slot {
    std::chrono::milliseconds period;
    std::optional<bar> building;
    std::int64_t closed_through = INT64_MIN;  // end of the last period emitted: later base bars of it are too late
  };
  void note_gap(std::int64_t from, std::int64_t to);

  std::chrono::milliseconds base_;
  std::vector<slot> slots_;  // shortest period first
  std::optional<std::int64_t> last_open_;
  std::vector<gap> gaps_;
  std::int64_t gaps_noted_to_ = INT64_MIN;  // each missing stretch is reported once
};

}  // namespace pt::bars
