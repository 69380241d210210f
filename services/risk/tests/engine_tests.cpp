// The decision engine without NATS: expected quantities are computed by hand from the proposal,
// the equity and the catalog's contract data (docs/markets: Poloniex BTC_USDT_PERP ctVal 0.001,
// lot 1 contract; Binance BTCUSDT lot 0.001 base).
#include "engine.hpp"

#include <catch2/catch.hpp>

using namespace pt;
using namespace std::chrono_literals;
using core::decimal;
using core::timestamp;
using json = nlohmann::json;

namespace {

const std::string markets = std::string(POLYTRADE_SOURCE_DIR) + "/docs/markets/";
const timestamp t0 = timestamp::parse_iso8601("2026-03-02T08:00:00Z");

risk_service::engine_config poloniex_config() {
  risk_service::engine_config c;
  c.venue = "poloniex";
  c.autonomous_at_start = true;
  c.instruments = risk_service::instruments_from_catalog(markets + "poloniex-futures-v3.json");
  return c;
}

json account(const std::string& equity, timestamp at, const std::string& venue = "poloniex") {
  return {{"venue", venue}, {"equity", equity}, {"wallet_balance", equity}, {"available", equity},
          {"unrealized_pnl", "0"}, {"margin_used", "0"}, {"ts", at.to_iso8601()}};
}

// 15 closed 4h bars with high - low = 1000 around a flat close: true range 1000 each, ATR(14) = 1000.
void feed_atr(risk_service::engine& e, const std::string& venue, const std::string& symbol) {
  for (int i = 0; i < 15; ++i) {
    const auto open = t0 - std::chrono::hours(4 * (15 - i));
    e.on_bar({{"venue", venue}, {"symbol", symbol}, {"tf", "4h"}, {"open_ts", open.to_iso8601()},
              {"close_ts", (open + 4h).to_iso8601()}, {"open", "50000"}, {"high", "50500"}, {"low", "49500"},
              {"close", "50000"}, {"volume", "10"}, {"closed", true}});
  }
  e.on_funding({{"venue", venue}, {"symbol", symbol}, {"ts", t0.to_iso8601()}, {"rate", "0.0001"},
                {"next_funding_ts", (t0 + 8h).to_iso8601()}});
}

json proposal(const std::string& id, const std::string& side, const std::string& entry, const std::string& stop,
              const std::string& venue = "poloniex", const std::string& symbol = "BTC_USDT_PERP") {
  return {{"proposal_id", id}, {"signal_id", id}, {"correlation_id", "corr-" + id}, {"strategy", "trend"},
          {"venue", venue}, {"symbol", symbol}, {"side", side}, {"order_type", "market"},
          {"entry_price", entry}, {"stop_loss", stop}, {"ts", t0.to_iso8601()}};
}

risk_service::engine ready_engine(risk_service::engine_config c = poloniex_config()) {
  risk_service::engine e(std::move(c), t0 - 1h);
  e.on_account(account("10000", t0 - 1h));
  feed_atr(e, "poloniex", "BTC_USDT_PERP");
  return e;
}

bool has_check(const json& body, const std::string& code, bool passed) {
  for (const auto& c : body["checks"])
    if (c["code"] == code && c["passed"] == passed) return true;
  return false;
}

}  // namespace

TEST_CASE("catalog: Poloniex BTC_USDT_PERP contract data") {
  const auto inst = risk_service::instruments_from_catalog(markets + "poloniex-futures-v3.json");
  const auto& btc = inst.at("BTC_USDT_PERP");
  CHECK(btc.contract_size == decimal::parse("0.001"));
  CHECK(btc.lot_size == decimal::one());
  CHECK(btc.max_leverage == decimal::from_integer(75));
}

TEST_CASE("approved: 1 % of equity over the stop distance, in contracts rounded down to the lot") {
  auto e = ready_engine();
  REQUIRE(e.atr("BTC_USDT_PERP") == decimal::from_integer(1000));
  const auto d = e.decide(proposal("p1", "buy", "50000", "49300"), t0);
  INFO(d.body.dump());
  REQUIRE(d.approved);
  CHECK(d.subject == "risk.decision.approved");
  // 10000 x 1 % = 100 risk; / 700 = 0.142857 BTC; / 0.001 = 142.857 contracts -> 142.
  CHECK(d.body["quantity"] == "142");
  // 142 contracts x 0.001 x 700 = 99.4
  CHECK(d.body["risk_amount"] == "99.4");
  // min(hard 5, default 3, venue 75) applied = 3
  CHECK(d.body["leverage"] == "3");
  CHECK(d.body["decision_id"] == "d-p1");
  CHECK(d.body["correlation_id"] == "corr-p1");
  CHECK(d.body["ts"] == t0.to_iso8601());
  CHECK(has_check(d.body, "STOP_TOO_FAR", true));
  CHECK(has_check(d.body, "TRADING_STATE", true));
}

