#pragma once
// Universe selection inside marketdata (seed 004 §6, issue 4 item 1): what to ask the venue, the
// estimate of a missing 24 h quote volume, when the daily selection is due, and the
// md.<venue>.universe message. The rules themselves are libs/universe's select_universe. No CAF,
// no NATS, no clock of its own: the venue calls come in as functions (tests give canned answers)
// and time is passed in.
#include "universe/universe.hpp"
#include "venue/venue.hpp"

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace pt::marketdata {

// fixed: follow `symbols`, no selection. report: select and publish, follow `symbols` only.
// selected: follow `symbols` plus the selected universe.
enum class universe_mode { fixed, report, selected };
[[nodiscard]] const char* to_string(universe_mode m);

struct universe_settings {
  universe_mode mode = universe_mode::fixed;
  universe::universe_config rules;
  core::decimal equity;      // quote; the account equity until an exec.account of the venue arrives
  bool use_account = true;   // take the newest exec.account equity when there is one
  int max_leverage = 1;      // the leverage the risk service may apply
  std::int64_t refresh_at_ms = 0;                // time of day (UTC, market clock) of the daily selection
  std::chrono::milliseconds retry{60000};        // wall time before a failed selection is tried again
  std::chrono::milliseconds republish{60000};    // the last universe again (late subscribers); 0 = off
};

// The venue calls the selection makes (bound to pv::venue in the service).
struct market_source {
  std::function<std::vector<venue::instrument>()> instruments;
  std::function<venue::ticker(const std::string& symbol)> ticker;
  std::function<venue::funding_rate(const std::string& symbol)> funding;
  std::function<std::vector<venue::candle>(const venue::kline_query&)> klines;
};

struct selection {
  universe::universe result;
  std::int64_t market_time = 0;  // the venue time the figures are of
  core::decimal equity;
  std::string equity_source;  // "config" or "account"
  int max_leverage = 1;
  // How each symbol's 24 h quote volume was had: "ticker", or "klines_1h" when the ticker had
  // none (venue-sim's recordings carry no quote volume) or could not be read.
  std::map<std::string, std::string> volume_source;
  std::set<std::string> volume_capped;  // the sum passed the decimal range: shown as its largest value
};

// Runs the selection over the venue's answers:
//   * instruments(); a failure throws (the caller keeps the previous universe and retries);
//   * the 24 h ticker of every trading instrument quoted in rules.quote; when it has no quote
//     volume (or 0 beside a positive base volume) or fails, the 24 newest closed 1h klines
//     give it: sum of the bar's quote volume, else volume x contract size x close;
//   * funding only for the symbols that pass every other rule;
//   * a symbol whose ticker or funding failed is excluded (NO_TICKER / NO_FUNDING) with the
//     error in its detail.
// `market_now`: the venue's time when known (the streams); else the newest ticker time; else
// `wall_now`.
[[nodiscard]] selection run_selection(const market_source& src, const universe_settings& s, core::decimal equity,
                                      const std::string& equity_source, std::optional<std::int64_t> market_now,
                                      std::int64_t wall_now);

// The first daily selection time strictly after `last_ms` (refresh_at_ms past 00:00 UTC).
[[nodiscard]] std::int64_t next_refresh(std::int64_t last_ms, std::int64_t refresh_at_ms);

// "HH:MM" (UTC) -> ms past midnight; nullopt when malformed.
[[nodiscard]] std::optional<std::int64_t> parse_time_of_day(const std::string& text);

// The md.<venue>.universe payload (proto/schemas/md.universe.json).
[[nodiscard]] nlohmann::json universe_body(const std::string& venue, const std::string& trigger, universe_mode mode,
                                           const universe::universe_config& rules, const selection& sel,
                                           const std::vector<std::string>& followed,
                                           const std::vector<std::string>& added);

}  // namespace pt::marketdata
