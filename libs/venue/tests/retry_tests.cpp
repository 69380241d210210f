#include "venue/retry.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <vector>

using pt::venue::body_code;
using pt::venue::classify;
using pt::venue::outcome;
using pt::venue::outcome_class;
using pt::venue::request_kind;
using pt::venue::retry_config;
using pt::venue::retry_policy;
using pt::venue::transport_error;
using pt::venue::venue_id;
using pt::venue::verdict;
using namespace std::chrono_literals;

namespace {
constexpr auto bn = venue_id::binance_usdm;
constexpr auto px = venue_id::poloniex_futures;
constexpr auto place = request_kind::place_order;
constexpr auto query = request_kind::query;
constexpr auto cancel = request_kind::idempotent_write;

outcome http(int status, std::string_view body = {}) {
  outcome o;
  o.http_status = status;
  o.body = body;
  return o;
}

outcome net(transport_error e) {
  outcome o;
  o.transport = e;
  return o;
}
}  // namespace

TEST_CASE("retry: body_code reads numeric and string codes and ignores the rest") {
  CHECK(body_code(R"({"code":-2010,"msg":"x"})") == -2010);
  CHECK(body_code(R"({"code":"10001","msg":"x"})") == 10001);
  CHECK_FALSE(body_code(R"({"orderId":1})"));
  CHECK_FALSE(body_code(R"({"code":"abc"})"));
  CHECK_FALSE(body_code("Service Unavailable."));
  CHECK_FALSE(body_code("[1,2]"));
  CHECK_FALSE(body_code(""));
}

TEST_CASE("retry: transport errors are retried unless an order may have been sent") {
  for (const auto e : {transport_error::connect, transport_error::tls}) {
    CHECK(classify(bn, place, net(e)).kind == outcome_class::retry);
    CHECK(classify(px, place, net(e)).kind == outcome_class::retry);
  }
  for (const auto e : {transport_error::timeout, transport_error::reset}) {
    CHECK(classify(bn, place, net(e)).kind == outcome_class::ambiguous);
    CHECK(classify(px, place, net(e)).kind == outcome_class::ambiguous);
    CHECK(classify(bn, query, net(e)).kind == outcome_class::retry);
    CHECK(classify(px, cancel, net(e)).kind == outcome_class::retry);
  }
}

TEST_CASE("retry: Binance definitive rejects are never retried") {
  for (const int code : {-2010, -2011, -1013, -1111, -4164, -1022, -1121, -2019, -4116, -5022}) {
    const std::string body = R"({"code":)" + std::to_string(code) + R"(,"msg":"rejected"})";
    const auto c = classify(bn, place, http(400, body));
    INFO("code " << code);
    CHECK(c.kind == outcome_class::reject);
    CHECK(c.code == code);
  }
  // The code wins over a 2xx status, and a code passed by the caller wins over the body.
  CHECK(classify(bn, place, http(200, R"({"code":-2010})")).kind == outcome_class::reject);
  outcome o = http(400, R"({"code":-1021})");
  o.venue_code = -2010;
  CHECK(classify(bn, place, o).kind == outcome_class::reject);
  CHECK(classify(bn, query, http(403, "<html>WAF</html>")).kind == outcome_class::reject);
}

TEST_CASE("retry: Binance success, no-op codes, clock and throttle codes") {
  CHECK(classify(bn, place, http(200, R"({"orderId":1,"clientOrderId":"a"})")).kind == outcome_class::success);
  CHECK(classify(bn, cancel, http(200, R"({"code":200,"msg":"success"})")).kind == outcome_class::success);
  CHECK(classify(bn, cancel, http(400, R"({"code":-4046,"msg":"No need to change margin type."})")).kind ==
        outcome_class::success);
  const auto ts = classify(bn, place, http(400, R"({"code":-1021,"msg":"Timestamp outside recvWindow"})"));
  CHECK(ts.kind == outcome_class::retry);
  CHECK(ts.resync_clock);
  CHECK(classify(bn, place, http(503, R"({"code":-1008,"msg":"Request throttled"})")).kind == outcome_class::retry);
  for (const int code : {-1000, -1006, -1007}) {
    const std::string body = R"({"code":)" + std::to_string(code) + "}";
    CHECK(classify(bn, place, http(500, body)).kind == outcome_class::ambiguous);
    CHECK(classify(bn, query, http(500, body)).kind == outcome_class::retry);
  }
}

TEST_CASE("retry: Binance 503 variants and other 5xx") {
  const auto unknown = http(503, "Unknown error, please check your request or try again later.");
  CHECK(classify(bn, place, unknown).kind == outcome_class::ambiguous);
  CHECK(classify(bn, query, unknown).kind == outcome_class::retry);
  CHECK(classify(bn, place, http(503, "Service Unavailable.")).kind == outcome_class::retry);
  CHECK(classify(bn, place, http(503, "Internal error; unable to process your request. Please try again.")).kind ==
        outcome_class::retry);
  CHECK(classify(bn, place, http(502, "")).kind == outcome_class::ambiguous);
  CHECK(classify(bn, place, http(408, "")).kind == outcome_class::ambiguous);
  CHECK(classify(bn, cancel, http(502, "")).kind == outcome_class::retry);
}

