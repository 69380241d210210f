#include "venue/rate_limiter.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <array>

using pt::core::timestamp;
using pt::venue::charge;
using pt::venue::rate_limit;
using pt::venue::rate_limit_error;
using pt::venue::rate_limiter;
using pt::venue::window_kind;
using namespace std::chrono_literals;

namespace {
// 2024-01-15T10:30:00Z, on a minute boundary.
const timestamp t0 = timestamp::from_seconds(1'705'314'600);
}  // namespace

TEST_CASE("rate_limiter: a fixed window grants a burst up to the limit, then names the rollover") {
  rate_limiter rl({{"W", 1min, 10, window_kind::fixed}});
  for (int i = 0; i < 5; ++i) REQUIRE(rl.try_acquire("W", 2, t0 + 1s));
  const auto refused = rl.try_acquire("W", 1, t0 + 2s);
  CHECK_FALSE(refused.granted);
  CHECK_FALSE(refused.banned);
  CHECK(refused.retry_at == t0 + 1min);
  CHECK(rl.used("W", 1min, t0 + 2s) == 10);
  // Just before the boundary still refused; at it, the counter starts again.
  CHECK_FALSE(rl.try_acquire("W", 1, t0 + 1min - 1ns));
  CHECK(rl.try_acquire("W", 10, t0 + 1min));
  CHECK(rl.used("W", 1min, t0 + 1min) == 10);
}

TEST_CASE("rate_limiter: a sliding window frees weight one interval after it was spent") {
  rate_limiter rl({{"P", 1s, 3, window_kind::sliding}});
  REQUIRE(rl.try_acquire("P", 1, t0));
  REQUIRE(rl.try_acquire("P", 1, t0 + 300ms));
  REQUIRE(rl.try_acquire("P", 1, t0 + 600ms));
  auto r = rl.try_acquire("P", 1, t0 + 900ms);
  CHECK_FALSE(r.granted);
  CHECK(r.retry_at == t0 + 1s);  // the first request leaves the window
  // Needing two units waits for the second request to leave too.
  r = rl.try_acquire("P", 2, t0 + 900ms);
  CHECK(r.retry_at == t0 + 1300ms);
  CHECK(rl.try_acquire("P", 1, t0 + 1s));
  // Unlike a fixed window there is no double burst across a boundary.
  CHECK_FALSE(rl.try_acquire("P", 1, t0 + 1s));
}

TEST_CASE("rate_limiter: every window of every charged group must have room, all or nothing") {
  rate_limiter rl(rate_limiter::binance_usdm_defaults());
  const std::array order{charge{"REQUEST_WEIGHT", 1}, charge{"ORDERS", 1}};
  for (int i = 0; i < 300; ++i) REQUIRE(rl.try_acquire(order, t0 + 1s));
  // The 10 s order window is full; the refused request charged nothing anywhere.
  const auto r = rl.try_acquire(order, t0 + 2s);
  CHECK_FALSE(r.granted);
  CHECK(r.retry_at == t0 + 10s);
  CHECK(rl.used("REQUEST_WEIGHT", 1min, t0 + 2s) == 300);
  CHECK(rl.used("ORDERS", 1min, t0 + 2s) == 300);
  // Weight alone is still available.
  CHECK(rl.try_acquire("REQUEST_WEIGHT", 5, t0 + 2s));
  // Four 10 s windows of 300 fill the 1200/min window; the fifth waits for the minute.
  for (int w = 1; w < 4; ++w) {
    for (int i = 0; i < 300; ++i) REQUIRE(rl.try_acquire(order, t0 + w * 10s));
  }
  const auto r2 = rl.try_acquire(order, t0 + 40s);
  CHECK_FALSE(r2.granted);
  CHECK(r2.retry_at == t0 + 1min);
}

TEST_CASE("rate_limiter: reads Binance exchangeInfo rateLimits") {
  const auto j = nlohmann::json::parse(R"([
    {"rateLimitType":"REQUEST_WEIGHT","interval":"MINUTE","intervalNum":1,"limit":2400},
    {"rateLimitType":"ORDERS","interval":"MINUTE","intervalNum":1,"limit":1200},
    {"rateLimitType":"ORDERS","interval":"SECOND","intervalNum":10,"limit":300}])");
  const auto limits = rate_limiter::limits_from_binance(j);
  REQUIRE(limits.size() == 3);
  CHECK(limits[2].group == "ORDERS");
  CHECK(limits[2].interval == 10s);
  CHECK(limits[2].limit == 300);
  rate_limiter rl(limits);
  CHECK(rl.try_acquire("REQUEST_WEIGHT", 2400, t0));
  CHECK_FALSE(rl.try_acquire("REQUEST_WEIGHT", 1, t0));

