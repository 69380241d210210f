// Every check of seed 004 §9's pre-order checklist, failing and passing at its boundary. The
// baseline order passes every check; each case moves one input to just inside and just
// outside its limit. Limits are the defaults (seed values).
#include "risk/checklist.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <set>

using pt::core::decimal;
using pt::core::timestamp;
using namespace pt::risk;
using namespace std::chrono_literals;

namespace {
decimal d(const char* s) { return decimal::parse(s); }
const timestamp now = timestamp::parse_iso8601("2024-03-10T12:00:00Z");

checklist_input base() {
  checklist_input in;
  in.now = now;
  in.entries_allowed = true;
  in.order = {"BTCUSDT", side::buy, order_type::market, d("0.002"), d("50000"), d("49000"), false};
  in.inst.symbol = "BTCUSDT";
  in.inst.contract_size = d("1");
  in.inst.lot_size = d("0.001");
  in.inst.min_qty = d("0.001");
  in.inst.min_notional = d("5");
  in.inst.tick_size = d("0.1");
  in.inst.max_leverage = d("125");
  in.inst.maintenance_margin_rate = d("0.004");
  in.account.equity = d("1000");
  in.account.day_open_equity = d("1000");
  in.account.peak_equity = d("1000");
  in.account.maintenance_margin = d("0");
  in.market.atr = d("500");
  in.market.funding_rate = d("0.0001");
  in.market.news = news_level::low;
  return in;
}

bool passes(const checklist_input& in, reason_code c) {
  const auto r = evaluate_checklist(risk_config{}, in);
  const auto* o = r.find(c);
  REQUIRE(o != nullptr);
  return o->passed;
}
}  // namespace

TEST_CASE("baseline entry passes all 21 checks", "[checklist]") {
  const auto r = evaluate_checklist(risk_config{}, base());
  CHECK(r.checks.size() == 21);
  for (const auto& c : r.checks) {
    CAPTURE(to_string(c.code), c.detail);
    CHECK(c.passed);
  }
  CHECK(r.approved());
  CHECK_FALSE(r.primary_reason());
  std::set<reason_code> codes;
  for (const auto& c : r.checks) codes.insert(c.code);
  CHECK(codes.size() == 21);  // each check once
}

TEST_CASE("trading state gate", "[checklist]") {
  auto in = base();
  in.entries_allowed = false;
  CHECK_FALSE(passes(in, reason_code::trading_state));
}

TEST_CASE("equity floor boundary", "[checklist]") {
  auto in = base();
  in.account.equity = d("10");
  CHECK(passes(in, reason_code::equity_floor));
  in.account.equity = d("9.999999999");
  CHECK_FALSE(passes(in, reason_code::equity_floor));
}

TEST_CASE("daily loss boundary against the day opening equity", "[checklist]") {
  auto in = base();  // day open 1000, 3 % = 30
  in.account.equity = d("970.000000001");
  CHECK(passes(in, reason_code::daily_loss_limit));
  in.account.equity = d("970");
  CHECK_FALSE(passes(in, reason_code::daily_loss_limit));
  in.account.day_open_equity = d("0");  // unknown: fail closed
  in.account.equity = d("1000");
  CHECK_FALSE(passes(in, reason_code::daily_loss_limit));
}

TEST_CASE("drawdown boundary from peak", "[checklist]") {
  auto in = base();
  in.account.peak_equity = d("1200");  // 10 % = 120
  in.account.equity = d("1080.000000001");
  CHECK(passes(in, reason_code::drawdown_limit));
  in.account.equity = d("1080");
  CHECK_FALSE(passes(in, reason_code::drawdown_limit));
}

TEST_CASE("position limit", "[checklist]") {
  auto in = base();
  in.account.positions = {{"ETHUSDT", side::buy, d("10")}};
  CHECK_FALSE(passes(in, reason_code::position_limit));
}

TEST_CASE("leverage boundary with hard cap and venue max", "[checklist]") {
  auto in = base();  // equity 1000 x 5 = 5000
  in.order.quantity = d("0.1");  // 5000
  CHECK(passes(in, reason_code::leverage_limit));
  in.order.quantity = d("0.101");  // 5050
  CHECK_FALSE(passes(in, reason_code::leverage_limit));
  in.order.quantity = d("0.04");  // 2000 with open 3000 = 5000
  in.account.positions = {{"ETHUSDT", side::sell, d("3000")}};
  CHECK(passes(in, reason_code::leverage_limit));
  in.account.positions[0].notional = d("3000.000000001");
  CHECK_FALSE(passes(in, reason_code::leverage_limit));
  in.account.positions.clear();
  in.inst.max_leverage = d("2");  // venue max 2: 2000
  CHECK(passes(in, reason_code::leverage_limit));
  in.order.quantity = d("0.041");
  CHECK_FALSE(passes(in, reason_code::leverage_limit));
}

