#include "strategy/types.hpp"

#include <cmath>

namespace pt::strategy {

using namespace std::chrono_literals;

std::string_view to_string(timeframe tf) {
  switch (tf) {
    case timeframe::m1: return "1m";
    case timeframe::m5: return "5m";
    case timeframe::m15: return "15m";
    case timeframe::h1: return "1h";
    case timeframe::h4: return "4h";
    case timeframe::d1: return "1d";
  }
  return "?";
}

std::optional<timeframe> parse_timeframe(std::string_view s) {
  for (auto tf : {timeframe::m1, timeframe::m5, timeframe::m15, timeframe::h1, timeframe::h4,
                  timeframe::d1})
    if (to_string(tf) == s) return tf;
  return std::nullopt;
}

std::chrono::nanoseconds duration(timeframe tf) {
  switch (tf) {
    case timeframe::m1: return 1min;
    case timeframe::m5: return 5min;
    case timeframe::m15: return 15min;
    case timeframe::h1: return 1h;
    case timeframe::h4: return 4h;
    case timeframe::d1: return 24h;
  }
  return 0ns;
}

timestamp close_time(const bar& b, timeframe tf) { return b.open_time + duration(tf); }

std::string_view to_string(direction d) {
  switch (d) {
    case direction::long_: return "long";
    case direction::short_: return "short";
    case direction::flat: return "flat";
  }
  return "?";
}

std::string_view to_string(side s) { return s == side::buy ? "buy" : "sell"; }
std::string_view to_string(order_type t) { return t == order_type::market ? "market" : "limit"; }
std::string_view to_string(exit_kind k) { return k == exit_kind::close ? "close" : "move_stop"; }

std::string_view to_string(exit_reason r) {
  switch (r) {
    case exit_reason::trailing_stop: return "trailing_stop";
    case exit_reason::time_stop: return "time_stop";
    case exit_reason::trend_flip: return "trend_flip";
    case exit_reason::take_profit: return "take_profit";
    case exit_reason::signal_exit: return "signal_exit";
    case exit_reason::news: return "news";
  }
  return "?";
}

std::string_view to_string(news_level l) {
  switch (l) {
    case news_level::low: return "LOW";
    case news_level::medium: return "MEDIUM";
    case news_level::high: return "HIGH";
  }
  return "?";
}

news_level effective_level(const news_risk& n, timestamp now) {
  // Seed 004 section 8: HIGH decays to MEDIUM after 12 h, MEDIUM to LOW after 6 h more.
  const auto age = now - n.at;
  if (n.level == news_level::high) {
    if (age < 12h) return news_level::high;
    return age < 18h ? news_level::medium : news_level::low;
  }
  if (n.level == news_level::medium) return age < 6h ? news_level::medium : news_level::low;
  return news_level::low;
}

void to_json(nlohmann::json& j, const trading_signal& s) {
  nlohmann::json features = s.features.is_object() ? s.features : nlohmann::json::object();
  features["reason"] = s.reason;
  j = nlohmann::json{{"signal_id", s.signal_id},
                     {"strategy", s.strategy},
                     {"venue", s.venue},
                     {"symbol", s.symbol},
                     {"ts", s.ts.to_iso8601()},
                     {"direction", std::string(to_string(s.dir))},
                     {"strength", s.strength},
                     {"price", s.price.to_string()},
                     {"features", std::move(features)}};
  if (!s.timeframe.empty()) j["timeframe"] = s.timeframe;
}

void to_json(nlohmann::json& j, const trade_proposal& p) {
  j = nlohmann::json{{"proposal_id", p.proposal_id},
                     {"signal_id", p.signal_id},
                     {"correlation_id", p.correlation_id},
                     {"strategy", p.strategy},
                     {"venue", p.venue},
                     {"symbol", p.symbol},
                     {"side", std::string(to_string(p.s))},
                     {"order_type", std::string(to_string(p.type))},
                     {"stop_loss", p.stop_loss.to_string()},
                     {"ts", p.ts.to_iso8601()}};
  if (p.entry_price) j["entry_price"] = p.entry_price->to_string();
  if (p.take_profit) j["take_profit"] = p.take_profit->to_string();
}

void to_json(nlohmann::json& j, const exit_request& e) {
  j = nlohmann::json{{"kind", std::string(to_string(e.kind))},
                     {"reason", std::string(to_string(e.reason))},
                     {"text", e.text}};
  if (e.new_stop) j["new_stop"] = e.new_stop->to_string();
}

decimal to_decimal(double x) {
  const double units = std::round(x * static_cast<double>(decimal::scale));
  // 9.2e18 is inside int64; anything at or past it (or a NaN) is refused.
  if (!std::isfinite(units) || std::fabs(units) >= 9.2e18)
    throw strategy_error("price out of range: " + std::to_string(x));
  return decimal::from_units(static_cast<std::int64_t>(units));
}

}  // namespace pt::strategy
