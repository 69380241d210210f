// The trading-state machine: ranking, what each state allows, every breaker's trip and reset,
// the kill switch latch, and the daily-loss roll at 00:00 UTC.
#include "risk/state.hpp"

#include <catch2/catch.hpp>

using pt::core::decimal;
using pt::core::timestamp;
using namespace pt::risk;
using namespace std::chrono_literals;

namespace {
decimal d(const char* s) { return decimal::parse(s); }
timestamp t(const char* iso) { return timestamp::parse_iso8601(iso); }

trading_state_machine running_machine(timestamp at) {
  trading_state_machine m{risk_config{}};
  m.on_equity(at, d("1000"));
  m.enable_autonomous(at);
  return m;
}

void require_entries_refused_but_exits_allowed(const trading_state_machine& m) {
  CHECK_FALSE(m.allows_entry());
  CHECK(m.allows_reduce());
  CHECK(m.allows_cancel());
}
}  // namespace

TEST_CASE("states are ranked autonomous off then breaker halt then safe stop then kill switch", "[state]") {
  CHECK(trading_state::running < trading_state::autonomous_off);
  CHECK(trading_state::autonomous_off < trading_state::breaker_halt);
  CHECK(trading_state::breaker_halt < trading_state::safe_stop);
  CHECK(trading_state::safe_stop < trading_state::kill_switch);

  const auto t0 = t("2024-03-10T12:00:00Z");
  trading_state_machine m{risk_config{}};
  CHECK(m.state() == trading_state::autonomous_off);  // starts off
  require_entries_refused_but_exits_allowed(m);
  m.enable_autonomous(t0);
  CHECK(m.state() == trading_state::running);
  CHECK(m.allows_entry());
  m.on_guardian(t0, true);
  CHECK(m.state() == trading_state::breaker_halt);
  m.disable_autonomous(t0);
  CHECK(m.state() == trading_state::breaker_halt);  // the higher one shows
  m.safe_stop(t0);
  CHECK(m.state() == trading_state::safe_stop);
  require_entries_refused_but_exits_allowed(m);
  m.trigger_kill_switch(t0, "operator");
  CHECK(m.state() == trading_state::kill_switch);
  require_entries_refused_but_exits_allowed(m);
  m.reset_kill_switch(t0);
  CHECK(m.state() == trading_state::safe_stop);
  m.resume(t0);
  CHECK(m.state() == trading_state::breaker_halt);
  m.on_guardian(t0, false);
  CHECK(m.state() == trading_state::autonomous_off);
  m.enable_autonomous(t0);
  CHECK(m.state() == trading_state::running);
}

TEST_CASE("daily loss rolls at 00:00 UTC and trips a 24h halt", "[state][daily]") {
  auto m = running_machine(t("2024-03-10T10:00:00Z"));
  // Day 1: 1000 -> 970.5 is a 29.5 loss, under 30.
  m.on_equity(t("2024-03-10T23:59:59.999999999Z"), d("970.5"));
  CHECK(m.equity().day_open() == d("1000"));
  CHECK(m.state() == trading_state::running);
  // The first mark at or after midnight opens the new day at 970.5.
  m.on_equity(t("2024-03-11T00:00:00Z"), d("970.5"));
  CHECK(m.equity().day_open() == d("970.5"));
  CHECK(m.equity().peak() == d("1000"));
  // 945 would be a 55 loss against yesterday's open; against today's it is 25.5 < 29.115.
  m.on_equity(t("2024-03-11T00:01:00Z"), d("945"));
  CHECK(m.state() == trading_state::running);
  // 970.5 x 3 % = 29.115: 941.385 is exactly the limit.
  m.on_equity(t("2024-03-11T00:02:00Z"), d("941.385000001"));
  CHECK(m.state() == trading_state::running);
  const auto hit = t("2024-03-11T00:03:00Z");
  m.on_equity(hit, d("941.385"));
  CHECK(m.state() == trading_state::breaker_halt);
  CHECK(m.tripped(breaker::daily_loss));
  require_entries_refused_but_exits_allowed(m);
  CHECK(m.stats(hit, "BTCUSDT").last_daily_loss_hit == hit);
  CHECK_FALSE(m.ack_breaker(hit, breaker::daily_loss));  // time-based only
  m.tick(hit + 24h - 1ns);
  CHECK(m.tripped(breaker::daily_loss));
  m.tick(hit + 24h);
  CHECK_FALSE(m.tripped(breaker::daily_loss));
  CHECK(m.state() == trading_state::running);
}