TEST_CASE("consecutive losses and losses in 24h", "[checklist]") {
  auto in = base();
  in.losses.consecutive_losses = 2;
  CHECK(passes(in, reason_code::consecutive_losses));
  in.losses.consecutive_losses = 3;
  CHECK_FALSE(passes(in, reason_code::consecutive_losses));
  in.losses.losses_24h = 4;
  CHECK(passes(in, reason_code::losses_24h));
  in.losses.losses_24h = 5;
  CHECK_FALSE(passes(in, reason_code::losses_24h));
}

TEST_CASE("cooldowns need strictly more than the period", "[checklist]") {
  auto in = base();
  in.losses.last_loss = now - 4h;
  CHECK_FALSE(passes(in, reason_code::cooldown_after_loss));
  in.losses.last_loss = now - 4h - 1ns;
  CHECK(passes(in, reason_code::cooldown_after_loss));
  in.losses.last_daily_loss_hit = now - 24h;
  CHECK_FALSE(passes(in, reason_code::cooldown_after_daily_loss));
  in.losses.last_daily_loss_hit = now - 24h - 1ns;
  CHECK(passes(in, reason_code::cooldown_after_daily_loss));
  in.losses.last_stop_out_symbol = now - 4h;
  CHECK_FALSE(passes(in, reason_code::cooldown_after_stop_out));
  in.losses.last_stop_out_symbol = now - 4h - 1ns;
  CHECK(passes(in, reason_code::cooldown_after_stop_out));
}

TEST_CASE("symbol exposure", "[checklist]") {
  auto in = base();  // cap: 1000 x 3 (applied leverage) x 100 % = 3000
  in.order.quantity = d("0.06");  // 3000
  CHECK(passes(in, reason_code::symbol_exposure));
  in.order.quantity = d("0.061");  // 3050
  CHECK_FALSE(passes(in, reason_code::symbol_exposure));
  in.order.quantity = d("0.002");
  in.account.positions = {{"BTCUSDT", side::buy, d("100")}};  // already exposed
  CHECK_FALSE(passes(in, reason_code::symbol_exposure));
}

TEST_CASE("stop present, on the losing side and within 3 x ATR", "[checklist]") {
  auto in = base();  // ATR 500: max distance 1500
  in.order.stop = d("48500");
  CHECK(passes(in, reason_code::stop_too_far));
  in.order.stop = d("48499.9");
  CHECK_FALSE(passes(in, reason_code::stop_too_far));
  in.order.stop = d("49999.9");
  CHECK(passes(in, reason_code::stop_wrong_side));
  in.order.stop = d("50000");
  CHECK_FALSE(passes(in, reason_code::stop_wrong_side));
  in.order.direction = side::sell;
  CHECK_FALSE(passes(in, reason_code::stop_wrong_side));
  in.order.stop = d("50000.1");
  CHECK(passes(in, reason_code::stop_wrong_side));
  in.order.stop = d("51500");
  CHECK(passes(in, reason_code::stop_too_far));
  in.order.stop = d("51500.1");
  CHECK_FALSE(passes(in, reason_code::stop_too_far));
  in.order.stop = d("51000");
  in.market.atr.reset();  // ATR unknown: fail closed
  CHECK_FALSE(passes(in, reason_code::stop_too_far));
  in.order.stop.reset();
  CHECK_FALSE(passes(in, reason_code::stop_missing));
  CHECK_FALSE(passes(in, reason_code::stop_wrong_side));
}

TEST_CASE("funding rate block boundary", "[checklist]") {
  auto in = base();
  in.market.funding_rate = d("0.002");
  CHECK(passes(in, reason_code::funding_rate));
  in.market.funding_rate = d("0.002000001");
  CHECK_FALSE(passes(in, reason_code::funding_rate));
  in.market.funding_rate = d("-0.002000001");
  CHECK_FALSE(passes(in, reason_code::funding_rate));
  in.market.funding_rate.reset();  // unknown: fail closed
  CHECK_FALSE(passes(in, reason_code::funding_rate));
}

TEST_CASE("news risk flag with absent as neutral", "[checklist]") {
  auto in = base();
  in.market.news = news_level::high;
  CHECK_FALSE(passes(in, reason_code::news_risk));
  in.market.news = news_level::medium;  // sizing halves it; not a block
  CHECK(passes(in, reason_code::news_risk));
  in.market.news = news_level::absent;
  CHECK(passes(in, reason_code::news_risk));
  const auto r = evaluate_checklist(risk_config{}, in);
  CHECK(r.find(reason_code::news_risk)->detail.find("absent") != std::string::npos);
  in.market.news = news_level::low;  // decayed, but HIGH was seen within 24h
  in.market.last_high_news = now - 24h + 1ns;
  CHECK_FALSE(passes(in, reason_code::news_risk));
  in.market.last_high_news = now - 24h;
  CHECK(passes(in, reason_code::news_risk));
}

