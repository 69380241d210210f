#include "rest_session.hpp"

#include "core/log.hpp"
#include "venue/signing.hpp"

#include <thread>

namespace pt::connectors {

namespace {
core::timestamp wall_now() { return core::timestamp::from_sys_time(std::chrono::system_clock::now()); }

std::optional<std::chrono::nanoseconds> retry_after_of(const http_response& r) {
  const auto* h = r.header("retry-after");
  if (h == nullptr) return std::nullopt;
  try {
    return std::chrono::seconds(std::stoll(*h));
  } catch (const std::exception&) {
    return std::nullopt;
  }
}
}  // namespace

std::string query_string(const venue::query_params& params) {
  std::string out;
  for (const auto& [k, v] : params) {
    if (!out.empty()) out += '&';
    out += k + "=" + venue::percent_encode(v);
  }
  return out;
}

rest_session::rest_session(rest_config config, std::vector<venue::rate_limit> limits, venue::clock_skew_config skew)
    : config_(std::move(config)),
      limiter_(std::make_unique<venue::rate_limiter>(std::move(limits))),
      skew_(skew),
      policy_(config_.retry),
      rng_(config_.seed != 0 ? config_.seed
                             : static_cast<std::uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count())) {}

void rest_session::set_limits(std::vector<venue::rate_limit> limits) {
  std::lock_guard lock(mutex_);
  limiter_ = std::make_unique<venue::rate_limiter>(std::move(limits));
}

std::int64_t rest_session::server_now_ms() const {
  return skew_.server_now(wall_now()).nanos() / 1'000'000;
}

rest_session::stats rest_session::counters() const {
  std::lock_guard lock(mutex_);
  return stats_;
}

void rest_session::sync_clock(const std::function<std::int64_t()>& fetch, int samples) {
  // A sync is a fresh measurement: the first good sample replaces the window. Keeping the old
  // samples let a median of stale and new offsets miss the venue's clock after it jumped.
  skew_.request_resync();
  for (int i = 0; i < samples; ++i) {
    venue::time_sample s;
    s.local_send = wall_now();
    s.server = core::timestamp::from_millis(fetch());
    s.local_receive = wall_now();
    skew_.add_sample(s);
  }
}

http_response rest_session::call(const builder& build, venue::request_kind kind,
                                 std::span<const venue::charge> charges) {
  std::unique_lock lock(mutex_);
  for (int attempt = 1;; ++attempt) {
    // Wait for room under every limit the request counts against.
    for (;;) {
      const auto now = wall_now();
      const auto got = limiter_->try_acquire(charges, now);
      if (got) break;
      const auto wait = std::chrono::nanoseconds(got.retry_at.nanos() - now.nanos());
      if (wait > config_.retry.max_wait)
        throw venue::venue_error(venue::outcome_class::retry,
                                 got.banned ? "rate limited: banned by the venue" : "rate limited: no room soon enough");
      std::this_thread::sleep_for(wait);
    }
    http_request req = build(server_now_ms());
    // A path goes to the base URL; an absolute URL (another host of the venue) as it is.
    const bool absolute = req.url.starts_with("http://") || req.url.starts_with("https://");
    const std::size_t path_at = absolute ? req.url.find('/', req.url.find("//") + 2) : config_.base_url.size();
    if (!absolute) req.url = config_.base_url + req.url;
    req.timeout = config_.timeout;
    ++stats_.requests;
    http_response resp = http_.send(req);
    const auto now = wall_now();
    // Another host of the venue (Binance's spot host for a wallet read) has budgets of its own:
    // its headers and bans must not throttle this session's calls (stops, closes).
    if (!absolute)
      for (const auto& [name, value] : resp.headers) limiter_->update_from_header(name, value, now);

    venue::outcome o;
    o.transport = resp.transport;
    o.http_status = resp.status;
    o.body = resp.body;
    o.retry_after = retry_after_of(resp);
    const venue::decision d = policy_.decide(config_.venue, kind, o, attempt, rng_);
    if (d.detail.rate_limited) {
      ++stats_.rate_limited;
      if (!absolute) limiter_->ban_until(core::timestamp::from_nanos(now.nanos() + d.delay.count()));
    }
    if (d.detail.resync_clock) {
      skew_.request_resync();
      if (resync_) {
        lock.unlock();
        resync_();
        lock.lock();
      }
    }
    const std::string what = req.method + " " + req.url.substr(std::min(path_at, req.url.size()));
    switch (d.kind) {
      case venue::verdict::success: return resp;
      case venue::verdict::retry_after:
        ++stats_.retries;
        pt::log::warn("venue request retried", {{"request", what}, {"attempt", attempt}, {"reason", d.detail.reason},
                                                 {"delay_ms", std::chrono::duration_cast<std::chrono::milliseconds>(d.delay).count()}});
        lock.unlock();
        std::this_thread::sleep_for(d.delay);
        lock.lock();
        continue;
      case venue::verdict::do_not_retry:
        ++stats_.rejects;
        throw venue::venue_error(venue::outcome_class::reject, what + ": " + d.detail.reason, d.detail.code, resp.status);
      case venue::verdict::ambiguous:
        ++stats_.ambiguous;
        pt::log::warn("venue order outcome unknown", {{"request", what}, {"reason", d.detail.reason}});
        throw venue::venue_error(venue::outcome_class::ambiguous, what + ": " + d.detail.reason, d.detail.code, resp.status);
      case venue::verdict::exhausted:
        throw venue::venue_error(venue::outcome_class::retry, what + ": retries exhausted: " + d.detail.reason,
                                 d.detail.code, resp.status);
    }
  }
}

}  // namespace pt::connectors
