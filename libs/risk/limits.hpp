#pragma once
// Hard risk caps compiled into the binary, and the risk configuration that may only tighten
// them (architecture.md: "Hard risk caps are compiled constants that configuration can tighten
// but never loosen"). Values come from seed 004 §9 "Core Risk Parameters" and "Pre-Order Risk
// Checklist"; the few that are ours (Kelly, liquidity, stop-out cooldown) say so.
//
// Fractions are held as decimals (0.01 = 1 %); the JSON config spells them in percent like seed
// 004 §16 (`risk_per_trade_pct: "1.0"`).
#include "core/decimal.hpp"

#include <nlohmann/json_fwd.hpp>

#include <chrono>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <utility>

namespace pt::risk {

using core::decimal;

// A config value that is malformed, out of range or looser than a hard cap. what() names the
// field; field() returns it alone.
class risk_config_error : public std::runtime_error {
 public:
  risk_config_error(std::string field, const std::string& why)
      : std::runtime_error(field + ": " + why), field_(std::move(field)) {}
  [[nodiscard]] const std::string& field() const { return field_; }

 private:
  std::string field_;
};

namespace hard {
constexpr decimal frac(std::int64_t units) { return decimal::from_units(units); }  // 1e-9 units
using std::chrono::hours;
using std::chrono::minutes;

// §9 "Max leverage 5x: hard cap, never exceeded".
inline constexpr decimal max_leverage = frac(5'000'000'000);
// §9 "Default leverage 2-3x": the leverage set on the account unless config says lower.
inline constexpr decimal default_leverage = frac(3'000'000'000);
// §9 "Risk per trade 1.0 % of equity" (seed 003 allows 2 %; issue 4 sends us to 004).
inline constexpr decimal max_risk_per_trade = frac(10'000'000);
// §9 "Max daily loss 3 % of equity" (against the UTC day's opening equity, issue 4).
inline constexpr decimal max_daily_loss = frac(30'000'000);
// §9 "Max drawdown 10 % of equity" (from peak; checklist item 2 and breaker table).
inline constexpr decimal max_drawdown = frac(100'000'000);
// §9 "Max consecutive losses 3" (breaker: 4-hour cooldown).
inline constexpr int max_consecutive_losses = 3;
// §9 breaker table "5 losses in 24h: 24-hour cooldown".
inline constexpr int max_losses_24h = 5;
inline constexpr hours losses_window{24};
inline constexpr hours losses_24h_cooldown{24};
// §9 "Position limit 1 (initially)": 1 is the configured default (default_open_positions); the
// compiled ceiling is 3 so the universe's top symbols can be held together once the operator
// raises the config, and beyond 3 it is a code change on purpose.
inline constexpr int max_open_positions = 3;
inline constexpr int default_open_positions = 1;
// §9 "Max exposure per symbol 100 % of allowed": a symbol may use at most this fraction of
// equity x applied leverage.
inline constexpr decimal max_symbol_exposure = frac(1'000'000'000);
// §9 "Cooldown after loss 4 hours" (a minimum: config may only lengthen).
inline constexpr hours min_cooldown_after_loss{4};
// §9 "Cooldown after max daily loss 24 hours".
inline constexpr hours min_cooldown_after_daily_loss{24};
// Ours: after a stop-out, the same symbol waits at least as long as after any loss.
inline constexpr hours min_cooldown_after_stop_out{4};
// §9 checklist 1 "Current equity >= $10 (minimum operational threshold)" (a floor: config may
// only raise it).
inline constexpr decimal min_equity = frac(10'000'000'000);
// §9 checklist 8 "SL distance <= 3 x ATR".
inline constexpr decimal max_stop_atr_multiple = frac(3'000'000'000);
// §9 checklist 9 "abs(funding) > 0.1 %: reduce size by 25 %; > 0.2 %: block entry".
inline constexpr decimal funding_reduce_above = frac(1'000'000);   // 0.001
inline constexpr decimal funding_block_above = frac(2'000'000);    // 0.002
inline constexpr decimal min_funding_size_cut = frac(250'000'000);  // at least 25 % off
// §8 "MEDIUM: reduce position size by 50 %"; §9 checklist 10 "No HIGH flag in last 24h".
inline constexpr decimal min_news_medium_size_cut = frac(500'000'000);
inline constexpr hours min_news_high_block{24};
// §9 checklist 11 "Projected margin ratio after trade < 80 %".
inline constexpr decimal max_margin_ratio = frac(800'000'000);
// §9 breaker "Margin ratio > 90 %: reduce position by 50 %; reset: margin ratio < 70 %".
inline constexpr decimal margin_breaker_trip = frac(900'000'000);
inline constexpr decimal margin_breaker_reset = frac(700'000'000);
inline constexpr decimal margin_breaker_reduce = frac(500'000'000);
// §9 breaker "Exchange disconnect > 5 min: cancel open orders, alert; reconnection + manual ack".
inline constexpr minutes max_disconnect{5};
// Ours: fractional Kelly at most half Kelly; Kelly needs at least this many closed trades.
inline constexpr decimal max_kelly_fraction = frac(500'000'000);
inline constexpr int min_kelly_trades = 30;
// Ours (thin liquidity): a new position's notional may be at most 1 % of the symbol's recent
// 24h quote volume and at most 25 % of the quote depth on the side it would take.
inline constexpr decimal max_volume_participation = frac(10'000'000);
inline constexpr decimal max_depth_participation = frac(250'000'000);
}  // namespace hard

// The effective limits. Defaults are the hard caps (seed 004's values); risk_config_from_json
// can only move each toward safety. Fractions, not percent.
struct risk_config {
  decimal risk_per_trade = hard::max_risk_per_trade;
  decimal max_leverage = hard::max_leverage;
  decimal default_leverage = hard::default_leverage;
  decimal max_daily_loss = hard::max_daily_loss;
  decimal max_drawdown = hard::max_drawdown;
  int max_consecutive_losses = hard::max_consecutive_losses;
  int max_losses_24h = hard::max_losses_24h;
  int max_positions = hard::default_open_positions;
  decimal max_symbol_exposure = hard::max_symbol_exposure;
  std::chrono::nanoseconds cooldown_after_loss = hard::min_cooldown_after_loss;
  std::chrono::nanoseconds cooldown_after_daily_loss = hard::min_cooldown_after_daily_loss;
  std::chrono::nanoseconds cooldown_after_stop_out = hard::min_cooldown_after_stop_out;
  decimal min_equity = hard::min_equity;
  decimal max_stop_atr_multiple = hard::max_stop_atr_multiple;
  decimal funding_reduce_above = hard::funding_reduce_above;
  decimal funding_block_above = hard::funding_block_above;
  decimal funding_size_cut = hard::min_funding_size_cut;
  decimal news_medium_size_cut = hard::min_news_medium_size_cut;
  std::chrono::nanoseconds news_high_block = hard::min_news_high_block;
  decimal max_margin_ratio = hard::max_margin_ratio;
  bool kelly_enabled = false;
  decimal kelly_fraction = decimal::from_units(250'000'000);  // quarter Kelly
  int kelly_min_trades = hard::min_kelly_trades;
  decimal max_volume_participation = decimal::from_units(1'000'000);  // 0.1 %
  decimal max_depth_participation = decimal::from_units(100'000'000);  // 10 %
};

// From a JSON object (all fields optional; absent = default above). Field names and units:
//   risk_per_trade_pct, max_daily_loss_pct, max_drawdown_pct, max_symbol_exposure_pct,
//   funding_reduce_above_pct, funding_block_above_pct, funding_size_cut_pct,
//   news_medium_size_cut_pct, max_margin_ratio_pct, max_volume_participation_pct,
//   max_depth_participation_pct: percent;
//   max_leverage, default_leverage, max_stop_atr_multiple, kelly_fraction, min_equity: plain;
//   max_consecutive_losses, max_losses_24h, max_positions, kelly_min_trades: integers;
//   cooldown_after_loss_hours, cooldown_after_daily_loss_hours, cooldown_after_stop_out_hours,
//   news_high_block_hours: hours; kelly_enabled: bool.
// Decimals are strings ("1.5") or JSON integers; a JSON float is refused (it went through a
// double). Unknown fields, wrong types, out-of-range and looser-than-hard-cap values throw
// risk_config_error naming the field; nothing is clamped.
[[nodiscard]] risk_config risk_config_from_json(const nlohmann::json& j);

// Re-checks a config built in code against the same rules (throws risk_config_error).
void validate(const risk_config& c);

// min(hard cap 5x, configured cap, the venue's max for the symbol). venue_max <= 0 is
// treated as unknown and yields zero (no leverage: fail closed).
[[nodiscard]] decimal leverage_cap(const risk_config& c, decimal venue_max);
// The leverage set on the account for an entry: min(default_leverage, leverage_cap).
[[nodiscard]] decimal applied_leverage(const risk_config& c, decimal venue_max);

}  // namespace pt::risk
