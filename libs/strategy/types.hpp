#pragma once
// The data a strategy takes in and gives out. TradingSignal and TradeProposal map field for field
// onto proto/schemas/signal.json and proto/schemas/trade.proposed.json (to_json writes exactly the
// schema's fields). Money (prices) is pt::core::decimal; indicator arithmetic is double and is
// converted back to a decimal only for the proposal's prices (rounded to the tick later by risk
// and execution).
#include "core/decimal.hpp"
#include "core/time.hpp"

#include <nlohmann/json.hpp>

#include <chrono>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace pt::strategy {

using pt::core::decimal;
using pt::core::timestamp;

// Misuse of the interface (a bar that has not closed yet, bars out of order, bad prices).
class strategy_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

enum class timeframe { m1, m5, m15, h1, h4, d1 };

std::string_view to_string(timeframe tf);  // "1m" .. "1d", as the marketdata bars name them
std::optional<timeframe> parse_timeframe(std::string_view s);
std::chrono::nanoseconds duration(timeframe tf);

// One closed candle, keyed by its open time (as the shared data and the venues key candles).
struct bar {
  timestamp open_time;
  decimal open, high, low, close, volume;
};

// The bar covers [open_time, open_time + duration(tf)): it is closed at open_time + duration.
timestamp close_time(const bar& b, timeframe tf);

enum class direction { long_, short_, flat };
std::string_view to_string(direction d);  // "long", "short", "flat"

enum class side { buy, sell };
std::string_view to_string(side s);

enum class order_type { market, limit };
std::string_view to_string(order_type t);

// TradingSignal (proto/schemas/signal.json; seed 000). The schema has no `reason` field: the
// reason text travels in features["reason"], next to the factor values (features is free form
// "for audit"). `reason` is kept as a member so code and tests need not dig into the JSON.
struct trading_signal {
  std::string signal_id;
  std::string strategy;
  std::string venue;
  std::string symbol;
  timestamp ts;
  direction dir = direction::flat;
  double strength = 0.0;  // 0..1
  decimal price;          // the decision bar's close
  std::string timeframe;  // "4h" etc.
  std::string reason;     // serialised as features["reason"]
  nlohmann::json features = nlohmann::json::object();
};

// TradeProposal (proto/schemas/trade.proposed.json). Risk sizes it; execution rounds the prices.
struct trade_proposal {
  std::string proposal_id;
  std::string signal_id;
  std::string correlation_id;
  std::string strategy;
  std::string venue;
  std::string symbol;
  side s = side::buy;
  order_type type = order_type::market;
  std::optional<decimal> entry_price;  // reference price (the decision close) for a market order
  decimal stop_loss;
  std::optional<decimal> take_profit;
  timestamp ts;
};

// What a strategy asks for an open position. No proto schema exists for it yet (see README):
// close = exit at market now; move_stop = replace the protective stop with new_stop (trailing or
// a news tightening; only ever toward the price, never away).
enum class exit_kind { close, move_stop };
enum class exit_reason { trailing_stop, time_stop, trend_flip, take_profit, signal_exit, news };
std::string_view to_string(exit_kind k);
std::string_view to_string(exit_reason r);

struct exit_request {
  exit_kind kind = exit_kind::close;
  exit_reason reason = exit_reason::signal_exit;
  std::optional<decimal> new_stop;  // set for move_stop
  std::string text;
};

// One decision: the signal always, a proposal when the strategy wants a new position, an exit
// request when it wants to change or end the open one.
struct output {
  trading_signal signal;
  std::optional<trade_proposal> proposal;
  std::optional<exit_request> exit;
};

// The open position as execution reports it (on_position).
struct position {
  direction dir = direction::long_;  // long_ or short_
  decimal entry_price;
  decimal qty;
  timestamp entry_time;
  decimal best_price;             // highest (long) / lowest (short) price since entry
  std::optional<decimal> stop;    // the protective stop in force, when known
};

// External inputs that do not exist yet (issue 4: "absent" with a documented neutral treatment).
// model: a directional prediction in [-1, 1] (-1 certain down, +1 certain up).
struct model_prediction {
  double score = 0.0;
  timestamp at;
};

enum class news_level { low, medium, high };
std::string_view to_string(news_level l);

// news: the LLM's risk flag for the symbol (seed 004 section 8); decays HIGH->MEDIUM after 12 h
// and MEDIUM->LOW after 6 h.
struct news_risk {
  news_level level = news_level::low;
  timestamp at;
};

// The level in force at `now` after the seed's decay.
news_level effective_level(const news_risk& n, timestamp now);

void to_json(nlohmann::json& j, const trading_signal& s);
void to_json(nlohmann::json& j, const trade_proposal& p);
void to_json(nlohmann::json& j, const exit_request& e);

// Converts an indicator result to a price, rounded to decimal's 9 digits. Throws strategy_error
// for a non-finite value or one outside decimal's range.
decimal to_decimal(double x);

}  // namespace pt::strategy
