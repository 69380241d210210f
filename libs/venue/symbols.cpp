#include "venue/symbols.hpp"

#include <array>
#include <cstdint>
#include <stdexcept>

namespace pt::venue {
namespace {

constexpr std::size_t max_asset_len = 20;

std::string quoted(std::string_view s) { return "'" + std::string(s) + "'"; }

bool valid_asset(std::string_view a) {
  if (a.empty() || a.size() > max_asset_len) return false;
  for (char c : a) {
    if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))) return false;
  }
  return true;
}

struct tf_row {
  timeframe tf;
  std::string_view ours;         // also Binance's spelling
  std::string_view poloniex;     // empty: Poloniex has none
  bool poloniex_price_candles;   // also valid for mark/index/premium candles
  std::int64_t ms;
};

constexpr std::int64_t minute = 60'000;
constexpr std::array<tf_row, 11> table{{
    {timeframe::m1, "1m", "MINUTE_1", true, minute},
    {timeframe::m3, "3m", "", false, 3 * minute},
    {timeframe::m5, "5m", "MINUTE_5", true, 5 * minute},
    {timeframe::m15, "15m", "MINUTE_15", true, 15 * minute},
    {timeframe::m30, "30m", "MINUTE_30", true, 30 * minute},
    {timeframe::h1, "1h", "HOUR_1", true, 60 * minute},
    {timeframe::h2, "2h", "HOUR_2", true, 120 * minute},
    {timeframe::h4, "4h", "HOUR_4", true, 240 * minute},
    {timeframe::h6, "6h", "HOUR_6", false, 360 * minute},
    {timeframe::h12, "12h", "HOUR_12", true, 720 * minute},
    {timeframe::d1, "1d", "DAY_1", true, 1440 * minute},
}};

const tf_row& row(timeframe tf) {
  for (const auto& r : table) {
    if (r.tf == tf) return r;
  }
  throw std::invalid_argument("unknown timeframe value " + std::to_string(static_cast<int>(tf)));
}

}  // namespace

pair_symbol make_pair_symbol(std::string_view base, std::string_view quote) {
  if (!valid_asset(base)) {
    throw std::invalid_argument("invalid base asset " + quoted(base) + ": want 1-20 of [A-Z0-9]");
  }
  if (!valid_asset(quote)) {
    throw std::invalid_argument("invalid quote asset " + quoted(quote) + ": want 1-20 of [A-Z0-9]");
  }
  return {std::string(base), std::string(quote)};
}

pair_symbol parse_canonical_symbol(std::string_view text) {
  const auto slash = text.find('/');
  if (slash == std::string_view::npos || text.find('/', slash + 1) != std::string_view::npos) {
    throw std::invalid_argument("invalid canonical symbol " + quoted(text) + ": want BASE/QUOTE");
  }
  try {
    return make_pair_symbol(text.substr(0, slash), text.substr(slash + 1));
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument("invalid canonical symbol " + quoted(text) + ": " + e.what());
  }
}

std::string to_canonical_symbol(const pair_symbol& p) {
  const auto v = make_pair_symbol(p.base, p.quote);
  return v.base + "/" + v.quote;
}

std::string to_poloniex_symbol(const pair_symbol& p) {
  const auto v = make_pair_symbol(p.base, p.quote);
  return v.base + "_" + v.quote + "_PERP";
}

pair_symbol from_poloniex_symbol(std::string_view symbol) {
  constexpr std::string_view suffix = "_PERP";
  const auto bad = [&](const std::string& why) {
    return std::invalid_argument("invalid Poloniex v3 symbol " + quoted(symbol) + ": " + why);
  };
  if (symbol.size() <= suffix.size() || symbol.substr(symbol.size() - suffix.size()) != suffix) {
    throw bad("want BASE_QUOTE_PERP");
  }
  const std::string_view core = symbol.substr(0, symbol.size() - suffix.size());
  const auto us = core.find('_');
  if (us == std::string_view::npos || core.find('_', us + 1) != std::string_view::npos) {
    throw bad("want BASE_QUOTE_PERP");
  }
  try {
    return make_pair_symbol(core.substr(0, us), core.substr(us + 1));
  } catch (const std::invalid_argument& e) {
    throw bad(e.what());
  }
}

