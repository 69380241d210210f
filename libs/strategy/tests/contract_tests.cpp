// The JSON of TradingSignal / TradeProposal validates against proto/schemas (signal.json,
// trade.proposed.json: additionalProperties false, so every field must map 1:1).
#include "bus/catalog.hpp"
#include "helpers.hpp"

#include <catch2/catch.hpp>

namespace pt::strategy::test {

namespace {

// "" when valid, else the reason: the bus's own validator (libs/bus catalog).
std::string validate(const std::string& schema_file, const nlohmann::json& doc) {
  static const auto cat = pt::bus::catalog::load(POLYTRADE_PROTO_DIR);
  return cat->validate_file(schema_file, doc).value_or("");
}

}  // namespace

TEST_CASE("signal and proposal JSON validate against the proto schemas", "[contract]") {
  trading_signal s;
  s.signal_id = "trend_following:BTCUSDT:4h:1735704000000";
  s.strategy = "trend_following";
  s.venue = "binance";
  s.symbol = "BTCUSDT";
  s.ts = t0();
  s.dir = direction::long_;
  s.strength = 0.8875;
  s.price = decimal::parse("20280");
  s.timeframe = "4h";
  s.reason = "x | model: absent (neutral 0)";
  nlohmann::json js = s;
  CHECK(validate("signal.json", js) == "");
  CHECK(js["features"]["reason"] == s.reason);
  CHECK(js["direction"] == "long");
  CHECK(js["price"] == "20280");

  trade_proposal p;
  p.proposal_id = s.signal_id + ":p";
  p.signal_id = s.signal_id;
  p.correlation_id = s.signal_id;
  p.strategy = s.strategy;
  p.venue = s.venue;
  p.symbol = s.symbol;
  p.s = side::sell;
  p.entry_price = decimal::parse("20280");
  p.stop_loss = decimal::parse("20502.857142857");
  p.take_profit = decimal::parse("19945.7");
  p.ts = t0();
  nlohmann::json jp = p;
  CHECK(validate("trade.proposed.json", jp) == "");
  CHECK(jp["side"] == "sell");
  CHECK(jp["order_type"] == "market");
  p.take_profit.reset();
  p.entry_price.reset();
  CHECK(validate("trade.proposed.json", nlohmann::json(p)) == "");
  // The check can fail: a negative price is not a udecimal.
  p.stop_loss = decimal::parse("-1");
  CHECK(validate("trade.proposed.json", nlohmann::json(p)) != "");
}

TEST_CASE("every output of a real decision validates against the schemas", "[contract]") {
  // The breakout baseline on a constructed series: a flat signal, then a long with a proposal.
  auto st = make("breakout");
  for (int i = 0; i < 31; ++i) {
    const double c = i == 30 ? 103 : (i % 2 == 0 ? 100 : 101);
    const double o = i == 0 ? 101 : (i % 2 == 0 ? 101 : 100);
    const bar b = make_bar(t0() + i * 4h, o, std::max(o, c) + 0.5, std::min(o, c) - 0.5, c);
    for (const auto& out : st->on_bar(b, timeframe::h4, close_time(b, timeframe::h4))) {
      CHECK(validate("signal.json", nlohmann::json(out.signal)) == "");
      if (out.proposal) CHECK(validate("trade.proposed.json", nlohmann::json(*out.proposal)) == "");
      if (i == 30) CHECK(out.proposal);
    }
  }
}

}  // namespace pt::strategy::test
