#include "venue/clock_skew.hpp"

#include <algorithm>
#include <stdexcept>
#include <vector>

namespace pt::venue {

using std::chrono::nanoseconds;

clock_skew_config clock_skew_config::for_binance(std::chrono::milliseconds recv_window) {
  clock_skew_config c;
  c.max_offset = recv_window / 2;
  return c;
}

clock_skew_config clock_skew_config::for_poloniex() {
  clock_skew_config c;
  c.max_offset = std::chrono::milliseconds(500);
  return c;
}

clock_skew_guard::clock_skew_guard(clock_skew_config config) : config_(config) {
  if (config_.window == 0 || config_.max_offset <= nanoseconds(0) || config_.max_age <= nanoseconds(0) ||
      config_.max_rtt <= nanoseconds(0)) {
    throw std::invalid_argument("clock_skew_config: window, max_offset, max_age and max_rtt must be positive");
  }
}

bool clock_skew_guard::add_sample(const time_sample& s) {
  const nanoseconds rtt = s.local_receive - s.local_send;
  if (rtt < nanoseconds(0) || rtt > config_.max_rtt) return false;
  const nanoseconds offset = s.server - (s.local_send + rtt / 2);
  const std::lock_guard lock(mutex_);
  if (resync_requested_) {
    samples_.clear();
    resync_requested_ = false;
  }
  samples_.push_back({offset, s.local_receive});
  while (samples_.size() > config_.window) samples_.pop_front();
  return true;
}

void clock_skew_guard::request_resync() {
  const std::lock_guard lock(mutex_);
  resync_requested_ = true;
}

std::optional<nanoseconds> clock_skew_guard::median_locked() const {
  if (samples_.empty()) return std::nullopt;
  std::vector<nanoseconds> v;
  v.reserve(samples_.size());
  for (const auto& e : samples_) v.push_back(e.offset);
  const auto mid = v.begin() + static_cast<std::ptrdiff_t>(v.size() / 2);
  std::nth_element(v.begin(), mid, v.end());
  if (v.size() % 2 == 1) return *mid;
  const nanoseconds upper = *mid;
  const nanoseconds lower = *std::max_element(v.begin(), mid);
  return lower + (upper - lower) / 2;
}

std::optional<nanoseconds> clock_skew_guard::offset() const {
  const std::lock_guard lock(mutex_);
  return median_locked();
}

core::timestamp clock_skew_guard::server_now(core::timestamp local_now) const {
  const auto o = offset();
  return o ? local_now + *o : local_now;
}

skew_state clock_skew_guard::state(core::timestamp local_now) const {
  const std::lock_guard lock(mutex_);
  if (samples_.empty()) return skew_state::no_samples;
  if (resync_requested_) return skew_state::resync_requested;
  if (local_now - samples_.back().taken > config_.max_age) return skew_state::stale;
  const nanoseconds o = *median_locked();
  if (o > config_.max_offset || o < -config_.max_offset) return skew_state::offset_too_large;
  return skew_state::ok;
}

bool clock_skew_guard::resync_due(core::timestamp local_now) const {
  const auto s = state(local_now);
  return s == skew_state::no_samples || s == skew_state::resync_requested || s == skew_state::stale;
}

}  // namespace pt::venue