const std::vector<std::string>& binance_quote_assets() {
  static const std::vector<std::string> q{"USDT", "USDC"};
  return q;
}

std::string to_binance_symbol(const pair_symbol& p) {
  const auto v = make_pair_symbol(p.base, p.quote);
  bool known = false;
  for (const auto& q : binance_quote_assets()) known = known || q == v.quote;
  if (!known) {
    throw std::invalid_argument("quote asset " + quoted(v.quote) +
                                " is not a Binance USD-M margin asset (USDT, USDC)");
  }
  return v.base + v.quote;
}

std::string to_binance_stream_symbol(const pair_symbol& p) {
  std::string s = to_binance_symbol(p);
  for (char& c : s) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return s;
}

pair_symbol from_binance_symbol(std::string_view symbol) {
  for (const auto& q : binance_quote_assets()) {
    if (symbol.size() > q.size() && symbol.substr(symbol.size() - q.size()) == q) {
      const std::string_view base = symbol.substr(0, symbol.size() - q.size());
      if (valid_asset(base)) return {std::string(base), q};
    }
  }
  throw std::invalid_argument("invalid Binance USD-M symbol " + quoted(symbol) +
                              ": want upper-case BASE followed by USDT or USDC (perpetuals only)");
}

// ---- intervals -----------------------------------------------------------------------------------

const std::vector<timeframe>& all_timeframes() {
  static const std::vector<timeframe> all = [] {
    std::vector<timeframe> v;
    for (const auto& r : table) v.push_back(r.tf);
    return v;
  }();
  return all;
}

timeframe parse_timeframe(std::string_view text) {
  for (const auto& r : table) {
    if (r.ours == text) return r.tf;
  }
  throw std::invalid_argument("unknown timeframe " + quoted(text) +
                              ": want one of 1m 3m 5m 15m 30m 1h 2h 4h 6h 12h 1d");
}

std::string to_string(timeframe tf) { return std::string(row(tf).ours); }

std::chrono::milliseconds duration_of(timeframe tf) { return std::chrono::milliseconds(row(tf).ms); }

bool poloniex_supports(timeframe tf, poloniex_candles kind) {
  const auto& r = row(tf);
  if (r.poloniex.empty()) return false;
  return kind == poloniex_candles::trade || r.poloniex_price_candles;
}

std::string to_poloniex_interval(timeframe tf, poloniex_candles kind) {
  const auto& r = row(tf);
  if (r.poloniex.empty()) {
    throw std::invalid_argument("timeframe " + quoted(r.ours) + " has no Poloniex v3 interval");
  }
  if (!poloniex_supports(tf, kind)) {
    throw std::invalid_argument("timeframe " + quoted(r.ours) +
                                " is not available for Poloniex v3 mark/index/premium price candles");
  }
  return std::string(r.poloniex);
}

timeframe from_poloniex_interval(std::string_view code) {
  for (const auto& r : table) {
    if (!r.poloniex.empty() && r.poloniex == code) return r.tf;
  }
  for (std::string_view other : {"MINUTE_10", "HOUR_8", "DAY_3", "WEEK_1", "MONTH_1"}) {
    if (other == code) {
      throw std::invalid_argument("Poloniex interval " + quoted(code) +
                                  " is not one of our timeframes (1m..1d)");
    }
  }
  throw std::invalid_argument("unknown Poloniex v3 interval code " + quoted(code));
}

std::string to_poloniex_candle_channel(timeframe tf) {
  std::string s = "candles_" + to_poloniex_interval(tf, poloniex_candles::trade);
  for (char& c : s) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return s;
}

std::string to_binance_interval(timeframe tf) { return std::string(row(tf).ours); }

timeframe from_binance_interval(std::string_view interval) {
  for (const auto& r : table) {
    if (r.ours == interval) return r.tf;
  }
  for (std::string_view other : {"8h", "3d", "1w", "1M"}) {
    if (other == interval) {
      throw std::invalid_argument("Binance interval " + quoted(interval) +
                                  " is not one of our timeframes (1m..1d)");
    }
  }
  throw std::invalid_argument("unknown Binance interval " + quoted(interval));
}

}  // namespace pt::venue
