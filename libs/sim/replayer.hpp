#pragma once
// Drives a sim::exchange from recorded data: each bar of the base series is walked as a short
// price path (open, the two extremes, close — adverse-first for the accounts' net position, see
// replay/bar_path.hpp), and at every point the market moves there with a seeded synthetic book
// around it (replay/book_synth.hpp); funding settles at each recorded funding time.
//
// Time is the caller's: advance_to(t) processes everything up to t. The same data, seed and
// advance calls give the same exchange state, bit for bit (lockstep runs and the backtester rely
// on that). Candles served to clients never reach past the current time: the running bar holds
// only the path points already walked.
#include "replay/data_files.hpp"
#include "sim/exchange.hpp"

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace pt::sim {

struct series {
  std::string venue_symbol;  // e.g. BTC_USDT_PERP or BTCUSDT
  std::int64_t base_ms = 0;  // the base bars' interval
  std::vector<replay::bar> bars;  // base timeframe, strictly increasing
  // Other recorded timeframes of the same symbol (interval ms -> bars), served as-is for klines.
  std::map<std::int64_t, std::vector<replay::bar>> other_timeframes;
  std::vector<replay::funding_point> funding;
  std::int64_t funding_interval_ms = 8LL * 3600 * 1000;
};

struct replay_config {
  std::uint64_t seed = 1;
  std::size_t book_levels = 20;
};

class market_replayer {
 public:
  market_replayer(exchange& ex, std::vector<series> data, replay_config config = {});

  [[nodiscard]] epoch_ms start_time() const { return start_; }  // first bar open
  [[nodiscard]] epoch_ms end_time() const { return end_; }      // last bar close
  [[nodiscard]] epoch_ms now() const { return now_; }
  // The time of the next path point or funding event; nullopt when the data is exhausted.
  [[nodiscard]] std::optional<epoch_ms> next_event_time() const;
  // Processes every event at or before t, then sets now = t. Returns the number of events.
  std::size_t advance_to(epoch_ms t);
  // Skips to t without trading: the market is placed at the price at t (for a late start).
  void seek(epoch_ms t);

  [[nodiscard]] const std::vector<series>& data() const { return data_; }
  [[nodiscard]] const series* find(const std::string& venue_symbol) const;

  // Candles of `interval_ms` overlapping [start, end], oldest first, at most `limit` (the newest
  // ones when more match, as the venues do without a start). The running candle is included
  // (closed = false) and holds only what happened up to now.
  [[nodiscard]] std::vector<venue::candle> candles(const std::string& venue_symbol, std::int64_t interval_ms,
                                                   std::optional<epoch_ms> start, std::optional<epoch_ms> end,
                                                   std::size_t limit) const;
  // Funding settlements at or before now (oldest first, at most limit, newest ones).
  [[nodiscard]] std::vector<venue::funding_rate> funding_history(const std::string& venue_symbol,
                                                                 std::optional<epoch_ms> start,
                                                                 std::optional<epoch_ms> end,
                                                                 std::size_t limit) const;
  // The last settled rate and the next one. The next rate is the recorded one: venues publish a
  // predicted rate that converges to it, so a client sees it slightly early (documented bias).
  [[nodiscard]] std::optional<venue::funding_rate> current_funding(const std::string& venue_symbol) const;
  // 24h statistics from the base bars up to now.
  [[nodiscard]] std::optional<venue::ticker> ticker(const std::string& venue_symbol) const;

 private:
  struct cursor {
    std::size_t bar = 0;         // the bar being walked
    std::size_t point = 0;       // next path point inside it
    std::size_t funding = 0;     // next funding event
    std::vector<std::pair<epoch_ms, core::decimal>> path;  // the current bar's points
    // The running bar as walked so far.
    std::optional<replay::bar> partial;
  };
  void plan_bar(std::size_t i);
  void move_market(std::size_t i, core::decimal price, epoch_ms t);

  exchange& ex_;
  std::vector<series> data_;
  replay_config config_;
  std::vector<cursor> cursors_;
  epoch_ms start_ = 0, end_ = 0, now_ = 0;
};

// Loads a series for a data symbol (BTCUSDT) from a data folder: the base timeframe file, every
// other candle file of that symbol and the funding file, all from one source sub-folder
// (`only_source`, or else the one with funding and the longest base file). Throws
// replay::data_error, or std::invalid_argument when nothing matches.
[[nodiscard]] series load_series(const std::string& data_dir, const std::string& data_symbol,
                                 const std::string& base_timeframe, const std::string& venue_symbol,
                                 const std::string& only_source = {});

}  // namespace pt::sim