TEST_CASE("projected margin ratio boundary", "[checklist]") {
  auto in = base();  // order notional 100 x 0.004 = 0.4; limit 80 % x 1000 = 800
  in.account.maintenance_margin = d("799.599999999");
  CHECK(passes(in, reason_code::margin_ratio));
  in.account.maintenance_margin = d("799.6");
  CHECK_FALSE(passes(in, reason_code::margin_ratio));
}

TEST_CASE("order validity quantity price tick lot and notional", "[checklist]") {
  auto in = base();
  in.order.quantity = d("0");
  CHECK_FALSE(passes(in, reason_code::order_quantity));
  in.order.quantity = d("-0.001");
  CHECK_FALSE(passes(in, reason_code::order_quantity));
  in.order.quantity = d("0.0015");  // not on the lot
  CHECK_FALSE(passes(in, reason_code::order_quantity));
  in.order.quantity = d("0.001");
  CHECK(passes(in, reason_code::order_quantity));
  in.inst.min_qty = d("0.002");
  CHECK_FALSE(passes(in, reason_code::order_quantity));
  in = base();
  in.order.price = d("0");
  CHECK_FALSE(passes(in, reason_code::order_price));
  in.order.price = d("50000.05");  // off-tick is fine for a market order's reference price
  CHECK(passes(in, reason_code::order_price));
  in.order.type = order_type::limit;
  CHECK_FALSE(passes(in, reason_code::order_price));
  in.order.price = d("50000.1");
  CHECK(passes(in, reason_code::order_price));
  in = base();  // 0.002 x 50000 = 100
  in.inst.min_notional = d("100");
  CHECK(passes(in, reason_code::order_notional));
  in.inst.min_notional = d("100.000000001");
  CHECK_FALSE(passes(in, reason_code::order_notional));
}

TEST_CASE("all failed checks are returned not just the first", "[checklist]") {
  auto in = base();
  in.entries_allowed = false;
  in.account.equity = d("5");         // floor, daily loss, drawdown, leverage, exposure, margin
  in.account.maintenance_margin = d("4");  // 4 + 0.4 >= 80 % x 5
  in.market.funding_rate = d("0.01");
  in.order.stop.reset();              // stop missing, wrong side, too far
  const auto r = evaluate_checklist(risk_config{}, in);
  std::set<reason_code> failed;
  for (const auto& c : r.failed()) failed.insert(c.code);
  const std::set<reason_code> expected = {
      reason_code::trading_state,   reason_code::equity_floor,    reason_code::daily_loss_limit,
      reason_code::drawdown_limit,  reason_code::leverage_limit,  reason_code::symbol_exposure,
      reason_code::stop_missing,    reason_code::stop_wrong_side, reason_code::stop_too_far,
      reason_code::funding_rate,    reason_code::margin_ratio};
  CHECK(failed == expected);
  CHECK(r.passed().size() + r.failed().size() == 21);
  CHECK_FALSE(r.approved());
  CHECK(r.primary_reason() == reason_code::trading_state);
  CHECK(r.reason_text().find("FUNDING_RATE: ") != std::string::npos);
  CHECK(r.reason_text().find("; ") != std::string::npos);
}

TEST_CASE("reduce-only orders are always allowed", "[checklist]") {
  auto in = base();
  in.order.reduce_only = true;
  in.order.direction = side::sell;
  in.order.stop.reset();
  in.entries_allowed = false;
  in.account.equity = d("1");
  in.account.positions = {{"BTCUSDT", side::buy, d("100")}};
  in.market = {};
  in.losses.consecutive_losses = 10;
  const auto r = evaluate_checklist(risk_config{}, in);
  CHECK(r.approved());
  CHECK(r.checks.size() == 2);  // quantity and price only
  in.order.quantity = d("0");
  CHECK_FALSE(evaluate_checklist(risk_config{}, in).approved());
}

TEST_CASE("reason code strings are stable and fit the schema pattern", "[checklist]") {
  CHECK(to_string(reason_code::daily_loss_limit) == "DAILY_LOSS_LIMIT");
  CHECK(to_string(reason_code::stop_too_far) == "STOP_TOO_FAR");
  CHECK(to_string(reason_code::size_below_min_qty) == "SIZE_BELOW_MIN_QTY");
  for (int i = 0; i <= static_cast<int>(reason_code::no_capacity); ++i) {
    const auto c = static_cast<reason_code>(i);
    const auto s = to_string(c);
    CAPTURE(i, s);
    CHECK(s != "UNKNOWN");
    CHECK(reason_from_string(s) == c);
    // ^[A-Z][A-Z0-9_]{1,63}$ (risk.decision.rejected.json)
    CHECK(s.size() >= 2);
    CHECK(s.size() <= 64);
    CHECK((s[0] >= 'A' && s[0] <= 'Z'));
    CHECK(std::all_of(s.begin(), s.end(), [](char ch) { return (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '_'; }));
  }
}