TEST_CASE("a new UTC day's daily-loss hit restarts the halt that still runs", "[state][daily]") {
  auto m = running_machine(t("2024-03-10T00:00:00Z"));
  const auto first = t("2024-03-10T06:00:00Z");
  m.on_equity(first, d("970"));  // 3 % of 1000
  REQUIRE(m.tripped(breaker::daily_loss));
  // Next day, still inside the first halt: 970 opens the day, 940.9 is 3 % of it again.
  m.on_equity(t("2024-03-11T00:00:00Z"), d("970"));
  const auto second = t("2024-03-11T05:00:00Z");
  m.on_equity(second, d("940.9"));
  CHECK(m.stats(second, "BTCUSDT").last_daily_loss_hit == second);
  const auto events = m.take_events();
  REQUIRE(events.size() >= 2);
  CHECK(events.back().what == "breaker.daily_loss.tripped");
  CHECK(events.back().at == second);
  // The first halt's 24h pass; the second's have not.
  m.on_equity(first + 24h + 1min, d("960"));
  CHECK(m.tripped(breaker::daily_loss));
  CHECK(m.state() == trading_state::breaker_halt);
  m.tick(second + 24h);
  CHECK_FALSE(m.tripped(breaker::daily_loss));
  // The same day's loss staying over the limit is the same hit: it does not extend the halt.
  auto n = running_machine(t("2024-03-10T00:00:00Z"));
  n.on_equity(first, d("970"));
  n.on_equity(first + 1h, d("960"));
  CHECK(n.stats(first + 1h, "BTCUSDT").last_daily_loss_hit == first);
  n.tick(first + 24h);
  CHECK_FALSE(n.tripped(breaker::daily_loss));
}

TEST_CASE("without the midnight roll the same marks trip the daily loss", "[state][daily]") {
  auto m = running_machine(t("2024-03-11T00:00:00Z"));
  m.on_equity(t("2024-03-11T23:59:59Z"), d("970.000000001"));
  CHECK(m.state() == trading_state::running);
  m.on_equity(t("2024-03-11T23:59:59.5Z"), d("970"));
  CHECK(m.tripped(breaker::daily_loss));
}

TEST_CASE("drawdown trips the kill switch which latches until reset", "[state][kill]") {
  auto m = running_machine(t("2024-03-01T00:00:00Z"));
  // Each day loses under 3 % of its open; the peak stays 1000.
  m.on_equity(t("2024-03-01T20:00:00Z"), d("980"));
  m.on_equity(t("2024-03-02T00:00:00Z"), d("980"));
  m.on_equity(t("2024-03-02T20:00:00Z"), d("955"));
  m.on_equity(t("2024-03-03T00:00:00Z"), d("955"));
  m.on_equity(t("2024-03-03T20:00:00Z"), d("930"));
  m.on_equity(t("2024-03-04T00:00:00Z"), d("930"));
  m.on_equity(t("2024-03-04T20:00:00Z"), d("905"));
  m.on_equity(t("2024-03-05T00:00:00Z"), d("905"));
  m.on_equity(t("2024-03-05T10:00:00Z"), d("900.000000001"));  // 99.999999999 < 100
  CHECK(m.state() == trading_state::running);
  CHECK_FALSE(m.must_flatten());
  (void)m.take_events();
  m.on_equity(t("2024-03-05T11:00:00Z"), d("900"));  // 10 % of 1000
  CHECK(m.state() == trading_state::kill_switch);
  CHECK(m.must_flatten());
  CHECK(m.actions().flatten_all);
  CHECK(m.actions().cancel_open_orders);
  require_entries_refused_but_exits_allowed(m);
  const auto ev = m.take_events();
  REQUIRE(ev.size() == 1);
  CHECK(ev[0].what == "killswitch.triggered");
  CHECK(ev[0].reason.find("DRAWDOWN_LIMIT") != std::string::npos);
  // Latched: time, recovery, enabling and a second trigger change nothing.
  m.tick(t("2024-04-05T11:00:00Z"));
  m.on_equity(t("2024-04-05T11:00:00Z"), d("2000"));
  m.enable_autonomous(t("2024-04-05T11:00:00Z"));
  m.trigger_kill_switch(t("2024-04-05T11:00:00Z"), "again");
  CHECK(m.state() == trading_state::kill_switch);
  CHECK(m.kill_reason()->find("DRAWDOWN_LIMIT") != std::string::npos);
  // Explicit reset: autonomous stays off until enabled again.
  m.reset_kill_switch(t("2024-04-05T12:00:00Z"));
  CHECK_FALSE(m.must_flatten());
  CHECK(m.state() == trading_state::autonomous_off);
  m.enable_autonomous(t("2024-04-05T12:00:00Z"));
  CHECK(m.state() == trading_state::running);
}

TEST_CASE("kill switch reset re-bases the peak", "[state][kill]") {
  auto m = running_machine(t("2024-03-01T00:00:00Z"));
  m.trigger_kill_switch(t("2024-03-01T01:00:00Z"), "operator");
  m.on_equity(t("2024-03-02T01:00:00Z"), d("950"));
  m.reset_kill_switch(t("2024-03-02T02:00:00Z"));
  CHECK(m.equity().peak() == d("950"));
}

