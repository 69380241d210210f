#include "risk/limits.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <set>

namespace pt::risk {

namespace {

using core::rounding;

const decimal hundred = decimal::from_integer(100);
const decimal hour_seconds = decimal::from_integer(3600);

decimal get_decimal(const nlohmann::json& v, const std::string& field) {
  if (v.is_string()) {
    auto d = decimal::try_parse(v.get<std::string>());
    if (!d) throw risk_config_error(field, "not a decimal: \"" + v.get<std::string>() + "\"");
    return *d;
  }
  if (v.is_number_integer()) {
    try {
      return decimal::from_integer(v.get<std::int64_t>());
    } catch (const core::decimal_error&) {
      throw risk_config_error(field, "out of range");
    }
  }
  if (v.is_number()) throw risk_config_error(field, "write fractional numbers as strings (\"1.5\"), not JSON floats");
  throw risk_config_error(field, "expected a decimal string or an integer");
}

int get_int(const nlohmann::json& v, const std::string& field) {
  if (!v.is_number_integer()) throw risk_config_error(field, "expected an integer");
  const auto x = v.get<std::int64_t>();
  if (x < 0 || x > 1'000'000) throw risk_config_error(field, "out of range");
  return static_cast<int>(x);
}

std::chrono::nanoseconds hours_to_ns(decimal h, const std::string& field) {
  if (h.is_negative()) throw risk_config_error(field, "must not be negative");
  if (h > decimal::from_integer(24 * 366)) throw risk_config_error(field, "longer than a year");
  // seconds with 9 fractional digits: the units are nanoseconds.
  return std::chrono::nanoseconds(core::mul(h, hour_seconds, rounding::ceil).units());
}

void require(bool ok, const char* field, const std::string& why) {
  if (!ok) throw risk_config_error(field, why);
}

std::string s(decimal d) { return d.to_string(); }
std::string hrs(std::chrono::nanoseconds n) {
  return decimal::from_units(n.count()).to_string() + " s";
}

// A fraction in (0, cap]: above cap is "looser than the hard cap".
void upper(decimal v, decimal cap, const char* field, bool allow_zero = false) {
  require(allow_zero ? !v.is_negative() : v.is_positive(), field,
          allow_zero ? "must be >= 0" : "must be > 0");
  require(v <= cap, field, "looser than the hard cap " + s(cap) + " (got " + s(v) + "); config may only tighten");
}
// A floor / minimum: below the hard value is looser.
void lower(decimal v, decimal floor, const char* field) {
  require(v >= floor, field, "looser than the hard minimum " + s(floor) + " (got " + s(v) + "); config may only tighten");
}
void lower(std::chrono::nanoseconds v, std::chrono::nanoseconds floor, const char* field) {
  require(v >= floor, field, "shorter than the hard minimum " + hrs(floor) + " (got " + hrs(v) + "); config may only tighten");
}
void ilimit(int v, int cap, const char* field) {
  require(v >= 1, field, "must be >= 1");
  require(v <= cap, field, "looser than the hard cap " + std::to_string(cap) + " (got " + std::to_string(v) + "); config may only tighten");
}

}  // namespace

void validate(const risk_config& c) {
  upper(c.risk_per_trade, hard::max_risk_per_trade, "risk_per_trade_pct");
  upper(c.max_leverage, hard::max_leverage, "max_leverage");
  require(c.max_leverage >= decimal::one(), "max_leverage", "must be >= 1");
  upper(c.default_leverage, c.max_leverage, "default_leverage");
  require(c.default_leverage >= decimal::one(), "default_leverage", "must be >= 1");
  upper(c.max_daily_loss, hard::max_daily_loss, "max_daily_loss_pct");
  upper(c.max_drawdown, hard::max_drawdown, "max_drawdown_pct");
  ilimit(c.max_consecutive_losses, hard::max_consecutive_losses, "max_consecutive_losses");
  ilimit(c.max_losses_24h, hard::max_losses_24h, "max_losses_24h");
  ilimit(c.max_positions, hard::max_open_positions, "max_positions");
  upper(c.max_symbol_exposure, hard::max_symbol_exposure, "max_symbol_exposure_pct");
  lower(c.cooldown_after_loss, hard::min_cooldown_after_loss, "cooldown_after_loss_hours");
  lower(c.cooldown_after_daily_loss, hard::min_cooldown_after_daily_loss, "cooldown_after_daily_loss_hours");
  lower(c.cooldown_after_stop_out, hard::min_cooldown_after_stop_out, "cooldown_after_stop_out_hours");
  lower(c.min_equity, hard::min_equity, "min_equity");
  upper(c.max_stop_atr_multiple, hard::max_stop_atr_multiple, "max_stop_atr_multiple");
  upper(c.funding_block_above, hard::funding_block_above, "funding_block_above_pct");
  upper(c.funding_reduce_above, hard::funding_reduce_above, "funding_reduce_above_pct", true);
  require(c.funding_reduce_above <= c.funding_block_above, "funding_reduce_above_pct",
          "must not exceed funding_block_above_pct");
  lower(c.funding_size_cut, hard::min_funding_size_cut, "funding_size_cut_pct");
  require(c.funding_size_cut <= decimal::one(), "funding_size_cut_pct", "must be <= 100");
  lower(c.news_medium_size_cut, hard::min_news_medium_size_cut, "news_medium_size_cut_pct");
  require(c.news_medium_size_cut <= decimal::one(), "news_medium_size_cut_pct", "must be <= 100");
  lower(c.news_high_block, hard::min_news_high_block, "news_high_block_hours");
  upper(c.max_margin_ratio, hard::max_margin_ratio, "max_margin_ratio_pct");
  upper(c.kelly_fraction, hard::max_kelly_fraction, "kelly_fraction");
  require(c.kelly_min_trades >= hard::min_kelly_trades, "kelly_min_trades",
          "looser than the hard minimum " + std::to_string(hard::min_kelly_trades) + "; config may only tighten");
  upper(c.max_volume_participation, hard::max_volume_participation, "max_volume_participation_pct");
  upper(c.max_depth_participation, hard::max_depth_participation, "max_depth_participation_pct");
}

risk_config risk_config_from_json(const nlohmann::json& j) {
  if (!j.is_object()) throw risk_config_error("risk", "expected a JSON object");
  risk_config c;
  static const std::set<std::string> known = {
      "risk_per_trade_pct", "max_leverage", "default_leverage", "max_daily_loss_pct",
      "max_drawdown_pct", "max_consecutive_losses", "max_losses_24h", "max_positions",
      "max_symbol_exposure_pct", "cooldown_after_loss_hours", "cooldown_after_daily_loss_hours",
      "cooldown_after_stop_out_hours", "min_equity", "max_stop_atr_multiple",
      "funding_reduce_above_pct", "funding_block_above_pct", "funding_size_cut_pct",
      "news_medium_size_cut_pct", "news_high_block_hours", "max_margin_ratio_pct",
      "kelly_enabled", "kelly_fraction", "kelly_min_trades", "max_volume_participation_pct",
      "max_depth_participation_pct"};
  for (const auto& [k, v] : j.items()) {
    if (!known.count(k)) throw risk_config_error(k, "unknown field");
    const auto pct = [&] {
      const decimal x = get_decimal(v, k);
      return core::div(x, hundred, rounding::half_even);
    };
    if (k == "risk_per_trade_pct") c.risk_per_trade = pct();
    else if (k == "max_leverage") c.max_leverage = get_decimal(v, k);
    else if (k == "default_leverage") c.default_leverage = get_decimal(v, k);
    else if (k == "max_daily_loss_pct") c.max_daily_loss = pct();
    else if (k == "max_drawdown_pct") c.max_drawdown = pct();
    else if (k == "max_consecutive_losses") c.max_consecutive_losses = get_int(v, k);
    else if (k == "max_losses_24h") c.max_losses_24h = get_int(v, k);
    else if (k == "max_positions") c.max_positions = get_int(v, k);
    else if (k == "max_symbol_exposure_pct") c.max_symbol_exposure = pct();
    else if (k == "cooldown_after_loss_hours") c.cooldown_after_loss = hours_to_ns(get_decimal(v, k), k);
    else if (k == "cooldown_after_daily_loss_hours") c.cooldown_after_daily_loss = hours_to_ns(get_decimal(v, k), k);
    else if (k == "cooldown_after_stop_out_hours") c.cooldown_after_stop_out = hours_to_ns(get_decimal(v, k), k);
    else if (k == "min_equity") c.min_equity = get_decimal(v, k);
    else if (k == "max_stop_atr_multiple") c.max_stop_atr_multiple = get_decimal(v, k);
    else if (k == "funding_reduce_above_pct") c.funding_reduce_above = pct();
    else if (k == "funding_block_above_pct") c.funding_block_above = pct();
    else if (k == "funding_size_cut_pct") c.funding_size_cut = pct();
    else if (k == "news_medium_size_cut_pct") c.news_medium_size_cut = pct();
    else if (k == "news_high_block_hours") c.news_high_block = hours_to_ns(get_decimal(v, k), k);
    else if (k == "max_margin_ratio_pct") c.max_margin_ratio = pct();
    else if (k == "kelly_enabled") {
      if (!v.is_boolean()) throw risk_config_error(k, "expected true or false");
      c.kelly_enabled = v.get<bool>();
    } else if (k == "kelly_fraction") c.kelly_fraction = get_decimal(v, k);
    else if (k == "kelly_min_trades") c.kelly_min_trades = get_int(v, k);
    else if (k == "max_volume_participation_pct") c.max_volume_participation = pct();
    else if (k == "max_depth_participation_pct") c.max_depth_participation = pct();
  }
  validate(c);
  return c;
}

decimal leverage_cap(const risk_config& c, decimal venue_max) {
  if (!venue_max.is_positive()) return decimal::zero();
  return std::min({hard::max_leverage, c.max_leverage, venue_max});
}

decimal applied_leverage(const risk_config& c, decimal venue_max) {
  return std::min(c.default_leverage, leverage_cap(c, venue_max));
}

}  // namespace pt::risk
