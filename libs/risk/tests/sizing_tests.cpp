// Sizing cases worked by hand (the arithmetic is in each comment).
#include "risk/sizing.hpp"

#include <catch2/catch.hpp>

using pt::core::decimal;
using namespace pt::risk;
using Catch::Detail::Approx;

namespace {
decimal d(const char* s) { return decimal::parse(s); }

instrument binance_btc() {  // quantity in BTC, lot 0.001
  instrument i;
  i.symbol = "BTCUSDT";
  i.contract_size = d("1");
  i.lot_size = d("0.001");
  i.min_qty = d("0.001");
  i.min_notional = d("5");
  i.tick_size = d("0.1");
  i.max_leverage = d("125");
  i.maintenance_margin_rate = d("0.004");
  return i;
}

sizing_request req(const char* equity, const char* entry, const char* stop, side s = side::buy) {
  sizing_request r;
  r.equity = d(equity);
  r.entry = d(entry);
  r.stop = d(stop);
  r.direction = s;
  r.inst = binance_btc();
  r.funding_rate = d("0.0001");
  r.news = news_level::low;
  return r;
}
}  // namespace

TEST_CASE("risk-based size is equity x risk over stop distance", "[sizing]") {
  // 100 x 1 % = 1 USDT at risk; |50000 - 49000| = 1000; 1 / 1000 = 0.001 BTC.
  const auto r = size_position(risk_config{}, req("100", "50000", "49000"));
  REQUIRE(r.ok());
  CHECK(r.quantity == d("0.001"));
  CHECK(r.notional == d("50"));
  CHECK(r.risk_amount == d("1"));
  CHECK(r.leverage == d("3"));
  // A sell mirrors it: stop above entry.
  const auto s = size_position(risk_config{}, req("100", "50000", "51000", side::sell));
  REQUIRE(s.ok());
  CHECK(s.quantity == d("0.001"));
}

TEST_CASE("size rounds down to the lot", "[sizing]") {
  // 1 / 700 = 0.001428571..., down to lot 0.001 -> 0.001; risk 0.001 x 700 = 0.7.
  const auto r = size_position(risk_config{}, req("100", "50000", "49300"));
  REQUIRE(r.ok());
  CHECK(r.quantity == d("0.001"));
  CHECK(r.risk_amount == d("0.7"));
  // 1000 x 1 % = 10; 10 / 1120 = 0.0089285..., down to lot 0.001 -> 0.008 (nearest would be 0.009).
  CHECK(size_position(risk_config{}, req("1000", "50000", "48880")).quantity == d("0.008"));
}

TEST_CASE("contract size converts base quantity to venue contracts", "[sizing]") {
  // Poloniex-style: 1 contract = 0.001 BTC, lot 1 contract. 1000 x 1 % = 10; 10 / 1400 =
  // 0.007142857 BTC = 7.142857 contracts, down -> 7; notional 7 x 0.001 x 50000 = 350.
  auto q = req("1000", "50000", "48600");
  q.inst.contract_size = d("0.001");
  q.inst.lot_size = d("1");
  q.inst.min_qty = d("1");
  const auto r = size_position(risk_config{}, q);
  REQUIRE(r.ok());
  CHECK(r.quantity == d("7"));
  CHECK(r.base_quantity == d("0.007"));
  CHECK(r.notional == d("350"));
  CHECK(r.risk_amount == d("9.8"));  // 0.007 x 1400
}

TEST_CASE("below min qty or min notional is rejected with a reason", "[sizing]") {
  // 1 / 10000 = 0.0001 BTC, down to lot 0.001 -> 0.
  const auto r = size_position(risk_config{}, req("100", "50000", "40000"));
  CHECK(r.reject == reason_code::size_below_min_qty);
  CHECK(r.quantity == d("0"));
  // 0.001 x 50000 = 50 < min notional 100.
  auto q = req("100", "50000", "49000");
  q.inst.min_notional = d("100");
  CHECK(size_position(risk_config{}, q).reject == reason_code::size_below_min_notional);
}

TEST_CASE("notional is capped by equity x applied leverage minus open notional", "[sizing]") {
  // 1 / 0.1 = 10 units at 100 = 1000 notional > 100 x 3 = 300 -> 300 / 100 = 3 units.
  auto q = req("100", "100", "99.9");
  CHECK(size_position(risk_config{}, q).quantity == d("3"));
  q.inst.max_leverage = d("2");  // venue max 2 -> 200 / 100 = 2
  CHECK(size_position(risk_config{}, q).quantity == d("2"));
  q.inst.max_leverage = d("125");
  q.open.push_back({"ETHUSDT", side::buy, d("250")});  // room 300 - 250 = 50 -> 0.5
  CHECK(size_position(risk_config{}, q).quantity == d("0.5"));
  q.open[0].notional = d("300");  // no room at all
  CHECK(size_position(risk_config{}, q).reject == reason_code::no_capacity);
  q.open.clear();
  q.inst.max_leverage = d("0");  // venue max unknown: fail closed
  CHECK(size_position(risk_config{}, q).reject == reason_code::no_capacity);
}

TEST_CASE("kelly fraction by hand", "[sizing][kelly]") {
  CHECK(kelly_fraction(0.6, 2.0) == Approx(0.4));      // 0.6 - 0.4 / 2
  CHECK(kelly_fraction(0.55, 1.5) == Approx(0.25));    // 0.55 - 0.45 / 1.5
  CHECK(kelly_fraction(0.5, 1.0) == Approx(0.0));      // no edge
  CHECK(kelly_fraction(0.3, 2.0) == Approx(-0.05));    // 0.3 - 0.7 / 2
  CHECK(std::isnan(kelly_fraction(1.2, 2.0)));
  CHECK(std::isnan(kelly_fraction(0.5, 0.0)));
}

