#include "strategy/params.hpp"

#include <cmath>
#include <fstream>
#include <optional>
#include <set>
#include <sstream>

namespace pt::strategy {

namespace {

using json = nlohmann::json;

std::string fmt_num(double x) {
  std::ostringstream os;
  os << x;
  return os.str();
}

// Reads fields and remembers which it read; finish() then reports, in this order, an unknown
// field (so a typo is named as such, not as the field it was meant to be), a missing field, then
// the first bad value.
class reader {
 public:
  explicit reader(const json& doc) : doc_(doc) {}

  double number(const char* name, double lo, double hi) {
    const json* v = get(name);
    if (v == nullptr) return lo;
    if (!v->is_number()) {
      fail(name, "must be a number");
      return lo;
    }
    const double x = v->get<double>();
    if (!std::isfinite(x) || x < lo || x > hi)
      fail(name, "out of range [" + fmt_num(lo) + ", " + fmt_num(hi) + "]: " + v->dump());
    return x;
  }

  int integer(const char* name, int lo, int hi) {
    const json* v = get(name);
    if (v == nullptr) return lo;
    if (!v->is_number_integer()) {
      fail(name, "must be an integer");
      return lo;
    }
    const auto x = v->get<std::int64_t>();
    if (x < lo || x > hi) {
      fail(name, "out of range [" + std::to_string(lo) + ", " + std::to_string(hi) + "]: " + v->dump());
      return lo;
    }
    return static_cast<int>(x);
  }

  bool boolean(const char* name) {
    const json* v = get(name);
    if (v == nullptr) return false;
    if (!v->is_boolean()) {
      fail(name, "must be true or false");
      return false;
    }
    return v->get<bool>();
  }

  std::string text(const char* name) {
    const json* v = get(name);
    if (v == nullptr) return {};
    if (!v->is_string()) {
      fail(name, "must be a string");
      return {};
    }
    return v->get<std::string>();
  }

  timeframe tf(const char* name) {
    const std::string s = text(name);
    if (auto t = parse_timeframe(s)) return *t;
    if (seen_.count(name) != 0 && doc_.at(name).is_string())
      fail(name, "not a timeframe (1m, 5m, 15m, 1h, 4h, 1d): \"" + s + "\"");
    return timeframe::h1;
  }

  void fail(const char* name, std::string what) {
    if (!error_) error_.emplace(name, std::move(what));
  }

  void finish() const {
    for (const auto& [key, value] : doc_.items())
      if (seen_.count(key) == 0) throw params_error(key, "unknown field");
    if (!missing_.empty()) throw params_error(missing_, "missing");
    if (error_) throw params_error(error_->first, error_->second);
  }

 private:
  const json* get(const char* name) {
    seen_.insert(name);
    auto it = doc_.find(name);
    if (it == doc_.end()) {
      if (missing_.empty()) missing_ = name;
      return nullptr;
    }
    return &*it;
  }