TEST_CASE("retry: 429 and 418 respect Retry-After and flag the limiter") {
  retry_policy policy;
  std::mt19937_64 rng(7);
  outcome o = http(429, R"({"code":-1003,"msg":"Too many requests"})");
  o.retry_after = 7s;
  auto d = policy.decide(bn, place, o, 1, rng);
  CHECK(d.kind == verdict::retry_after);
  CHECK(d.delay == 7s);
  CHECK(d.detail.rate_limited);
  CHECK_FALSE(d.detail.banned);
  // 429 without Retry-After waits at least the floor.
  d = policy.decide(bn, query, http(429), 1, rng);
  CHECK(d.kind == verdict::retry_after);
  CHECK(d.delay >= policy.config().rate_limit_floor);
  // 418: a ban; longer than max_wait it is not waited out inside the request.
  o = http(418);
  o.retry_after = 120s;
  d = policy.decide(bn, query, o, 1, rng);
  CHECK(d.detail.banned);
  CHECK(d.kind == verdict::exhausted);
  CHECK(d.delay == 120s);
  d = policy.decide(bn, query, http(418), 1, rng);
  CHECK(d.delay == policy.config().ban_default);
  o.retry_after = 30s;
  CHECK(policy.decide(bn, query, o, 1, rng).kind == verdict::retry_after);
  // Poloniex: HTTP 429 or code 429 in the body.
  CHECK(classify(px, place, http(429)).rate_limited);
  const auto c = classify(px, place, http(200, R"({"code":429,"msg":"TOO_MANY_REQUEST"})"));
  CHECK(c.kind == outcome_class::retry);
  CHECK(c.rate_limited);
}

TEST_CASE("retry: Poloniex HTTP 200 with a non-200 code is a reject") {
  const auto c = classify(px, place, http(200, R"({"code":10001,"msg":"SYMBOL_NOT_EXISTS"})"));
  CHECK(c.kind == outcome_class::reject);
  CHECK(c.code == 10001);
  for (const int code : {250, 400, 403, 10000, 10005, 10006, 11004, 11008, 21001, 24101}) {
    const std::string body = R"({"code":)" + std::to_string(code) + R"(,"msg":"x"})";
    INFO("code " << code);
    CHECK(classify(px, place, http(200, body)).kind == outcome_class::reject);
  }
  CHECK(classify(px, place, http(200, R"({"code":200,"msg":"Success","data":{}})")).kind == outcome_class::success);
  CHECK(classify(px, query, http(200, R"({"code":"200","data":[]})")).kind == outcome_class::success);
  CHECK(classify(px, query, http(400, R"({"code":400,"msg":"Param error"})")).kind == outcome_class::reject);
}

TEST_CASE("retry: Poloniex system errors, maintenance and recvWindow") {
  CHECK(classify(px, place, http(200, R"({"code":500})")).kind == outcome_class::ambiguous);
  CHECK(classify(px, query, http(200, R"({"code":503})")).kind == outcome_class::retry);
  CHECK(classify(px, place, http(500, "")).kind == outcome_class::ambiguous);
  CHECK(classify(px, place, http(200, R"({"code":24201,"msg":"Please try again later"})")).kind ==
        outcome_class::retry);
  CHECK(classify(px, place, http(503, R"({"code":1002})")).kind == outcome_class::retry);
  const auto late = classify(px, query, http(408, ""));
  CHECK(late.kind == outcome_class::retry);
  CHECK(late.resync_clock);
  CHECK(classify(px, place, http(408, "")).kind == outcome_class::ambiguous);
}

TEST_CASE("retry: full-jitter backoff stays within the doubling, capped ceiling") {
  retry_config cfg;
  cfg.base = 100ms;
  cfg.cap = 2s;
  retry_policy policy(cfg);
  std::mt19937_64 rng(42);
  for (int attempt = 1; attempt <= 12; ++attempt) {
    const auto ceiling = std::min<std::chrono::nanoseconds>(cfg.cap, cfg.base * (1LL << (attempt - 1)));
    std::chrono::nanoseconds lo = ceiling, hi = 0ns;
    for (int i = 0; i < 2000; ++i) {
      const auto d = policy.backoff(attempt, rng);
      lo = std::min(lo, d);
      hi = std::max(hi, d);
    }
    INFO("attempt " << attempt);
    CHECK(lo >= 0ns);
    CHECK(hi <= ceiling);
    // Full jitter spreads over the whole range, not only near the top or bottom.
    CHECK(hi > ceiling * 9 / 10);
    CHECK(lo < ceiling / 10);
  }
  // A huge attempt number neither overflows nor exceeds the cap.
  CHECK(policy.backoff(1000, rng) <= cfg.cap);
}

TEST_CASE("retry: the same seed gives the same delays, attempts run out") {
  retry_config cfg;
  cfg.max_attempts = 3;
  retry_policy policy(cfg);
  std::mt19937_64 a(1), b(1), c(2);
  std::vector<std::chrono::nanoseconds> da, db, dc;
  for (int attempt = 1; attempt <= 6; ++attempt) {
    da.push_back(policy.backoff(attempt, a));
    db.push_back(policy.backoff(attempt, b));
    dc.push_back(policy.backoff(attempt, c));
  }
  CHECK(da == db);
  CHECK(da != dc);

  std::mt19937_64 rng(3);
  const auto o = net(transport_error::connect);
  CHECK(policy.decide(bn, place, o, 1, rng).kind == verdict::retry_after);
  CHECK(policy.decide(bn, place, o, 2, rng).kind == verdict::retry_after);
  CHECK(policy.decide(bn, place, o, 3, rng).kind == verdict::exhausted);
  // Rejects and ambiguous outcomes are final on the first attempt.
  CHECK(policy.decide(bn, place, http(400, R"({"code":-2010})"), 1, rng).kind == verdict::do_not_retry);
  CHECK(policy.decide(bn, place, net(transport_error::timeout), 1, rng).kind == verdict::ambiguous);
  CHECK(policy.decide(px, place, http(200, R"({"code":200})"), 1, rng).kind == verdict::success);
  CHECK_THROWS_AS(retry_policy(retry_config{.base = 0ns}), std::invalid_argument);
}
