#include "replay/replay_clock.hpp"

#include <fmt/format.h>

#include <cmath>
#include <stdexcept>

namespace pt::replay {

pace pace::multiple(double k) {
  if (!std::isfinite(k) || k <= 0) throw std::invalid_argument(fmt::format("replay pace: multiple({}) must be finite and > 0", k));
  return {pace_mode::multiple, k};
}

std::string to_string(const pace& p) {
  switch (p.mode) {
    case pace_mode::realtime: return "realtime";
    case pace_mode::multiple: return fmt::format("multiple({})", p.factor);
    case pace_mode::unthrottled: return "unthrottled";
    case pace_mode::lockstep: return "lockstep";
  }
  return "unknown";
}

namespace {
// A hand-built pace: check k, and give the other modes the factor they mean.
pace normalized(pace p) {
  if (p.mode == pace_mode::multiple) return pace::multiple(p.factor);
  p.factor = 1.0;
  return p;
}
}  // namespace

replay_clock::replay_clock(std::int64_t start_ms, pace p)
    : pace_(normalized(p)), anchor_sim_(start_ms), anchor_wall_(wall::now()) {}

std::int64_t replay_clock::now_locked(wall::time_point at) const {
  if (!paced()) return anchor_sim_;
  const auto elapsed_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(at - anchor_wall_).count();
  if (elapsed_ns <= 0) return anchor_sim_;
  // long double keeps whole-ms precision for years of wall time at any sane factor.
  const long double sim_ms = static_cast<long double>(elapsed_ns) * pace_.factor / 1e6L;
  constexpr long double cap = 9.0e18L;
  if (sim_ms >= cap - static_cast<long double>(anchor_sim_)) return INT64_MAX;
  return anchor_sim_ + static_cast<std::int64_t>(sim_ms);
}

void replay_clock::anchor(std::int64_t sim_ms, wall::time_point at) {
  anchor_sim_ = sim_ms;
  anchor_wall_ = at;
}

std::int64_t replay_clock::now_ms() const {
  std::lock_guard lk(mu_);
  return now_locked(wall::now());
}

core::timestamp replay_clock::now() const { return core::timestamp::from_millis(now_ms()); }

bool replay_clock::wait_until(std::int64_t sim_ms, std::stop_token stop) {
  std::unique_lock lk(mu_);
  const auto me = waiting_.insert(sim_ms);
  struct unregister {
    std::multiset<std::int64_t>& set;
    std::multiset<std::int64_t>::iterator it;
    ~unregister() { set.erase(it); }
  } guard{waiting_, me};

  for (;;) {
    if (closed_ || stop.stop_requested()) return false;
    const auto t_wall = wall::now();
    const std::int64_t now = now_locked(t_wall);
    if (now >= sim_ms) return true;
    const std::uint64_t seen = epoch_;
    auto changed = [&] { return epoch_ != seen || closed_; };
    switch (pace_.mode) {
      case pace_mode::unthrottled:
        anchor(sim_ms, t_wall);
        ++epoch_;
        cv_.notify_all();  // others waiting on earlier targets are due too
        return true;
      case pace_mode::lockstep:
        if (steps_ > 0) {
          --steps_;
          anchor(sim_ms, t_wall);
          ++epoch_;
          cv_.notify_all();
          return true;
        }
        cv_.wait(lk, stop, changed);
        break;
      case pace_mode::realtime:
      case pace_mode::multiple: {
        // Wall time at which the simulated time reaches sim_ms; capped so the arithmetic stays
        // in range for absurd factors (we re-check on wake anyway).
        const long double wall_ns = (static_cast<long double>(sim_ms) - static_cast<long double>(anchor_sim_)) * 1e6L / pace_.factor;
        constexpr long double max_wait_ns = 3600e9L;
        const auto wait_ns = static_cast<std::int64_t>(std::ceil(std::min(wall_ns, max_wait_ns)));
        const auto deadline = anchor_wall_ + std::chrono::nanoseconds(wait_ns);
        cv_.wait_until(lk, stop, deadline, changed);
        break;
      }
    }
  }
}

std::int64_t replay_clock::advance_to(std::int64_t sim_ms) {
  std::lock_guard lk(mu_);
  const auto t_wall = wall::now();
  const std::int64_t now = now_locked(t_wall);
  if (sim_ms > now) {
    anchor(sim_ms, t_wall);
    ++epoch_;
    cv_.notify_all();
  }
  return now_locked(t_wall);
}

void replay_clock::step() {
  std::lock_guard lk(mu_);
  if (pace_.mode != pace_mode::lockstep) return;
  const auto t_wall = wall::now();
  const std::int64_t now = now_locked(t_wall);
  const auto next = waiting_.upper_bound(now);  // targets <= now are already released
  if (next == waiting_.end()) {
    ++steps_;
    return;
  }
  anchor(*next, t_wall);
  ++epoch_;
  cv_.notify_all();
}

pace replay_clock::mode() const {
  std::lock_guard lk(mu_);
  return pace_;
}

void replay_clock::set_mode(pace p) {
  p = normalized(p);
  std::lock_guard lk(mu_);
  const auto t_wall = wall::now();
  anchor(now_locked(t_wall), t_wall);
  pace_ = p;
  steps_ = 0;
  ++epoch_;
  cv_.notify_all();
}

void replay_clock::close() {
  std::lock_guard lk(mu_);
  closed_ = true;
  ++epoch_;
  cv_.notify_all();
}

bool replay_clock::closed() const {
  std::lock_guard lk(mu_);
  return closed_;
}

std::optional<std::int64_t> replay_clock::next_wait() const {
  std::lock_guard lk(mu_);
  const std::int64_t now = now_locked(wall::now());
  const auto next = waiting_.upper_bound(now);
  if (next == waiting_.end()) return std::nullopt;
  return *next;
}

}  // namespace pt::replay
