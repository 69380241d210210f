#pragma once
// The one request loop every REST connector uses: rate limiter (venue limits, updated from
// response headers and bans), retries with capped exponential backoff and full jitter (never for
// definitive rejects; an order placement that may have executed is reported as ambiguous and never
// re-sent), and the clock-skew guard whose server time signs every private request.
//
// A request is *built* per attempt so each attempt carries a fresh timestamp and signature.
#include "http_client.hpp"
#include "venue/clock_skew.hpp"
#include "venue/rate_limiter.hpp"
#include "venue/retry.hpp"
#include "venue/signing.hpp"
#include "venue/venue.hpp"

#include <functional>
#include <memory>
#include <mutex>
#include <random>
#include <span>
#include <string>

namespace pt::connectors {

struct rest_config {
  std::string base_url;  // "https://api.poloniex.com", or venue-sim's "http://127.0.0.1:<port>"
  venue::venue_id venue = venue::venue_id::poloniex_futures;
  venue::retry_config retry;
  std::chrono::milliseconds timeout{10000};
  std::uint64_t seed = 0;  // jitter RNG; 0 = from the clock
};

class rest_session {
 public:
  rest_session(rest_config config, std::vector<venue::rate_limit> limits, venue::clock_skew_config skew);

  using builder = std::function<http_request(std::int64_t server_now_ms)>;
  // Sends until success, a definitive answer or the retry budget ends; returns the successful
  // response, otherwise throws venue::venue_error (kind reject, ambiguous or retry). Thread-safe:
  // requests are serialised on the session's connection.
  http_response call(const builder& build, venue::request_kind kind, std::span<const venue::charge> charges);

  // Samples the server clock `samples` times through `fetch` (which returns the server's ms).
  void sync_clock(const std::function<std::int64_t()>& fetch, int samples = 3);
  [[nodiscard]] std::int64_t server_now_ms() const;
  [[nodiscard]] venue::clock_skew_guard& clock() { return skew_; }
  [[nodiscard]] venue::rate_limiter& limiter() { return *limiter_; }
  void set_limits(std::vector<venue::rate_limit> limits);
  [[nodiscard]] const rest_config& config() const { return config_; }
  // Hook run when a response asks for a clock resync (Binance -1021, Poloniex 408).
  void on_resync(std::function<void()> f) { resync_ = std::move(f); }

  struct stats {
    std::int64_t requests = 0, retries = 0, rejects = 0, ambiguous = 0, rate_limited = 0;
  };
  [[nodiscard]] stats counters() const;

 private:
  rest_config config_;
  std::unique_ptr<venue::rate_limiter> limiter_;  // replaced when the venue publishes its limits
  venue::clock_skew_guard skew_;
  venue::retry_policy policy_;
  http_client http_;
  mutable std::mutex mutex_;
  std::mt19937_64 rng_;
  std::function<void()> resync_;
  stats stats_;
};

// "k=v&k=v" with percent-encoded values (the form the venues sign).
[[nodiscard]] std::string query_string(const venue::query_params& params);

}  // namespace pt::connectors
