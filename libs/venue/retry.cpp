#include "venue/retry.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <charconv>

namespace pt::venue {

namespace {

using std::chrono::nanoseconds;

classification make(outcome_class kind, std::optional<std::int64_t> code, std::string reason) {
  classification c;
  c.kind = kind;
  c.code = code;
  c.reason = std::move(reason);
  return c;
}

// Sent (or maybe sent) and no usable answer: only order placement is unsafe to resend.
outcome_class maybe_executed(request_kind kind) {
  return kind == request_kind::place_order ? outcome_class::ambiguous : outcome_class::retry;
}

std::optional<classification> classify_transport(request_kind kind, const outcome& o) {
  switch (o.transport) {
    case transport_error::connect:
      return make(outcome_class::retry, std::nullopt, "connect failed: request not sent");
    case transport_error::tls:
      return make(outcome_class::retry, std::nullopt, "TLS handshake failed: request not sent");
    case transport_error::timeout:
      return make(maybe_executed(kind), std::nullopt, "timeout after sending");
    case transport_error::reset:
      return make(maybe_executed(kind), std::nullopt, "connection reset after sending");
    case transport_error::none:
      break;
  }
  if (o.http_status == 0) return make(maybe_executed(kind), std::nullopt, "no response");
  return std::nullopt;
}

bool contains(std::string_view body, std::string_view needle) { return body.find(needle) != std::string_view::npos; }

// exchanges.md B10; codes not named here are definitive rejects.
classification binance_code(request_kind kind, std::int64_t code) {
  switch (code) {
    case -4046:  // NO_NEED_TO_CHANGE_MARGIN_TYPE
    case -4059:  // NO_NEED_TO_CHANGE_POSITION_SIDE
      return make(outcome_class::success, code, "already in the requested state");
    case -1003:  // TOO_MANY_REQUESTS
    case -1015: {  // TOO_MANY_ORDERS
      auto c = make(outcome_class::retry, code, "rate limited");
      c.rate_limited = true;
      return c;
    }
    case -1001:  // DISCONNECTED: "Internal error; unable to process your request. Please try again."
      return make(outcome_class::retry, code, "venue internal error, safe to resend");
    case -1008:  // throttled by system-level protection; not executed
      return make(outcome_class::retry, code, "throttled by the venue");
    case -1021:  // INVALID_TIMESTAMP
    case -5028: {  // ME_RECVWINDOW_REJECT
      auto c = make(outcome_class::retry, code, "timestamp outside recvWindow");
      c.resync_clock = true;
      return c;
    }
    case -1000:  // UNKNOWN
    case -1006:  // UNEXPECTED_RESP
    case -1007:  // TIMEOUT: execution status unknown
      return make(maybe_executed(kind), code, "execution status unknown");
    default:
      return make(outcome_class::reject, code, "rejected by the venue");
  }
}

classification classify_binance(request_kind kind, const outcome& o) {
  const auto code = o.venue_code ? o.venue_code : body_code(o.body);
  if (o.http_status == 418) {
    auto c = make(outcome_class::retry, code, "IP banned (418)");
    c.rate_limited = c.banned = true;
    return c;
  }
  if (o.http_status == 429) {
    auto c = make(outcome_class::retry, code, "rate limited (429)");
    c.rate_limited = true;
    return c;
  }
  if (code && *code < 0) return binance_code(kind, *code);
  if (o.http_status >= 500) {
    // The 503 variants of exchanges.md B4: two are definite failures, the rest may have executed.
    if (contains(o.body, "Service Unavailable")) {
      return make(outcome_class::retry, code, "service unavailable, not executed");
    }
    if (contains(o.body, "Internal error; unable to process your request")) {
      return make(outcome_class::retry, code, "venue internal error, safe to resend");
    }
    return make(maybe_executed(kind), code, "server error " + std::to_string(o.http_status));
  }
  if (o.http_status == 408) return make(maybe_executed(kind), code, "backend timeout (408)");
  if (o.http_status >= 200 && o.http_status < 300) return make(outcome_class::success, code, "ok");
  return make(outcome_class::reject, code, "HTTP " + std::to_string(o.http_status));
}

// exchanges.md A4; codes not named here are definitive rejects.
classification poloniex_code(request_kind kind, std::int64_t code) {
  switch (code) {
    case 200:
      return make(outcome_class::success, code, "ok");
    case 429: {  // TOO_MANY_REQUEST
      auto c = make(outcome_class::retry, code, "rate limited");
      c.rate_limited = true;
      return c;
    }
    case 1002:   // SYSTEM_MAINTENANCE
    case 24201:  // "Please try again later"
      return make(outcome_class::retry, code, "venue asks to try again later");
    case 500:  // SYSTEM_EXCEPTION
    case 503:  // DEGRADE_ERROR
      return make(maybe_executed(kind), code, "venue system error");
    default:
      return make(outcome_class::reject, code, "rejected by the venue");
  }
}

classification classify_poloniex(request_kind kind, const outcome& o) {
  const auto code = o.venue_code ? o.venue_code : body_code(o.body);
  if (o.http_status == 429) {
    auto c = make(outcome_class::retry, code, "rate limited (429)");
    c.rate_limited = true;
    return c;
  }
  if (o.http_status == 408) {
    // recvWindow exceeded (exchanges.md A2); a 408 from a proxy would be a timeout, so an order
    // placement is still settled by a query rather than resent.
    auto c = make(maybe_executed(kind), code, "recvWindow exceeded (408)");
    c.resync_clock = true;
    return c;
  }
  if (o.http_status >= 500) {
    if (code && (*code == 1002 || *code == 24201 || *code == 429)) return poloniex_code(kind, *code);
    return make(maybe_executed(kind), code, "server error " + std::to_string(o.http_status));
  }
  // HTTP 200 with a non-200 code is a reject (exchanges.md F): always read the body's code.
  if (code) return poloniex_code(kind, *code);
  if (o.http_status >= 200 && o.http_status < 300) return make(outcome_class::success, code, "ok");
  return make(outcome_class::reject, code, "HTTP " + std::to_string(o.http_status));
}

}  // namespace

std::optional<std::int64_t> body_code(std::string_view body) {
  if (body.empty()) return std::nullopt;
  const auto j = nlohmann::json::parse(body.begin(), body.end(), nullptr, false);
  if (!j.is_object()) return std::nullopt;
  const auto it = j.find("code");
  if (it == j.end()) return std::nullopt;
  if (it->is_number_integer()) return it->get<std::int64_t>();
  if (it->is_string()) {
    const auto& s = it->get_ref<const std::string&>();
    std::int64_t v = 0;
    const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec == std::errc() && p == s.data() + s.size()) return v;
  }
  return std::nullopt;
}