TEST_CASE("three consecutive losses halt for 4 hours then the streak restarts", "[state][breaker]") {
  const auto t0 = t("2024-03-10T00:00:00Z");
  auto m = running_machine(t0);
  m.on_trade_closed(t0 + 1h, "BTCUSDT", d("-1"), false);
  m.on_trade_closed(t0 + 2h, "ETHUSDT", d("-1"), false);
  CHECK(m.state() == trading_state::running);
  CHECK(m.stats(t0 + 2h, "BTCUSDT").consecutive_losses == 2);
  m.on_trade_closed(t0 + 3h, "BTCUSDT", d("2"), false);  // a win resets the streak
  CHECK(m.stats(t0 + 3h, "BTCUSDT").consecutive_losses == 0);
  m.on_trade_closed(t0 + 4h, "BTCUSDT", d("-1"), false);
  m.on_trade_closed(t0 + 5h, "BTCUSDT", d("-1"), false);
  const auto third = t0 + 6h;
  m.on_trade_closed(third, "BTCUSDT", d("-0.5"), true);
  CHECK(m.tripped(breaker::consecutive_losses));
  require_entries_refused_but_exits_allowed(m);
  const auto st = m.stats(third, "BTCUSDT");
  CHECK(st.consecutive_losses == 3);
  CHECK(st.losses_24h == 5);
  CHECK(st.last_loss == third);
  CHECK(st.last_stop_out_symbol == third);
  CHECK_FALSE(m.stats(third, "ETHUSDT").last_stop_out_symbol);
  CHECK(m.tripped(breaker::losses_24h));  // 5 losses within 24h as well
  m.tick(third + 4h);
  CHECK_FALSE(m.tripped(breaker::consecutive_losses));
  CHECK(m.stats(third + 4h, "BTCUSDT").consecutive_losses == 0);
  CHECK(m.state() == trading_state::breaker_halt);  // the 24h one still holds
  m.tick(third + 24h - 1ns);
  CHECK(m.tripped(breaker::losses_24h));
  m.tick(third + 24h);
  CHECK(m.state() == trading_state::running);
}

TEST_CASE("five losses in 24h halt even without a streak", "[state][breaker]") {
  const auto t0 = t("2024-03-10T00:00:00Z");
  auto m = running_machine(t0);
  for (int i = 0; i < 4; ++i) {
    m.on_trade_closed(t0 + std::chrono::hours(2 * i + 1), "BTCUSDT", d("-1"), false);
    m.on_trade_closed(t0 + std::chrono::hours(2 * i + 2), "BTCUSDT", d("1"), false);
  }
  CHECK(m.state() == trading_state::running);
  CHECK(m.stats(t0 + 8h, "BTCUSDT").losses_24h == 4);
  // The first loss (01:00) leaves the 24h window at 01:00 next day.
  CHECK(m.stats(t0 + 25h, "BTCUSDT").losses_24h == 3);
  m.on_trade_closed(t0 + 9h, "BTCUSDT", d("-1"), false);
  CHECK(m.tripped(breaker::losses_24h));
  CHECK(m.stats(t0 + 9h, "BTCUSDT").consecutive_losses == 1);
}

TEST_CASE("venue disconnect over 5 minutes halts until reconnect and manual ack", "[state][breaker]") {
  const auto t0 = t("2024-03-10T00:00:00Z");
  auto m = running_machine(t0);
  m.on_venue_connectivity(t0, false);
  m.tick(t0 + 5min);
  CHECK(m.state() == trading_state::running);
  m.tick(t0 + 5min + 1ns);
  CHECK(m.tripped(breaker::venue_disconnect));
  CHECK(m.actions().cancel_open_orders);
  CHECK_FALSE(m.actions().flatten_all);
  CHECK_FALSE(m.ack_breaker(t0 + 6min, breaker::venue_disconnect));  // still disconnected
  m.on_venue_connectivity(t0 + 7min, true);
  CHECK(m.state() == trading_state::breaker_halt);  // reconnecting alone is not enough
  CHECK(m.ack_breaker(t0 + 8min, breaker::venue_disconnect));
  CHECK(m.state() == trading_state::running);
}

TEST_CASE("margin ratio breaker trips above 90 and resets below 70", "[state][breaker]") {
  const auto t0 = t("2024-03-10T00:00:00Z");
  auto m = running_machine(t0);
  m.on_margin_ratio(t0, d("0.9"));
  CHECK(m.state() == trading_state::running);
  m.on_margin_ratio(t0, d("0.900000001"));
  CHECK(m.tripped(breaker::margin_ratio));
  REQUIRE(m.actions().reduce_positions_by);
  CHECK(*m.actions().reduce_positions_by == d("0.5"));
  m.on_margin_ratio(t0, d("0.75"));
  m.on_margin_ratio(t0, d("0.7"));
  CHECK(m.tripped(breaker::margin_ratio));
  m.on_margin_ratio(t0, d("0.699999999"));
  CHECK(m.state() == trading_state::running);
  CHECK_FALSE(m.actions().reduce_positions_by);
}

TEST_CASE("events record breaker trips and resets", "[state]") {
  const auto t0 = t("2024-03-10T00:00:00Z");
  auto m = running_machine(t0);
  (void)m.take_events();
  m.on_guardian(t0, true);
  m.on_guardian(t0 + 1s, true);  // no duplicate
  m.on_guardian(t0 + 2s, false);
  const auto ev = m.take_events();
  REQUIRE(ev.size() == 2);
  CHECK(ev[0].what == "breaker.guardian_stale.tripped");
  CHECK(ev[1].what == "breaker.guardian_stale.reset");
  CHECK(m.take_events().empty());
}