  CHECK_THROWS_AS(rate_limiter::limits_from_binance(nlohmann::json::array()), rate_limit_error);
  CHECK_THROWS_WITH(rate_limiter::limits_from_binance(nlohmann::json::parse(
                        R"([{"rateLimitType":"ORDERS","interval":"WEEK","intervalNum":1,"limit":5}])")),
                    Catch::Contains("rateLimits[0]") && Catch::Contains("WEEK"));
  CHECK_THROWS_AS(rate_limiter::limits_from_binance(nlohmann::json::parse(
                      R"([{"rateLimitType":"ORDERS","interval":"SECOND","intervalNum":1,"limit":"5"}])")),
                  rate_limit_error);
}

TEST_CASE("rate_limiter: the server's used-weight header resyncs the window upward only") {
  rate_limiter rl(rate_limiter::binance_usdm_defaults());
  REQUIRE(rl.try_acquire("REQUEST_WEIGHT", 100, t0 + 1s));
  // Another process on the same IP spent weight: the server is ahead.
  rl.update_from_headers(2300, t0 + 2s);
  CHECK(rl.used("REQUEST_WEIGHT", 1min, t0 + 2s) == 2300);
  CHECK(rl.try_acquire("REQUEST_WEIGHT", 100, t0 + 3s));
  CHECK_FALSE(rl.try_acquire("REQUEST_WEIGHT", 1, t0 + 3s));
  // A lower figure (a request of ours still in flight) does not lower the count.
  rl.update_from_headers(50, t0 + 4s);
  CHECK(rl.used("REQUEST_WEIGHT", 1min, t0 + 4s) == 2400);
  // The header name carries the interval; the order-count header feeds ORDERS.
  CHECK(rl.update_from_header("x-mbx-order-count-10s", "299", t0 + 5s));
  CHECK(rl.used("ORDERS", 10s, t0 + 5s) == 299);
  CHECK(rl.used("ORDERS", 1min, t0 + 5s) == 0);
  CHECK_FALSE(rl.update_from_header("X-MBX-USED-WEIGHT-5M", "1", t0 + 5s));  // no such window
  CHECK_FALSE(rl.update_from_header("Content-Type", "1", t0 + 5s));
  CHECK_THROWS_AS(rl.update_from_header("X-MBX-USED-WEIGHT-1M", "12x", t0 + 5s), rate_limit_error);
  // Next minute: a fresh window.
  CHECK(rl.used("REQUEST_WEIGHT", 1min, t0 + 1min) == 0);
}

TEST_CASE("rate_limiter: a ban refuses everything until it ends and only ever extends") {
  rate_limiter rl(rate_limiter::poloniex_futures_defaults());
  rl.ban_until(t0 + 30s);
  auto r = rl.try_acquire(pt::venue::poloniex_group::place_order, 1, t0);
  CHECK_FALSE(r.granted);
  CHECK(r.banned);
  CHECK(r.retry_at == t0 + 30s);
  rl.ban_until(t0 + 10s);  // shorter: ignored
  CHECK(rl.banned_until() == t0 + 30s);
  CHECK(rl.banned(t0 + 30s - 1ns));
  CHECK_FALSE(rl.banned(t0 + 30s));
  // A refused request during a ban charged nothing.
  CHECK(rl.used(pt::venue::poloniex_group::place_order, 1s, t0 + 30s) == 0);
  CHECK(rl.try_acquire(pt::venue::poloniex_group::place_order, 1, t0 + 30s));
}

TEST_CASE("rate_limiter: Poloniex defaults hold the A3 per-second limits") {
  rate_limiter rl(rate_limiter::poloniex_futures_defaults());
  namespace g = pt::venue::poloniex_group;
  for (int i = 0; i < 20; ++i) REQUIRE(rl.try_acquire(g::market_heavy, 1, t0 + std::chrono::milliseconds(i)));
  CHECK_FALSE(rl.try_acquire(g::market_heavy, 1, t0 + 50ms));
  for (int i = 0; i < 2; ++i) REQUIRE(rl.try_acquire(g::close_all, 1, t0));
  CHECK_FALSE(rl.try_acquire(g::close_all, 1, t0));
  CHECK(rl.try_acquire(g::market, 300, t0));
}

TEST_CASE("rate_limiter: bad configuration and bad charges are clear errors") {
  CHECK_THROWS_AS(rate_limiter({}), rate_limit_error);
  CHECK_THROWS_AS(rate_limiter({{"X", 0s, 1, window_kind::fixed}}), rate_limit_error);
  rate_limiter rl({{"W", 1s, 5, window_kind::fixed}});
  CHECK_THROWS_WITH(rl.try_acquire("nope", 1, t0), Catch::Contains("unknown group nope"));
  CHECK_THROWS_WITH(rl.try_acquire("W", 6, t0), Catch::Contains("exceeds the limit"));
  CHECK_THROWS_AS(rl.try_acquire("W", 0, t0), rate_limit_error);
  CHECK(rl.used("W", 1s, t0) == 0);
}
