#include "venue/rate_limiter.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <charconv>

namespace pt::venue {

namespace {

using namespace std::chrono_literals;

std::int64_t floor_to(std::int64_t t, std::int64_t step) {
  std::int64_t q = t / step;
  if (t % step != 0 && t < 0) --q;
  return q * step;
}

std::chrono::nanoseconds unit_of(std::string_view unit) {
  if (unit == "SECOND") return 1s;
  if (unit == "MINUTE") return 1min;
  if (unit == "HOUR") return 1h;
  if (unit == "DAY") return 24h;
  return 0ns;
}

bool iequals_prefix(std::string_view text, std::string_view prefix) {
  if (text.size() < prefix.size()) return false;
  for (std::size_t i = 0; i < prefix.size(); ++i) {
    if (std::toupper(static_cast<unsigned char>(text[i])) != prefix[i]) return false;
  }
  return true;
}

}  // namespace

void rate_limiter::window::roll(std::int64_t now) {
  const std::int64_t step = limit.interval.count();
  if (limit.kind == window_kind::fixed) {
    // A clock read that goes backwards keeps the current window: counting more is the safe side.
    if (now >= fixed_start + step) {
      fixed_start = floor_to(now, step);
      fixed_used = 0;
    }
  } else {
    while (!entries.empty() && entries.front().first + step <= now) {
      sliding_used -= entries.front().second;
      entries.pop_front();
    }
  }
}

std::int64_t rate_limiter::window::used_at(std::int64_t now) {
  roll(now);
  return limit.kind == window_kind::fixed ? fixed_used : sliding_used;
}

std::int64_t rate_limiter::window::room_at(std::int64_t weight, std::int64_t now) const {
  if (limit.kind == window_kind::fixed) {
    if (fixed_used + weight <= limit.limit) return now;
    return fixed_start + limit.interval.count();
  }
  std::int64_t used = sliding_used;
  if (used + weight <= limit.limit) return now;
  for (const auto& [at, w] : entries) {
    used -= w;
    if (used + weight <= limit.limit) return at + limit.interval.count();
  }
  return now;  // unreachable: weight <= limit is checked before
}

void rate_limiter::window::add(std::int64_t weight, std::int64_t now) {
  if (limit.kind == window_kind::fixed) {
    fixed_used += weight;
  } else {
    entries.emplace_back(now, weight);
    sliding_used += weight;
  }
}

rate_limiter::rate_limiter(std::vector<rate_limit> limits) {
  if (limits.empty()) throw rate_limit_error("rate_limiter: no limits configured");
  for (auto& l : limits) {
    if (l.group.empty()) throw rate_limit_error("rate_limiter: a limit has an empty group name");
    if (l.interval <= 0ns || l.limit <= 0) {
      throw rate_limit_error("rate_limiter: group " + l.group + " needs a positive interval and limit");
    }
    window w;
    w.limit = std::move(l);
    groups_[w.limit.group].push_back(std::move(w));
  }
}

std::vector<rate_limit> rate_limiter::limits_from_binance(const nlohmann::json& rate_limits) {
  if (!rate_limits.is_array() || rate_limits.empty()) {
    throw rate_limit_error("rateLimits: expected a non-empty array");
  }
  std::vector<rate_limit> out;
  for (std::size_t i = 0; i < rate_limits.size(); ++i) {
    const auto& e = rate_limits[i];
    const std::string where = "rateLimits[" + std::to_string(i) + "]";
    if (!e.is_object()) throw rate_limit_error(where + ": expected an object");
    const auto type = e.find("rateLimitType");
    const auto interval = e.find("interval");
    const auto num = e.find("intervalNum");
    const auto limit = e.find("limit");
    if (type == e.end() || !type->is_string() || type->get<std::string>().empty()) {
      throw rate_limit_error(where + ": rateLimitType missing or not a string");
    }
    if (interval == e.end() || !interval->is_string()) {
      throw rate_limit_error(where + ": interval missing or not a string");
    }
    const auto unit = unit_of(interval->get<std::string>());
    if (unit == 0ns) throw rate_limit_error(where + ": unknown interval " + interval->get<std::string>());
    if (num == e.end() || !num->is_number_integer() || num->get<std::int64_t>() <= 0) {
      throw rate_limit_error(where + ": intervalNum missing or not a positive integer");
    }
    if (limit == e.end() || !limit->is_number_integer() || limit->get<std::int64_t>() <= 0) {
      throw rate_limit_error(where + ": limit missing or not a positive integer");
    }
    out.push_back({type->get<std::string>(), unit * num->get<std::int64_t>(), limit->get<std::int64_t>(),
                   window_kind::fixed});
  }
  return out;
}

std::vector<rate_limit> rate_limiter::binance_usdm_defaults() {
  return {
      {std::string(binance_group::request_weight), 1min, 2400, window_kind::fixed},
      {std::string(binance_group::orders), 1min, 1200, window_kind::fixed},
      {std::string(binance_group::orders), 10s, 300, window_kind::fixed},
  };
}

std::vector<rate_limit> rate_limiter::poloniex_futures_defaults() {
  const auto s = [](std::string_view g, std::int64_t n) {
    return rate_limit{std::string(g), 1s, n, window_kind::sliding};
  };
  namespace g = poloniex_group;
  return {s(g::market, 300),       s(g::market_heavy, 20),  s(g::place_order, 50),
          s(g::place_batch, 5),    s(g::cancel_order, 100), s(g::cancel_batch, 10),
          s(g::cancel_all, 10),    s(g::close_position, 10), s(g::close_all, 2),
          s(g::trade_query, 10),   s(g::balance, 50),       s(g::bills, 10)};
}

std::vector<rate_limiter::window>& rate_limiter::group_windows(std::string_view group) {
  const auto it = groups_.find(group);
  if (it == groups_.end()) throw rate_limit_error("rate_limiter: unknown group " + std::string(group));
  return it->second;
}

acquire_result rate_limiter::try_acquire(std::string_view group, std::int64_t weight, core::timestamp now) {
  const charge c{group, weight};
  return try_acquire(std::span<const charge>(&c, 1), now);
}

acquire_result rate_limiter::try_acquire(std::span<const charge> charges, core::timestamp now) {
  const std::lock_guard lock(mutex_);
  const std::int64_t t = now.nanos();
  // Validate everything before touching any counter, so a bad charge changes nothing.
  for (const auto& c : charges) {
    if (c.weight <= 0) throw rate_limit_error("rate_limiter: weight must be positive for " + std::string(c.group));
    for (const auto& w : group_windows(c.group)) {
      if (c.weight > w.limit.limit) {
        throw rate_limit_error("rate_limiter: weight " + std::to_string(c.weight) + " exceeds the limit " +
                               std::to_string(w.limit.limit) + " of group " + w.limit.group);
      }
    }
  }
  std::int64_t ready = t;
  for (const auto& c : charges) {
    for (auto& w : group_windows(c.group)) {
      w.roll(t);
      ready = std::max(ready, w.room_at(c.weight, t));
    }
  }
  if (banned_until_.nanos() > t) {
    return {false, core::timestamp::from_nanos(std::max(ready, banned_until_.nanos())), true};
  }
  if (ready > t) return {false, core::timestamp::from_nanos(ready), false};
  for (const auto& c : charges) {
    for (auto& w : group_windows(c.group)) w.add(c.weight, t);
  }
  return {true, now, false};
}

void rate_limiter::update_used(std::string_view group, std::chrono::nanoseconds interval, std::int64_t used,
                               core::timestamp now) {
  const std::lock_guard lock(mutex_);
  if (used < 0) throw rate_limit_error("rate_limiter: negative used count for " + std::string(group));
  const std::int64_t t = now.nanos();
  bool found = false;
  for (auto& w : group_windows(group)) {
    if (w.limit.interval != interval) continue;
    found = true;
    const std::int64_t ours = w.used_at(t);
    if (used > ours) w.add(used - ours, t);
  }
  if (!found) throw rate_limit_error("rate_limiter: group " + std::string(group) + " has no window of that interval");
}

void rate_limiter::update_from_headers(std::int64_t used_weight_1m, core::timestamp now) {
  update_used(binance_group::request_weight, std::chrono::minutes(1), used_weight_1m, now);
}

bool rate_limiter::update_from_header(std::string_view name, std::string_view value, core::timestamp now) {
  std::string_view group;
  std::string_view rest;
  constexpr std::string_view weight_prefix = "X-MBX-USED-WEIGHT-";
  constexpr std::string_view orders_prefix = "X-MBX-ORDER-COUNT-";
  if (iequals_prefix(name, weight_prefix)) {
    group = binance_group::request_weight;
    rest = name.substr(weight_prefix.size());
  } else if (iequals_prefix(name, orders_prefix)) {
    group = binance_group::orders;
    rest = name.substr(orders_prefix.size());
  } else {
    return false;
  }
  // "<n><unit>", e.g. "1M", "10S".
  std::int64_t n = 0;
  const auto [p, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), n);
  if (ec != std::errc() || n <= 0 || p + 1 != rest.data() + rest.size()) return false;
  std::chrono::nanoseconds unit{};
  switch (std::toupper(static_cast<unsigned char>(*p))) {
    case 'S': unit = 1s; break;
    case 'M': unit = 1min; break;
    case 'H': unit = 1h; break;
    case 'D': unit = 24h; break;
    default: return false;
  }
  std::int64_t used = 0;
  const auto [vp, vec] = std::from_chars(value.data(), value.data() + value.size(), used);
  if (vec != std::errc() || vp != value.data() + value.size() || used < 0) {
    throw rate_limit_error("rate_limiter: header " + std::string(name) + " has a bad value '" + std::string(value) + "'");
  }
  {
    const std::lock_guard lock(mutex_);
    const auto it = groups_.find(group);
    if (it == groups_.end()) return false;
    if (std::none_of(it->second.begin(), it->second.end(),
                     [&](const window& w) { return w.limit.interval == unit * n; })) {
      return false;
    }
  }
  update_used(group, unit * n, used, now);
  return true;
}

void rate_limiter::ban_until(core::timestamp until) {
  const std::lock_guard lock(mutex_);
  banned_until_ = std::max(banned_until_, until);
}

bool rate_limiter::banned(core::timestamp now) const {
  const std::lock_guard lock(mutex_);
  return banned_until_ > now;
}

core::timestamp rate_limiter::banned_until() const {
  const std::lock_guard lock(mutex_);
  return banned_until_;
}

std::int64_t rate_limiter::used(std::string_view group, std::chrono::nanoseconds interval, core::timestamp now) const {
  const std::lock_guard lock(mutex_);
  const auto it = groups_.find(group);
  if (it == groups_.end()) throw rate_limit_error("rate_limiter: unknown group " + std::string(group));
  for (const auto& w : it->second) {
    if (w.limit.interval != interval) continue;
    auto copy = w;  // const query: roll a copy
    return copy.used_at(now.nanos());
  }
  throw rate_limit_error("rate_limiter: group " + std::string(group) + " has no window of that interval");
}

}  // namespace pt::venue