  const json& doc_;
  std::set<std::string> seen_;
  std::string missing_;
  std::optional<std::pair<std::string, std::string>> error_;
};

constexpr double big = 1e9;

trend_following_params parse_trend(reader& r) {
  trend_following_params p;
  const std::string style = r.text("entry_style");
  if (style == "pullback") p.entry = entry_style::pullback;
  else if (style == "breakout") p.entry = entry_style::breakout;
  else r.fail("entry_style", "must be \"pullback\" or \"breakout\": \"" + style + "\"");
  p.daily_ema_fast = r.integer("daily_ema_fast", 1, 500);
  p.daily_ema_slow = r.integer("daily_ema_slow", 2, 1000);
  p.daily_slope_bars = r.integer("daily_slope_bars", 1, 100);
  p.ema_fast = r.integer("ema_fast", 1, 500);
  p.ema_slow = r.integer("ema_slow", 2, 1000);
  p.atr_period = r.integer("atr_period", 1, 1000);
  p.rsi_period = r.integer("rsi_period", 2, 1000);
  p.pullback_rsi_long_min = r.number("pullback_rsi_long_min", 0, 100);
  p.pullback_rsi_short_max = r.number("pullback_rsi_short_max", 0, 100);
  p.pullback_window_bars = r.integer("pullback_window_bars", 1, 100);
  p.breakout_period = r.integer("breakout_period", 1, 1000);
  p.breakout_volume_filter = r.boolean("breakout_volume_filter");
  p.breakout_volume_mult = r.number("breakout_volume_mult", 0, 100);
  p.initial_stop_atr = r.number("initial_stop_atr", 0.1, 20);
  p.take_profit_atr = r.number("take_profit_atr", 0, 50);
  p.trail_trigger_atr = r.number("trail_trigger_atr", 0, 50);
  p.trail_atr = r.number("trail_atr", 0.1, 20);
  p.time_stop_days = r.number("time_stop_days", 0.1, 365);
  p.time_stop_min_profit_atr = r.number("time_stop_min_profit_atr", -20, 20);
  p.exit_on_no_trend = r.boolean("exit_on_no_trend");
  p.score_threshold = r.number("score_threshold", 0, 1);
  p.score_threshold_news_medium = r.number("score_threshold_news_medium", 0, 1);
  p.w_trend = r.number("w_trend", 0, 1);
  p.w_volatility = r.number("w_volatility", 0, 1);
  p.w_entry = r.number("w_entry", 0, 1);
  p.w_funding = r.number("w_funding", 0, 1);
  p.w_news = r.number("w_news", 0, 1);
  p.slope_norm_max = r.number("slope_norm_max", 1e-6, 100);
  p.vol_sweet_low_pct = r.number("vol_sweet_low_pct", 1e-6, 100);
  p.vol_sweet_high_pct = r.number("vol_sweet_high_pct", 1e-6, 100);
  p.entry_opt_low_atr = r.number("entry_opt_low_atr", 1e-6, 100);
  p.entry_opt_high_atr = r.number("entry_opt_high_atr", 1e-6, 100);
  p.funding_penalty_rate = r.number("funding_penalty_rate", 0, 1);
  p.funding_penalty_scale = r.number("funding_penalty_scale", 1e-9, 1);
  p.funding_max_age_hours = r.number("funding_max_age_hours", 0, 1000);
  p.news_stop_high_atr = r.number("news_stop_high_atr", 0.1, 20);
  p.news_stop_medium_atr = r.number("news_stop_medium_atr", 0.1, 20);
  // Relations between fields, each named by the field that breaks it.
  if (p.daily_ema_fast >= p.daily_ema_slow) r.fail("daily_ema_fast", "must be < daily_ema_slow");
  if (p.ema_fast >= p.ema_slow) r.fail("ema_fast", "must be < ema_slow");
  if (p.vol_sweet_high_pct < p.vol_sweet_low_pct)
    r.fail("vol_sweet_high_pct", "must be >= vol_sweet_low_pct");
  if (p.entry_opt_high_atr < p.entry_opt_low_atr)
    r.fail("entry_opt_high_atr", "must be >= entry_opt_low_atr");
  const double wsum = p.w_trend + p.w_volatility + p.w_entry + p.w_funding + p.w_news;
  if (std::fabs(wsum - 1.0) > 1e-9) r.fail("w_news", "the five weights w_* must sum to 1, sum " + fmt_num(wsum));
  return p;
}

multi_factor_params parse_multi(reader& r) {
  multi_factor_params p;
  p.tf = r.tf("timeframe");
  p.sma_fast = r.integer("sma_fast", 1, 1000);
  p.sma_slow = r.integer("sma_slow", 2, 2000);
  p.rsi_period = r.integer("rsi_period", 2, 1000);
  p.atr_period = r.integer("atr_period", 1, 1000);
  p.trend_points = r.number("trend_points", 0, 100);
  p.momentum_points = r.number("momentum_points", 0, 100);
  p.model_points = r.number("model_points", 0, 100);
  p.vol_points_medium = r.number("vol_points_medium", 0, 100);
  p.vol_points_low = r.number("vol_points_low", 0, 100);
  p.vol_low_pct = r.number("vol_low_pct", 0, 100);
  p.vol_high_pct = r.number("vol_high_pct", 0, 100);
  p.buy_threshold = r.number("buy_threshold", 0, 1000);
  p.sell_threshold = r.number("sell_threshold", 0, 1000);
  p.stop_pct = r.number("stop_pct", 0.01, 50);
  p.take_profit_pct = r.number("take_profit_pct", 0, 1000);
  p.trail_trigger_pct = r.number("trail_trigger_pct", 0, 1000);
  p.trail_pct = r.number("trail_pct", 0.01, 50);
  p.exit_on_trend_reversal = r.boolean("exit_on_trend_reversal");
  p.model_max_age_hours = r.number("model_max_age_hours", 0, 1000);
  if (p.sma_fast >= p.sma_slow) r.fail("sma_fast", "must be < sma_slow");
  if (p.vol_high_pct < p.vol_low_pct) r.fail("vol_high_pct", "must be >= vol_low_pct");
  return p;
}

mean_reversion_params parse_mean_reversion(reader& r) {
  mean_reversion_params p;
  p.tf = r.tf("timeframe");
  p.period = r.integer("period", 2, 1000);
  p.band_k = r.number("band_k", 0.1, 10);
  p.entry_z = r.number("entry_z", 0.1, 10);
  p.stop_z = r.number("stop_z", 0.1, 20);
  p.exit_z = r.number("exit_z", -10, 10);
  p.max_hold_bars = r.integer("max_hold_bars", 1, 100000);
  if (p.stop_z <= p.entry_z) r.fail("stop_z", "must be > entry_z");
  if (p.exit_z >= p.entry_z) r.fail("exit_z", "must be < entry_z");
  return p;
}

breakout_params parse_breakout(reader& r) {
  breakout_params p;
  p.tf = r.tf("timeframe");
  p.entry_period = r.integer("entry_period", 1, 1000);
  p.exit_period = r.integer("exit_period", 1, 1000);
  p.atr_period = r.integer("atr_period", 1, 1000);
  p.stop_atr = r.number("stop_atr", 0.1, 20);
  p.take_profit_atr = r.number("take_profit_atr", 0, 50);
  return p;
}

funding_bias_params parse_funding(reader& r) {
  funding_bias_params p;
  p.tf = r.tf("timeframe");
  p.extreme_rate = r.number("extreme_rate", 1e-9, 1);
  p.exit_rate = r.number("exit_rate", 0, 1);
  p.funding_max_age_hours = r.number("funding_max_age_hours", 0, 1000);
  p.atr_period = r.integer("atr_period", 1, 1000);
  p.stop_atr = r.number("stop_atr", 0.1, 20);
  p.take_profit_atr = r.number("take_profit_atr", 0, 50);
  if (p.exit_rate >= p.extreme_rate) r.fail("exit_rate", "must be < extreme_rate");
  return p;
}

}  // namespace

std::string_view strategy_name(const any_params& p) {
  switch (p.index()) {
    case 0: return "trend_following";
    case 1: return "multi_factor";
    case 2: return "mean_reversion";
    case 3: return "breakout";
    default: return "funding_bias";
  }
}

any_params parse_params(const nlohmann::json& doc) {
  if (!doc.is_object()) throw params_error("<document>", "must be a JSON object");
  auto v = doc.find("version");
  if (v == doc.end()) throw params_error("version", "missing");
  if (!v->is_number_integer() || v->get<std::int64_t>() != params_version)
    throw params_error("version", "must be " + std::to_string(params_version) + ", got " + v->dump());
  auto s = doc.find("strategy");
  if (s == doc.end()) throw params_error("strategy", "missing");
  if (!s->is_string()) throw params_error("strategy", "must be a string");
  const auto name = s->get<std::string>();

  reader r(doc);
  (void)r.integer("version", params_version, params_version);
  (void)r.text("strategy");
  any_params out;
  if (name == "trend_following") out = parse_trend(r);
  else if (name == "multi_factor") out = parse_multi(r);
  else if (name == "mean_reversion") out = parse_mean_reversion(r);
  else if (name == "breakout") out = parse_breakout(r);
  else if (name == "funding_bias") out = parse_funding(r);
  else throw params_error("strategy", "unknown strategy \"" + name + "\"");
  r.finish();
  return out;
}

any_params parse_params_text(std::string_view text) {
  nlohmann::json doc;
  try {
    doc = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    throw params_error("<document>", std::string("not JSON: ") + e.what());
  }
  return parse_params(doc);
}

any_params load_params_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw params_error("<file>", "cannot read " + path);
  std::ostringstream os;
  os << in.rdbuf();
  return parse_params_text(os.str());
}

}  // namespace pt::strategy