classification classify(venue_id venue, request_kind kind, const outcome& o) {
  classification c;
  if (auto t = classify_transport(kind, o)) {
    c = std::move(*t);
  } else {
    c = venue == venue_id::binance_usdm ? classify_binance(kind, o) : classify_poloniex(kind, o);
  }
  c.retry_after = o.retry_after;
  return c;
}

retry_policy::retry_policy(retry_config config) : config_(config) {
  if (config_.base <= nanoseconds(0) || config_.cap < config_.base || config_.max_attempts < 1) {
    throw std::invalid_argument("retry_config: need base > 0, cap >= base and max_attempts >= 1");
  }
}

nanoseconds retry_policy::backoff(int attempt, std::mt19937_64& rng) const {
  nanoseconds ceiling = config_.base;
  for (int i = 1; i < attempt && ceiling < config_.cap; ++i) ceiling *= 2;  // doubling stops at cap: no overflow
  ceiling = std::min(ceiling, config_.cap);
  std::uniform_int_distribution<std::int64_t> dist(0, ceiling.count());
  return nanoseconds(dist(rng));
}

decision retry_policy::decide(venue_id venue, request_kind kind, const outcome& o, int attempt,
                              std::mt19937_64& rng) const {
  decision d;
  d.detail = classify(venue, kind, o);
  switch (d.detail.kind) {
    case outcome_class::success: d.kind = verdict::success; return d;
    case outcome_class::reject: d.kind = verdict::do_not_retry; return d;
    case outcome_class::ambiguous: d.kind = verdict::ambiguous; return d;
    case outcome_class::retry: break;
  }
  const auto jitter = backoff(attempt, rng);
  if (d.detail.banned) {
    d.delay = o.retry_after.value_or(config_.ban_default);
  } else if (d.detail.rate_limited) {
    d.delay = o.retry_after ? *o.retry_after : std::max(config_.rate_limit_floor, jitter);
  } else {
    d.delay = std::max(jitter, o.retry_after.value_or(nanoseconds(0)));
  }
  d.kind = (attempt >= config_.max_attempts || d.delay > config_.max_wait) ? verdict::exhausted : verdict::retry_after;
  return d;
}

std::string_view to_string(outcome_class c) {
  switch (c) {
    case outcome_class::success: return "success";
    case outcome_class::retry: return "retry";
    case outcome_class::reject: return "reject";
    case outcome_class::ambiguous: return "ambiguous";
  }
  return "?";
}

std::string_view to_string(verdict v) {
  switch (v) {
    case verdict::success: return "success";
    case verdict::retry_after: return "retry_after";
    case verdict::do_not_retry: return "do_not_retry";
    case verdict::ambiguous: return "ambiguous";
    case verdict::exhausted: return "exhausted";
  }
  return "?";
}

std::string_view to_string(transport_error e) {
  switch (e) {
    case transport_error::none: return "none";
    case transport_error::timeout: return "timeout";
    case transport_error::connect: return "connect";
    case transport_error::reset: return "reset";
    case transport_error::tls: return "tls";
  }
  return "?";
}

}  // namespace pt::venue
