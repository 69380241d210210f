#pragma once
// Symbol and candle-interval mapping between our canonical names and each venue's.
//   canonical pair  {BTC, USDT}  ("BTC/USDT")
//   Poloniex v3     BTC_USDT_PERP             (exchanges.md A1)
//   Binance USD-M   BTCUSDT (REST), btcusdt (stream names)  (exchanges.md B1/B5)
// Bad input throws std::invalid_argument naming the input.
#include <chrono>
#include <string>
#include <string_view>
#include <vector>

namespace pt::venue {

// A perpetual's base and quote asset, upper case [A-Z0-9]{1,20} (e.g. 1000PEPE).
struct pair_symbol {
  std::string base;
  std::string quote;
  friend bool operator==(const pair_symbol&, const pair_symbol&) = default;
};

[[nodiscard]] pair_symbol make_pair_symbol(std::string_view base, std::string_view quote);  // validates
[[nodiscard]] pair_symbol parse_canonical_symbol(std::string_view text);                    // "BTC/USDT"
[[nodiscard]] std::string to_canonical_symbol(const pair_symbol& p);                         // "BTC/USDT"

[[nodiscard]] std::string to_poloniex_symbol(const pair_symbol& p);        // "BTC_USDT_PERP"
[[nodiscard]] pair_symbol from_poloniex_symbol(std::string_view symbol);

// Binance concatenates base and quote, so the split needs the quote list: USD-M perpetuals are
// margined in one of these.
[[nodiscard]] const std::vector<std::string>& binance_quote_assets();  // USDT, USDC
[[nodiscard]] std::string to_binance_symbol(const pair_symbol& p);         // "BTCUSDT"
[[nodiscard]] std::string to_binance_stream_symbol(const pair_symbol& p);  // "btcusdt"
[[nodiscard]] pair_symbol from_binance_symbol(std::string_view symbol);   // upper case only

// ---- candle intervals ----------------------------------------------------------------------------

enum class timeframe { m1, m3, m5, m15, m30, h1, h2, h4, h6, h12, d1 };

[[nodiscard]] const std::vector<timeframe>& all_timeframes();
[[nodiscard]] timeframe parse_timeframe(std::string_view text);  // "1m", "3m", ... "1d"
[[nodiscard]] std::string to_string(timeframe tf);
[[nodiscard]] std::chrono::milliseconds duration_of(timeframe tf);

// Poloniex v3 interval codes (exchanges.md A7.3). Poloniex has no 3-minute candles, and HOUR_6
// works for /v3/market/candles but was rejected (24102) for mark/index/premium price candles.
enum class poloniex_candles { trade, price };
[[nodiscard]] bool poloniex_supports(timeframe tf, poloniex_candles kind = poloniex_candles::trade);
// "MINUTE_1" ...; throws std::invalid_argument where poloniex_supports() is false.
[[nodiscard]] std::string to_poloniex_interval(timeframe tf,
                                               poloniex_candles kind = poloniex_candles::trade);
// Throws for unknown codes and for real Poloniex codes we do not use (DAY_3, WEEK_1, ...).
[[nodiscard]] timeframe from_poloniex_interval(std::string_view code);
// WS channel name, e.g. "candles_minute_1" (lower case of the REST code).
[[nodiscard]] std::string to_poloniex_candle_channel(timeframe tf);

// Binance intervals are spelled like ours ("1m" ... "1d"); every timeframe exists there.
[[nodiscard]] std::string to_binance_interval(timeframe tf);
// Throws for unknown text and for real Binance intervals we do not use (8h, 3d, 1w, 1M).
[[nodiscard]] timeframe from_binance_interval(std::string_view interval);

}  // namespace pt::venue
