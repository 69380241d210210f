#pragma once
// The bar pipeline of one symbol, with no I/O, CAF or clock of its own (the service calls it from
// its actor and does the REST calls it asks for):
//   * stream candles in (running or closed): a candle is closed when the venue says so (Binance
//     `x`) or when a later candle of the same stream arrives (Poloniex has no closed flag);
//   * closed 1m bars go into bars::bar_aggregator in order; the 1m bar and every 5m..1d bar
//     they close come out for publishing;
//   * before the first stream bar, and whenever a closed stream bar leaves a hole after the last
//     one, the stream bars are held and a REST backfill of the hole is asked for (pending());
//     the REST answer fills it (on_backfill) or the hole is given up (backfill_failed), and the
//     held bars follow. REST klines carry no closed flag, so a REST bar counts as closed only
//     when it ends at or before the newest closed stream bar's end or the newest REST bar's open;
//   * on_time(horizon): the stream went quiet (no 1m bar due before `horizon`): asks a backfill
//     up to the horizon once, then closes overdue periods incomplete.
#include "bars/bar_aggregator.hpp"
#include "venue/types.hpp"

#include <chrono>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <vector>

namespace pt::marketdata {

struct published_bar {
  std::string tf;  // "1m", "5m", ...
  std::chrono::milliseconds period;
  bars::bar b;
  bool backfilled = false;  // some base bar of it came from REST
};

// Base bars [from_ms, to_ms) to fetch over REST.
struct backfill_request {
  std::int64_t from_ms = 0, to_ms = 0;
  friend bool operator==(const backfill_request&, const backfill_request&) = default;
};

struct time_result {
  std::vector<published_bar> bars;  // periods closed incomplete because their end passed
  bool stale = false;               // a base bar due before the horizon never came
};

// "1m" -> 60000 ms etc.; throws std::invalid_argument for an unknown name.
[[nodiscard]] std::chrono::milliseconds timeframe_period(const std::string& tf);
[[nodiscard]] std::string timeframe_name(std::chrono::milliseconds period);

class bar_pipeline {
 public:
  // `timeframes`: what to publish (the base included or not); all multiples of `base`, the
  // stream's candle period (1m live; the main job replays 1h bars and builds 4h and 1d from them).
  // `head_1m`: extra base bars to backfill before the longest period's start at the first bar.
  // Throws std::invalid_argument for a timeframe shorter than the base or not a multiple of it.
  explicit bar_pipeline(const std::vector<std::string>& timeframes, int head_1m = 0,
                        std::chrono::milliseconds base = std::chrono::minutes(1));

  // A stream candle of the base stream. Returns the bars it closed (possibly none, e.g. while a
  // backfill is pending).
  std::vector<published_bar> on_stream(const venue::candle& c);

  // The stream connection ended: the running candle's figures may miss what came while it was
  // down, so it is dropped rather than closed by inference; the hole is backfilled instead.
  void stream_lost() { running_.reset(); }

  // The backfill asked for, if any (one at a time).
  [[nodiscard]] std::optional<backfill_request> pending() const { return pending_; }
  // The REST answer to pending(): fills the hole with the closed REST bars, then the held
  // stream bars follow. Any order of `rest`; bars outside the request are ignored.
  std::vector<published_bar> on_backfill(const backfill_request& r, std::vector<venue::candle> rest);
  // The REST call failed: the hole stays (the aggregator marks the bars incomplete).
  std::vector<published_bar> backfill_failed(const backfill_request& r);

  // `horizon_ms`: the time up to which base bars must have arrived (now - stale allowance).
  time_result on_time(std::int64_t horizon_ms);

  // Gaps the aggregator saw that no backfill filled (for the log), oldest first.
  [[nodiscard]] std::vector<bars::gap> take_gaps() { return agg_.take_gaps(); }
  // Bad candles dropped (bar_error), with the reasons since the last call.
  [[nodiscard]] std::vector<std::string> take_errors();

  // Start of the aggregated history (the first base bar fed), nullopt before it.
  [[nodiscard]] std::optional<std::int64_t> first_fed() const { return first_fed_; }
  [[nodiscard]] std::optional<std::int64_t> last_fed() const { return agg_.last_base_open(); }
  // Where the first backfill starts for the first stream bar at `open_ms`.
  [[nodiscard]] std::int64_t history_start(std::int64_t open_ms) const;
  [[nodiscard]] std::chrono::milliseconds longest() const { return longest_; }
  [[nodiscard]] std::chrono::milliseconds base() const { return std::chrono::milliseconds(base_ms); }

 private:
  void close_candidate(const venue::candle& c);
  std::vector<published_bar> drain();
  void feed(const venue::candle& c, bool backfilled, std::vector<published_bar>& out);

  std::int64_t base_ms = 60000;  // the stream's candle period
  bars::bar_aggregator agg_;
  bool publish_base_ = false;
  int head_1m_ = 0;
  std::chrono::milliseconds longest_;
  std::optional<venue::candle> running_;  // the newest stream candle not known closed
  std::deque<venue::candle> held_;         // closed stream bars waiting for a backfill
  std::optional<backfill_request> pending_;
  bool started_ = false;                   // the first backfill is done (or failed)
  std::int64_t last_closed_open_ = INT64_MIN;  // newest closed stream bar taken
  std::int64_t closed_end_ = INT64_MIN;        // its end
  std::int64_t skip_gap_at_ = INT64_MIN;       // a failed backfill: feed this held bar regardless
  std::int64_t last_backfilled_open_ = INT64_MIN;
  std::int64_t stale_asked_to_ = INT64_MIN;    // on_time asked a backfill up to here
  std::optional<std::int64_t> first_fed_;
  std::vector<std::string> errors_;
};

}  // namespace pt::marketdata