TEST_CASE("kelly reduces size when it is smaller than the risk-based size", "[sizing][kelly]") {
  risk_config c;
  c.kelly_enabled = true;  // quarter Kelly by default
  auto q = req("100", "50000", "49000");
  q.inst.lot_size = q.inst.min_qty = d("0.0001");
  // f* = 0.4 - 0.6 / 1.6 = 0.025; x 0.25 = 0.00625; x 100 = 0.625 < 1 (risk-based);
  // 0.625 / 1000 = 0.000625 -> lot 0.0001 -> 0.0006.
  q.kelly = kelly_stats{0.4, 1.6, 40};
  auto r = size_position(c, q);
  REQUIRE(r.ok());
  CHECK(r.quantity == d("0.0006"));
  // A strong edge never goes above the risk-based size: f* = 0.9 - 0.1 / 3 = 0.8667; x 0.25 x 100
  // = 21.67 > 1 -> stays 1 / 1000 = 0.001.
  q.kelly = kelly_stats{0.9, 3.0, 40};
  CHECK(size_position(c, q).quantity == d("0.001"));
  // Too few trades: Kelly not applied.
  q.kelly = kelly_stats{0.4, 1.6, 29};
  CHECK(size_position(c, q).quantity == d("0.001"));
  // Disabled in config: ignored.
  q.kelly = kelly_stats{0.4, 1.6, 40};
  CHECK(size_position(risk_config{}, q).quantity == d("0.001"));
}

TEST_CASE("zero or negative kelly edge means no trade", "[sizing][kelly]") {
  risk_config c;
  c.kelly_enabled = true;
  auto q = req("100", "50000", "49000");
  q.kelly = kelly_stats{0.5, 1.0, 100};  // f* = 0
  CHECK(size_position(c, q).reject == reason_code::no_edge);
  q.kelly = kelly_stats{0.3, 2.0, 100};  // f* = -0.05
  CHECK(size_position(c, q).reject == reason_code::no_edge);
  q.kelly = kelly_stats{1.5, 2.0, 100};
  CHECK(size_position(c, q).reject == reason_code::invalid_input);
}

TEST_CASE("funding and news MEDIUM cut the size", "[sizing]") {
  // 1000 x 1 % = 10; / 1 = 10 units at 100 (notional 1000 <= 3000).
  auto q = req("1000", "100", "99");
  CHECK(size_position(risk_config{}, q).quantity == d("10"));
  q.funding_rate = d("0.001");  // not above 0.1 %: no cut
  CHECK(size_position(risk_config{}, q).quantity == d("10"));
  q.funding_rate = d("-0.0015");  // |f| > 0.1 %: x 0.75
  CHECK(size_position(risk_config{}, q).quantity == d("7.5"));
  q.funding_rate = d("0.0001");
  q.news = news_level::medium;  // x 0.5
  CHECK(size_position(risk_config{}, q).quantity == d("5"));
  q.news = news_level::absent;  // neutral
  const auto r = size_position(risk_config{}, q);
  CHECK(r.quantity == d("10"));
  bool noted = false;
  for (const auto& s : r.steps) noted = noted || s.find("absent") != std::string::npos;
  CHECK(noted);
}

TEST_CASE("correlation with open positions scales by 1 - max(0, rho)", "[sizing]") {
  auto q = req("1000", "100", "99");  // 10 units before
  q.correlations = {{"ETHUSDT", side::buy, 0.6}};  // same direction: x 0.4
  CHECK(size_position(risk_config{}, q).quantity == d("4"));
  q.correlations = {{"ETHUSDT", side::sell, 0.6}};  // opposite direction, positive rho: hedge
  CHECK(size_position(risk_config{}, q).quantity == d("10"));
  q.correlations = {{"ETHUSDT", side::sell, -0.5}};  // opposite and negative: same bet, x 0.5
  CHECK(size_position(risk_config{}, q).quantity == d("5"));
  q.correlations = {{"ETHUSDT", side::buy, 0.2}, {"SOLUSDT", side::buy, 0.75}};  // worst: x 0.25
  CHECK(size_position(risk_config{}, q).quantity == d("2.5"));
  q.correlations = {{"ETHUSDT", side::buy, 1.5}};
  CHECK(size_position(risk_config{}, q).reject == reason_code::invalid_input);
}

TEST_CASE("thin liquidity caps the notional", "[sizing]") {
  auto q = req("1000", "100", "99");  // 10 units, notional 1000
  q.liq.quote_volume_24h = d("500000");  // 0.1 % = 500 -> 5 units
  CHECK(size_position(risk_config{}, q).quantity == d("5"));
  q.liq.book_depth_quote = d("2000");  // 10 % = 200 -> 2 units
  CHECK(size_position(risk_config{}, q).quantity == d("2"));
}

TEST_CASE("unusable sizing input is rejected", "[sizing]") {
  CHECK(size_position(risk_config{}, req("0", "100", "99")).reject == reason_code::invalid_input);
  CHECK(size_position(risk_config{}, req("100", "100", "100")).reject == reason_code::invalid_input);
  CHECK(size_position(risk_config{}, req("100", "100", "101")).reject == reason_code::invalid_input);
  CHECK(size_position(risk_config{}, req("100", "100", "99", side::sell)).reject == reason_code::invalid_input);
}
