#pragma once
// Strategy parameters, one versioned JSON file per strategy (libs/strategy/params/<name>.v1.json).
// Every tunable is in the file; parsing is strict: a missing, unknown or out-of-range field, a
// wrong type, a wrong "version" or "strategy" throws params_error naming the field. The README
// lists every field with its seed section and its allowed range.
#include "strategy/types.hpp"

#include <nlohmann/json.hpp>

#include <stdexcept>
#include <string>
#include <string_view>
#include <variant>

namespace pt::strategy {

class params_error : public std::runtime_error {
 public:
  params_error(std::string field, const std::string& what)
      : std::runtime_error("strategy params: field '" + field + "': " + what),
        field_(std::move(field)) {}
  const std::string& field() const { return field_; }

 private:
  std::string field_;
};

inline constexpr int params_version = 1;

enum class entry_style { pullback, breakout };

// Seed 004 section 7 (and section 8 for the news effects).
struct trend_following_params {
  entry_style entry = entry_style::pullback;
  int daily_ema_fast = 8, daily_ema_slow = 21, daily_slope_bars = 3;
  int ema_fast = 8, ema_slow = 21;  // 4h
  int atr_period = 14, rsi_period = 14;
  double pullback_rsi_long_min = 40, pullback_rsi_short_max = 60;
  int pullback_window_bars = 3;
  int breakout_period = 20;
  bool breakout_volume_filter = false;
  double breakout_volume_mult = 1.5;
  double initial_stop_atr = 2.0, take_profit_atr = 3.0;  // take_profit_atr 0: none
  double trail_trigger_atr = 1.5, trail_atr = 1.5;
  double time_stop_days = 7, time_stop_min_profit_atr = 0.5;
  bool exit_on_no_trend = false;
  double score_threshold = 0.65, score_threshold_news_medium = 0.75;
  double w_trend = 0.35, w_volatility = 0.15, w_entry = 0.25, w_funding = 0.10, w_news = 0.15;
  double slope_norm_max = 0.5;
  double vol_sweet_low_pct = 2.0, vol_sweet_high_pct = 5.0;
  double entry_opt_low_atr = 0.5, entry_opt_high_atr = 1.0;
  double funding_penalty_rate = 0.0003, funding_penalty_scale = 0.001;
  double funding_max_age_hours = 9;
  double news_stop_high_atr = 1.0, news_stop_medium_atr = 1.5;
};

// Seed 003 "Multi-Factor Analysis" and "Stop Loss & Take Profit".
struct multi_factor_params {
  timeframe tf = timeframe::h1;
  int sma_fast = 20, sma_slow = 50, rsi_period = 14, atr_period = 14;
  double trend_points = 30, momentum_points = 20, model_points = 30;
  double vol_points_medium = 10, vol_points_low = 5;
  double vol_low_pct = 0.3, vol_high_pct = 1.5;
  double buy_threshold = 50, sell_threshold = 50;  // total > buy, total < -sell
  double stop_pct = 2.0, take_profit_pct = 4.0;
  double trail_trigger_pct = 2.0, trail_pct = 1.0;
  bool exit_on_trend_reversal = true;
  double model_max_age_hours = 2;
};

// Baseline: Bollinger / z-score mean reversion.
struct mean_reversion_params {
  timeframe tf = timeframe::h1;
  int period = 20;
  double band_k = 2.0, entry_z = 2.0, stop_z = 3.0, exit_z = 0.0;
  int max_hold_bars = 48;
};

// Baseline: Donchian channel breakout (turtle-like).
struct breakout_params {
  timeframe tf = timeframe::h4;
  int entry_period = 20, exit_period = 10, atr_period = 14;
  double stop_atr = 2.0, take_profit_atr = 0.0;  // 0: none
};

// Baseline: contrarian to extreme funding.
struct funding_bias_params {
  timeframe tf = timeframe::h1;
  double extreme_rate = 0.0005, exit_rate = 0.0001;
  double funding_max_age_hours = 9;
  int atr_period = 14;
  double stop_atr = 2.0, take_profit_atr = 3.0;
};

using any_params = std::variant<trend_following_params, multi_factor_params, mean_reversion_params,
                                breakout_params, funding_bias_params>;

// The strategy name a parameter set is for ("trend_following", ...).
std::string_view strategy_name(const any_params& p);

// Parses one parameter document; its "strategy" field picks the type.
any_params parse_params(const nlohmann::json& doc);
// Same from text (a JSON syntax error is a params_error on field "<document>").
any_params parse_params_text(std::string_view text);
// Reads and parses a file: the one file read, at start-up, never in the decision path. A missing
// or unreadable file is a params_error on field "<file>".
any_params load_params_file(const std::string& path);

}  // namespace pt::strategy
