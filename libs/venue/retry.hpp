#pragma once
// The one retry policy for venue requests. classify() says what an outcome means; retry_policy
// turns that into "wait this long and resend" or "stop", with capped exponential backoff and full
// jitter from an RNG the caller owns (seeded in tests). Nothing here sleeps or reads a clock.
//
// Four meanings (exchanges.md B4/B10 for Binance, A2/A4 for Poloniex, F for lessons):
// - success;
// - retry: the request certainly did not take effect (connect/TLS failure, 429/418, throttled,
//   "Service Unavailable", timestamp outside recvWindow) or it is idempotent (queries, cancels);
// - reject: a definitive venue reject; resending the same request cannot help;
// - ambiguous: an order placement may have executed (timeout or reset after sending, 5xx, Binance
//   -1000/-1006/-1007, 503 "Unknown error"). The caller must not resend it: the order stays in
//   flight until the user stream, a query by client order id or reconciliation settles it.
#include <chrono>
#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <string_view>

namespace pt::venue {

enum class venue_id { binance_usdm, poloniex_futures };

// What failed below HTTP. `timeout` and `reset` mean the request may have been sent; a timeout
// while connecting is `connect`.
enum class transport_error { none, timeout, connect, reset, tls };

// Only order placement is unsafe to resend; a cancel or a leverage change sent twice is harmless
// (the second answer may then be "unknown order", which the caller settles by a query).
enum class request_kind { query, idempotent_write, place_order };

struct outcome {
  transport_error transport = transport_error::none;
  int http_status = 0;                  // 0 when no response arrived
  std::optional<std::int64_t> venue_code;  // when absent, read from the body's "code"
  std::string_view body;
  std::optional<std::chrono::nanoseconds> retry_after;  // the Retry-After header, if any
};

enum class outcome_class { success, retry, reject, ambiguous };

struct classification {
  outcome_class kind = outcome_class::success;
  std::optional<std::int64_t> code;  // the venue code that decided it, if any
  std::string reason;                // short text for the log line
  bool rate_limited = false;         // 429/418/-1003/code 429: also ban the rate_limiter
  bool banned = false;               // 418: the IP is banned (minutes to days)
  bool resync_clock = false;         // -1021/-5028 or Poloniex 408: resync clock_skew_guard first
  std::optional<std::chrono::nanoseconds> retry_after;  // from the outcome, for 429/418
};

[[nodiscard]] classification classify(venue_id venue, request_kind kind, const outcome& o);

// The venue code in a JSON body ({"code":-2010,...} or {"code":"10001",...}); nullopt when the
// body is not JSON, not an object or has no integral code.
[[nodiscard]] std::optional<std::int64_t> body_code(std::string_view body);

enum class verdict {
  success,
  retry_after,  // wait `delay`, then resend
  do_not_retry, // definitive reject
  ambiguous,    // may have executed: query by client order id, never resend blindly
  exhausted,    // retryable, but attempts are spent or the wait is longer than max_wait
};

struct decision {
  verdict kind = verdict::success;
  std::chrono::nanoseconds delay{0};  // retry_after: the wait; exhausted: the wait that was refused
  classification detail;
};

struct retry_config {
  std::chrono::nanoseconds base = std::chrono::milliseconds(200);
  std::chrono::nanoseconds cap = std::chrono::seconds(10);
  int max_attempts = 5;  // attempts in all, the first one included
  // 429 without Retry-After waits at least this; 418 without it waits ban_default (Binance's
  // first ban is 2 minutes, exchanges.md B4).
  std::chrono::nanoseconds rate_limit_floor = std::chrono::seconds(1);
  std::chrono::nanoseconds ban_default = std::chrono::minutes(2);
  // A wait longer than this is not done inside one request: the caller gets `exhausted`.
  std::chrono::nanoseconds max_wait = std::chrono::seconds(60);
};

class retry_policy {
 public:
  explicit retry_policy(retry_config config = {});

  // Full jitter: uniform in [0, min(cap, base * 2^(attempt-1))] for attempt >= 1.
  [[nodiscard]] std::chrono::nanoseconds backoff(int attempt, std::mt19937_64& rng) const;

  // `attempt` is the number of the attempt that produced `o` (1 for the first).
  [[nodiscard]] decision decide(venue_id venue, request_kind kind, const outcome& o, int attempt,
                                std::mt19937_64& rng) const;

  [[nodiscard]] const retry_config& config() const { return config_; }

 private:
  retry_config config_;
};

[[nodiscard]] std::string_view to_string(outcome_class c);
[[nodiscard]] std::string_view to_string(verdict v);
[[nodiscard]] std::string_view to_string(transport_error e);

}  // namespace pt::venue
