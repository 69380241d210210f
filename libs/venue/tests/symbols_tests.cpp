#include "venue/symbols.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <string>
#include <utility>
#include <vector>

using namespace pt::venue;
using namespace std::chrono_literals;

TEST_CASE("symbols: canonical <-> Poloniex v3 <-> Binance, both ways") {
  const std::vector<std::pair<std::string, std::string>> pairs{
      {"BTC", "USDT"}, {"ETH", "USDT"}, {"1000PEPE", "USDT"}, {"SOL", "USDC"}};
  for (const auto& [b, q] : pairs) {
    const pair_symbol p = make_pair_symbol(b, q);
    const std::string polo = to_poloniex_symbol(p);
    const std::string bn = to_binance_symbol(p);
    CHECK(polo == b + "_" + q + "_PERP");
    CHECK(bn == b + q);
    CHECK(from_poloniex_symbol(polo) == p);
    CHECK(from_binance_symbol(bn) == p);
    CHECK(parse_canonical_symbol(to_canonical_symbol(p)) == p);
  }
  CHECK(to_canonical_symbol(from_poloniex_symbol("BTC_USDT_PERP")) == "BTC/USDT");
  CHECK(from_binance_symbol("BTCUSDT") == pair_symbol{"BTC", "USDT"});
  CHECK(from_binance_symbol("ETHUSDC") == pair_symbol{"ETH", "USDC"});
  CHECK(from_binance_symbol("1000SHIBUSDT") == pair_symbol{"1000SHIB", "USDT"});
  CHECK(to_binance_stream_symbol({"BTC", "USDT"}) == "btcusdt");
}

TEST_CASE("symbols: bad symbols are rejected naming the input") {
  CHECK_THROWS_WITH(from_poloniex_symbol("BTCUSDTPERP"), Catch::Contains("'BTCUSDTPERP'"));  // v1 style
  CHECK_THROWS_WITH(from_poloniex_symbol("BTC_USDT"), Catch::Contains("'BTC_USDT'"));       // spot
  for (const char* bad : {"", "_PERP", "BTC__PERP", "_USDT_PERP", "btc_usdt_perp", "BTC_USDT_X_PERP",
                          "BTC-USDT_PERP", "XBTUSDTPERP"}) {
    CHECK_THROWS_AS(from_poloniex_symbol(bad), std::invalid_argument);
  }
  CHECK_THROWS_WITH(from_binance_symbol("btcusdt"), Catch::Contains("'btcusdt'"));
  for (const char* bad : {"", "USDT", "BTCBUSD", "BTCUSDT_260327", "BTC/USDT", "BTCEUR"}) {
    CHECK_THROWS_AS(from_binance_symbol(bad), std::invalid_argument);
  }
  CHECK_THROWS_WITH(to_binance_symbol({"BTC", "EUR"}), Catch::Contains("'EUR'"));
  CHECK_THROWS_WITH(parse_canonical_symbol("BTCUSDT"), Catch::Contains("'BTCUSDT'"));
  for (const char* bad : {"", "/", "BTC/", "/USDT", "btc/usdt", "BTC/USDT/X", "BTC /USDT"}) {
    CHECK_THROWS_AS(parse_canonical_symbol(bad), std::invalid_argument);
  }
  CHECK_THROWS_AS(make_pair_symbol(std::string(21, 'A'), "USDT"), std::invalid_argument);
  CHECK_THROWS_AS(to_poloniex_symbol({"B_C", "USDT"}), std::invalid_argument);
}

TEST_CASE("symbols: timeframes parse, print and have their durations") {
  const std::vector<std::pair<std::string, std::chrono::milliseconds>> expected{
      {"1m", 1min}, {"3m", 3min}, {"5m", 5min}, {"15m", 15min}, {"30m", 30min}, {"1h", 1h},
      {"2h", 2h},   {"4h", 4h},   {"6h", 6h},   {"12h", 12h},   {"1d", 24h}};
  REQUIRE(all_timeframes().size() == expected.size());
  for (std::size_t i = 0; i < expected.size(); ++i) {
    const timeframe tf = parse_timeframe(expected[i].first);
    CHECK(tf == all_timeframes()[i]);
    CHECK(to_string(tf) == expected[i].first);
    CHECK(duration_of(tf) == expected[i].second);
  }
  for (const char* bad : {"", "1M", "2m", "1H", "60m", "1w", "8h", " 1m"}) {
    CHECK_THROWS_AS(parse_timeframe(bad), std::invalid_argument);
  }
  CHECK_THROWS_WITH(parse_timeframe("7m"), Catch::Contains("'7m'"));
}

TEST_CASE("symbols: Poloniex interval codes both ways, 3m absent, 6h only for trade candles") {
  const std::vector<std::pair<timeframe, std::string>> codes{
      {timeframe::m1, "MINUTE_1"}, {timeframe::m5, "MINUTE_5"}, {timeframe::m15, "MINUTE_15"},
      {timeframe::m30, "MINUTE_30"}, {timeframe::h1, "HOUR_1"}, {timeframe::h2, "HOUR_2"},
      {timeframe::h4, "HOUR_4"},   {timeframe::h6, "HOUR_6"},   {timeframe::h12, "HOUR_12"},
      {timeframe::d1, "DAY_1"}};
  for (const auto& [tf, code] : codes) {
    CHECK(poloniex_supports(tf));
    CHECK(to_poloniex_interval(tf) == code);
    CHECK(from_poloniex_interval(code) == tf);
  }
  CHECK(to_poloniex_candle_channel(timeframe::m1) == "candles_minute_1");
  CHECK(to_poloniex_candle_channel(timeframe::h12) == "candles_hour_12");
  CHECK(to_poloniex_candle_channel(timeframe::d1) == "candles_day_1");

  CHECK_FALSE(poloniex_supports(timeframe::m3));
  CHECK_THROWS_WITH(to_poloniex_interval(timeframe::m3), Catch::Contains("'3m'"));
  CHECK_THROWS_AS(to_poloniex_candle_channel(timeframe::m3), std::invalid_argument);

  CHECK_FALSE(poloniex_supports(timeframe::h6, poloniex_candles::price));
  CHECK_THROWS_AS(to_poloniex_interval(timeframe::h6, poloniex_candles::price), std::invalid_argument);
  CHECK(to_poloniex_interval(timeframe::h4, poloniex_candles::price) == "HOUR_4");

  CHECK_THROWS_WITH(from_poloniex_interval("WEEK_1"), Catch::Contains("'WEEK_1'"));
  for (const char* bad : {"", "MINUTE_3", "minute_1", "1m", "DAY_3", "MONTH_1", "HOUR_8", "MINUTE_10"}) {
    CHECK_THROWS_AS(from_poloniex_interval(bad), std::invalid_argument);
  }
}

TEST_CASE("symbols: Binance intervals both ways") {
  for (timeframe tf : all_timeframes()) {
    const std::string i = to_binance_interval(tf);
    CHECK(i == to_string(tf));
    CHECK(from_binance_interval(i) == tf);
  }
  CHECK(to_binance_interval(timeframe::m3) == "3m");
  CHECK(to_binance_interval(timeframe::d1) == "1d");
  CHECK_THROWS_WITH(from_binance_interval("1w"), Catch::Contains("'1w'"));
  for (const char* bad : {"", "8h", "3d", "1M", "MINUTE_1", "1D", "2d"}) {
    CHECK_THROWS_AS(from_binance_interval(bad), std::invalid_argument);
  }
}
