#include "venue/clock_skew.hpp"

#include <catch2/catch.hpp>

using pt::core::timestamp;
using pt::venue::clock_skew_config;
using pt::venue::clock_skew_guard;
using pt::venue::skew_state;
using pt::venue::time_sample;
using namespace std::chrono_literals;

namespace {
const timestamp t0 = timestamp::from_seconds(1'705'314'600);

// The server clock runs `offset` ahead of ours; the request takes `up` to arrive, the reply `down`.
time_sample sample(timestamp send, std::chrono::nanoseconds offset, std::chrono::nanoseconds up,
                   std::chrono::nanoseconds down) {
  return {send, send + up + offset, send + up + down};
}
}  // namespace

TEST_CASE("clock_skew: a symmetric round trip gives the exact offset") {
  clock_skew_guard g(clock_skew_config::for_binance());
  CHECK(g.state(t0) == skew_state::no_samples);
  CHECK_FALSE(g.offset());
  CHECK(g.server_now(t0) == t0);
  REQUIRE(g.add_sample(sample(t0, 300ms, 40ms, 40ms)));
  CHECK(g.offset() == 300ms);
  CHECK(g.server_now(t0 + 1s) == t0 + 1300ms);
  CHECK(g.healthy(t0 + 1s));
  // Behind the server works the same way.
  clock_skew_guard behind;
  REQUIRE(behind.add_sample(sample(t0, -1200ms, 10ms, 10ms)));
  CHECK(behind.offset() == -1200ms);
}

TEST_CASE("clock_skew: the median ignores one wild sample, the error stays within rtt/2") {
  clock_skew_guard g;
  // An asymmetric path (all delay on the way up) misestimates by rtt/2 at most.
  REQUIRE(g.add_sample(sample(t0, 100ms, 80ms, 0ms)));
  CHECK(g.offset() == 140ms);
  REQUIRE(g.add_sample(sample(t0 + 1s, 100ms, 5ms, 5ms)));
  REQUIRE(g.add_sample(sample(t0 + 2s, 100ms, 5ms, 5ms)));
  REQUIRE(g.add_sample(sample(t0 + 3s, 100ms, 0ms, 600ms)));  // -200 ms: off the other way
  REQUIRE(g.add_sample(sample(t0 + 4s, 100ms, 5ms, 5ms)));
  CHECK(g.offset() == 100ms);
}

TEST_CASE("clock_skew: only the last `window` samples count") {
  clock_skew_config cfg;
  cfg.window = 3;
  clock_skew_guard g(cfg);
  for (int i = 0; i < 3; ++i) REQUIRE(g.add_sample(sample(t0 + i * 1s, 0ms, 1ms, 1ms)));
  CHECK(g.offset() == 0ms);
  // The clock was stepped by 2 s; after two more samples the median follows.
  REQUIRE(g.add_sample(sample(t0 + 10s, 2s, 1ms, 1ms)));
  CHECK(g.offset() == 0ms);
  REQUIRE(g.add_sample(sample(t0 + 11s, 2s, 1ms, 1ms)));
  CHECK(g.offset() == 2s);
  // An even window count takes the mean of the two middle values.
  clock_skew_config even;
  even.window = 2;
  clock_skew_guard e(even);
  REQUIRE(e.add_sample(sample(t0, 10ms, 1ms, 1ms)));
  REQUIRE(e.add_sample(sample(t0, 30ms, 1ms, 1ms)));
  CHECK(e.offset() == 20ms);
}

TEST_CASE("clock_skew: bad samples are dropped") {
  clock_skew_guard g;
  CHECK_FALSE(g.add_sample({t0, t0, t0 - 1ms}));                   // received before sent
  CHECK_FALSE(g.add_sample(sample(t0, 0ms, 1500ms, 1500ms)));       // rtt above max_rtt
  CHECK_FALSE(g.offset());
}

TEST_CASE("clock_skew: unhealthy when the offset is too large or the samples are stale") {
  clock_skew_guard g(clock_skew_config::for_binance(5000ms));  // limit 2.5 s
  REQUIRE(g.add_sample(sample(t0, 2400ms, 1ms, 1ms)));
  CHECK(g.healthy(t0));
  clock_skew_guard far(clock_skew_config::for_binance(5000ms));
  REQUIRE(far.add_sample(sample(t0, -2600ms, 1ms, 1ms)));
  CHECK(far.state(t0) == skew_state::offset_too_large);
  CHECK_FALSE(far.resync_due(t0));
  clock_skew_guard polo(clock_skew_config::for_poloniex());
  REQUIRE(polo.add_sample(sample(t0, 600ms, 1ms, 1ms)));
  CHECK_FALSE(polo.healthy(t0));

  const auto age = g.config().max_age;
  CHECK(g.healthy(t0 + 2ms + age));
  CHECK(g.state(t0 + 2ms + age + 1ns) == skew_state::stale);
  CHECK(g.resync_due(t0 + 2ms + age + 1ns));
}

TEST_CASE("clock_skew: -1021 requests a resync, the next sample replaces the window") {
  clock_skew_guard g;
  for (int i = 0; i < 5; ++i) REQUIRE(g.add_sample(sample(t0 + i * 1s, 50ms, 2ms, 2ms)));
  REQUIRE(g.healthy(t0 + 5s));
  g.request_resync();
  CHECK(g.state(t0 + 5s) == skew_state::resync_requested);
  CHECK(g.resync_due(t0 + 5s));
  CHECK(g.offset() == 50ms);  // the old estimate still serves until a new sample comes
  REQUIRE(g.add_sample(sample(t0 + 6s, 1500ms, 2ms, 2ms)));
  CHECK(g.offset() == 1500ms);
  CHECK(g.healthy(t0 + 6s));
}
