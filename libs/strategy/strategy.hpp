#pragma once
// The one strategy interface (issue 4, item 3). Plain library code: no CAF, no I/O, no clock:
// the caller passes `now` with every event, so a backtest and the live service run the same code.
//
// No look-ahead: on_bar accepts only a bar that has closed at or before `now`
// (open_time + duration(tf) <= now) and, per timeframe, bars in strictly increasing open time;
// anything else throws strategy_error. A decision therefore only ever sees closed bars; a 1d bar
// is consumed only after its day has ended.
//
// Absent inputs: model prediction and news risk do not exist yet. Until set they are "absent"
// and treated as NEUTRAL: model 0 (no directional vote), news LOW (no adverse news, no block),
// funding absent = no penalty. Every signal's reason ends with the state of these inputs, e.g.
// "model: absent (neutral 0) | news: absent (neutral LOW) | funding: absent (neutral)".
#include "strategy/params.hpp"
#include "strategy/types.hpp"

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pt::strategy {

struct context {
  std::string venue = "sim";    // schema pattern ^[a-z][a-z0-9_-]{0,31}$
  std::string symbol = "BTCUSDT";
};

class strategy {
 public:
  virtual ~strategy() = default;
  virtual std::string_view name() const = 0;

  // A closed bar of timeframe tf; returns zero or more decisions (at most one per decision bar).
  virtual std::vector<output> on_bar(const bar& b, timeframe tf, timestamp now) = 0;
  // The current position (nullopt: flat). Entries are proposed only while flat.
  virtual void on_position(const std::optional<position>& p, timestamp now) = 0;
  // The latest funding rate (fraction per 8 h, 0.0001 = 0.01 %), effective at `at`. A rate whose
  // time is after a decision's `now` is not used by that decision.
  virtual void on_funding(double rate, timestamp at) = 0;
  // Model prediction; nullopt = absent (neutral 0).
  virtual void on_model(const std::optional<model_prediction>& m) = 0;
  // News risk flag for the symbol; nullopt = absent (neutral LOW).
  virtual void on_news(const std::optional<news_risk>& n) = 0;
};

std::unique_ptr<strategy> make_strategy(const any_params& params, const context& ctx);

// ---- Pure scoring arithmetic, exposed so the tests can check it by hand. ----

// Seed 004 section 7 "Scoring Model".
struct trend_score_inputs {
  bool is_long = true;
  double price = 0;          // decision price (4h close)
  double daily_ema_fast = 0, daily_ema_slow = 0, daily_ema_fast_ago = 0;
  double atr = 0;            // ATR(14) on 4h
  double entry_ema_slow = 0; // EMA(21) on 4h: the pullback depth reference
  std::optional<double> funding_rate;
  std::optional<news_level> news;
};

struct trend_score {
  double trend = 0, volatility = 0, entry_quality = 0, funding = 0, news = 0;
  double composite = 0;
};

trend_score score_trend(const trend_score_inputs& in, const trend_following_params& p);
// composite >= threshold, with a 1e-9 tolerance so a score that is the threshold by hand
// arithmetic is not lost to a rounding of the last bit.
bool passes_threshold(double composite, double threshold);

// Seed 003 "Multi-Factor Analysis".
enum class trend_state { bullish, bearish, neutral };

struct multi_factor_inputs {
  double close = 0, sma_fast = 0, sma_slow = 0, rsi = 50, atr = 0;
  std::optional<double> model;  // [-1, 1]
};

struct multi_factor_score {
  trend_state trend = trend_state::neutral;
  double trend_factor = 0, momentum_factor = 0, model_factor = 0, volatility_factor = 0;
  double total = 0;
};

multi_factor_score score_multi_factor(const multi_factor_inputs& in, const multi_factor_params& p);

}  // namespace pt::strategy
