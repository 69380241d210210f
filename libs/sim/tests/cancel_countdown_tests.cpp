// The countdownCancelAll timer table: heartbeats replace the deadline, 0 disarms, a timer fires once.
#include "sim/cancel_countdown.hpp"

#include <catch2/catch.hpp>

#include <limits>

using pt::sim::cancel_countdown;

TEST_CASE("cancel countdown: a heartbeat pushes the deadline out and a silent timer fires once") {
  cancel_countdown t;
  CHECK(t.empty());
  CHECK_FALSE(t.next_deadline());
  t.set(1, "BTCUSDT", 1000, 10'000);
  t.set(1, "ETHUSDT", 5000, 10'000);
  t.set(2, "BTCUSDT", 1000, 10'000);
  CHECK(t.armed(1).size() == 2);
  CHECK(*t.next_deadline() == 11'000);
  CHECK(t.take_due(10'999).empty());
  t.set(1, "BTCUSDT", 1000, 10'900);  // heartbeat: the deadline moves to 11'900
  const auto due = t.take_due(11'000);
  REQUIRE(due.size() == 1);
  CHECK(due[0].account == 2);
  CHECK(due[0].symbol == "BTCUSDT");
  CHECK(due[0].countdown_ms == 1000);
  CHECK(t.take_due(11'000).empty());  // once
  const auto next = t.take_due(20'000);
  REQUIRE(next.size() == 2);
  CHECK(next[0].symbol == "BTCUSDT");  // earliest first
  CHECK(next[0].deadline == 11'900);
  CHECK(next[1].symbol == "ETHUSDT");
  CHECK(t.empty());
}

TEST_CASE("cancel countdown: countdownTime 0 disarms and a shorter heartbeat may pull the deadline in") {
  cancel_countdown t;
  t.set(1, "BTCUSDT", 60'000, 0);
  t.set(1, "BTCUSDT", 0, 100);
  CHECK(t.empty());
  t.set(1, "BTCUSDT", 0, 100);  // disarming nothing is fine
  t.set(1, "BTCUSDT", 60'000, 0);
  t.set(1, "BTCUSDT", 500, 100);
  CHECK(*t.next_deadline() == 600);
  t.set(1, "BTCUSDT", std::numeric_limits<std::int64_t>::max(), 100);  // saturates, no overflow
  CHECK(*t.next_deadline() == std::numeric_limits<std::int64_t>::max());
  CHECK(t.armed(2).empty());
}