TEST_CASE("sell side sizes the same way") {
  auto e = ready_engine();
  // 100 / 1300 = 0.076923 BTC -> 76 contracts
  const auto d = e.decide(proposal("p2", "sell", "50000", "51300"), t0);
  REQUIRE(d.approved);
  CHECK(d.body["quantity"] == "76");
}

TEST_CASE("stop on the wrong side is rejected STOP_WRONG_SIDE") {
  auto e = ready_engine();
  const auto d = e.decide(proposal("p3", "buy", "50000", "51000"), t0);
  CHECK_FALSE(d.approved);
  CHECK(d.subject == "risk.decision.rejected");
  CHECK(d.body["reason_code"] == "STOP_WRONG_SIDE");
  CHECK(d.body["decision_id"] == "d-p3");
}

TEST_CASE("stop further than 3 x ATR is rejected STOP_TOO_FAR") {
  auto e = ready_engine();
  // 3 x 1000 = 3000 allowed; 3001 is over, 3000 is not.
  CHECK(e.decide(proposal("p4", "buy", "50000", "46999"), t0).body["reason_code"] == "STOP_TOO_FAR");
  CHECK(e.decide(proposal("p5", "buy", "50000", "47000"), t0).approved);
}

TEST_CASE("unknown ATR or funding fails closed") {
  auto c = poloniex_config();
  risk_service::engine e(c, t0);
  e.on_account(account("10000", t0));
  auto d = e.decide(proposal("p6", "buy", "50000", "49300"), t0);
  CHECK_FALSE(d.approved);
  CHECK(has_check(d.body, "STOP_TOO_FAR", false));
  CHECK(has_check(d.body, "FUNDING_RATE", false));
}

TEST_CASE("kill switch and autonomous off reject with TRADING_STATE") {
  auto e = ready_engine();
  e.trigger_kill_switch(t0, "operator");
  CHECK(e.decide(proposal("p7", "buy", "50000", "49300"), t0).body["reason_code"] == "TRADING_STATE");
  auto c = poloniex_config();
  c.autonomous_at_start = false;
  auto off = ready_engine(c);
  CHECK(off.decide(proposal("p8", "buy", "50000", "49300"), t0).body["reason_code"] == "TRADING_STATE");
  off.enable_autonomous(t0);
  CHECK(off.decide(proposal("p9", "buy", "50000", "49300"), t0).approved);
}

TEST_CASE("guardian required: entries need a fresh guardian.status") {
  auto c = poloniex_config();
  c.guardian_required = true;
  auto e = ready_engine(c);
  CHECK(e.decide(proposal("g1", "buy", "50000", "49300"), t0).body["reason_code"] == "GUARDIAN_PROTECTION");
  const json status{{"venue", "poloniex"}, {"mark_fresh", true}, {"armed", 0}, {"ts", t0.to_iso8601()}};
  e.on_guardian(status, t0);
  CHECK(e.decide(proposal("g2", "buy", "50000", "49300"), t0 + 2s).approved);
  // g2's entry still counts (pending: POSITION_LIMIT fails first); the guardian check fails too.
  const auto d3 = e.decide(proposal("g3", "buy", "50000", "49300"), t0 + 4s);
  CHECK_FALSE(d3.approved);
  CHECK(has_check(d3.body, "GUARDIAN_PROTECTION", false));
}

TEST_CASE("Binance: base quantity rounded down to the 0.001 lot, venue max leverage from config") {
  risk_service::engine_config c;
  c.venue = "binance";
  c.autonomous_at_start = true;
  c.instruments = risk_service::instruments_from_catalog(markets + "binance-usdm.json", {{"BTCUSDT", 20}});
  risk_service::engine e(c, t0);
  e.on_account(account("10000", t0, "binance"));
  feed_atr(e, "binance", "BTCUSDT");
  const auto d = e.decide(proposal("b1", "buy", "50000", "49300", "binance", "BTCUSDT"), t0);
  INFO(d.body.dump());
  REQUIRE(d.approved);
  CHECK(d.body["quantity"] == "0.142");  // 0.142857 BTC -> 0.142
  // Without a venue max the leverage is unknown: no entry.
  c.instruments = risk_service::instruments_from_catalog(markets + "binance-usdm.json");
  risk_service::engine u(c, t0);
  u.on_account(account("10000", t0, "binance"));
  feed_atr(u, "binance", "BTCUSDT");
  CHECK_FALSE(u.decide(proposal("b2", "buy", "50000", "49300", "binance", "BTCUSDT"), t0).approved);
}

TEST_CASE("bad proposals are rejected INVALID_INPUT, never thrown") {
  auto e = ready_engine();
  auto p = proposal("x1", "buy", "50000", "49300");
  p["stop_loss"] = "not-a-number";
  CHECK(e.decide(p, t0).body["reason_code"] == "INVALID_INPUT");
  CHECK(e.decide(proposal("x2", "buy", "50000", "49300", "poloniex", "NOPE_USDT_PERP"), t0).body["reason_code"] == "INVALID_INPUT");
  CHECK(e.decide(proposal("x3", "buy", "50000", "49300", "binance"), t0).body["reason_code"] == "INVALID_INPUT");
}

TEST_CASE("restored day-open equity keeps the daily-loss base across a restart") {
  // Before the restart: day opened at 10000. After: equity 9650 = -3.5 % (limit 3 %).
  risk_service::engine fresh = ready_engine();
  risk_service::engine_config c = poloniex_config();
  risk_service::engine restored(c, t0);
  restored.restore_equity({0, decimal::from_integer(10000), decimal::from_integer(10000), decimal::from_integer(10000), t0 - 2h});
  restored.on_account(account("9650", t0));
  feed_atr(restored, "poloniex", "BTC_USDT_PERP");
  CHECK(restored.equity().day_open == decimal::from_integer(10000));
  const auto d = restored.decide(proposal("r1", "buy", "50000", "49300"), t0);
  CHECK_FALSE(d.approved);
  CHECK(has_check(d.body, "DAILY_LOSS_LIMIT", false));
  // Without the restore the same account would have opened the day at 9650.
  risk_service::engine lost(c, t0);
  lost.on_account(account("9650", t0));
  CHECK(lost.equity().day_open == decimal::from_integer(9650));
}

TEST_CASE("metrics: equity, peak, drawdown, daily pnl vs UTC day open, VaR from daily returns") {
  auto c = poloniex_config();
  risk_service::engine e(c, t0);
  const auto d0 = timestamp::parse_iso8601("2026-03-01T00:00:10Z");
  e.on_account(account("10000", d0));
  e.on_account(account("10200", d0 + 24h));
  e.on_account(account("10098", d0 + 48h));
  e.on_account(account("9900", d0 + 48h + 1h));
  const auto m = e.metrics(d0 + 49h);
  CHECK(m["equity"] == "9900");
  CHECK(m["peak_equity"] == "10200");
  CHECK(m["day_open_equity"] == "10098");
  CHECK(m["daily_pnl"] == "-198");
  // (10200 - 9900) / 10200 = 2.941176470588... % rounded up at 9 digits of the fraction
  CHECK(m["drawdown_pct"] == "2.9411765");
  // day opens 10000, 10200, 10098, now 9900: returns +2 %, -1 %, -1.96078... %
  CHECK(m["var_observations"] == 3);
  CHECK(m.contains("var_historical_99"));
  CHECK(m.contains("var_parametric_99"));
  CHECK(m["state"] == "running");  // poloniex_config starts autonomous
}

TEST_CASE("an approved entry counts against the limits until execution reports it filled") {
  auto e = ready_engine(poloniex_config());
  const auto a = e.decide(proposal("p1", "buy", "50000", "49300"), t0);
  REQUIRE(a.approved);
  // Before exec.position reports it, a second entry (any symbol) meets POSITION_LIMIT (max 1).
  const auto b = e.decide(proposal("p2", "buy", "50000", "49300"), t0 + 1s);
  CHECK_FALSE(b.approved);
  CHECK(b.body["reason_code"] == "POSITION_LIMIT");
  // Once the pending TTL (2 min of market time) has passed unfilled, it no longer counts.
  auto later = proposal("p3", "buy", "50000", "49300");
  later["ts"] = (t0 + 3min).to_iso8601();
  CHECK(e.decide(later, t0 + 3min).approved);
}

// The cooldown after three losses ends at a market time. A decision taken after it must not
// depend on whether a periodic tick or an exec.account (wall-clock timers) came in between: in a
// lockstep replay those land on arbitrary steps, and two runs decided differently.
TEST_CASE("a breaker cooldown that ended by the proposal's time is over for that decision") {
  auto e = ready_engine();
  auto pos = [](const std::string& side, const std::string& qty, timestamp at, const std::string& pnl) {
    return json{{"venue", "poloniex"}, {"symbol", "BTC_USDT_PERP"}, {"side", side}, {"qty", qty},
                {"entry_price", "50000"}, {"realized_pnl", pnl}, {"ts", at.to_iso8601()}};
  };
  // Three losing trades, the last closed at t0 - 6h: the consecutive-loss breaker trips there and
  // its 4-hour cooldown ends at t0 - 2h.
  for (int i = 0; i < 3; ++i) {
    const auto at = t0 - std::chrono::hours(8 - i);
    e.on_position(pos("long", "10", at - 30min, "0"));
    e.on_position(pos("flat", "0", at, "-10"));
  }
  auto early = proposal("p-cool-1", "buy", "50000", "49300");
  early["ts"] = (t0 - std::chrono::hours(5)).to_iso8601();
  const auto before = e.decide(early, t0 - std::chrono::hours(5));
  INFO(before.body.dump());
  CHECK_FALSE(before.approved);
  CHECK(before.body["reason_code"] == "TRADING_STATE");
  // No tick, no account message since: the proposal at t0 is decided as the market then stands.
  const auto after = e.decide(proposal("p-cool-2", "buy", "50000", "49300"), t0);
  INFO(after.body.dump());
  CHECK(after.approved);
}
