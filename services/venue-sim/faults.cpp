#include "faults.hpp"

#include <algorithm>

namespace pt::venue_sim {

namespace {
struct named {
  fault_kind kind;
  const char* name;
};
constexpr named names[] = {
    {fault_kind::drop_websockets, "drop_websockets"}, {fault_kind::rate_limit, "rate_limit"},
    {fault_kind::latency, "latency"},                 {fault_kind::server_error, "server_error"},
    {fault_kind::malformed_json, "malformed_json"},   {fault_kind::clock_skew, "clock_skew"},
    {fault_kind::maintenance, "maintenance"},         {fault_kind::hold_ack, "hold_ack"},
    {fault_kind::unknown_executed, "unknown_executed"}, {fault_kind::book_gap, "book_gap"},
};
}  // namespace

std::optional<fault_kind> parse_fault_kind(std::string_view name) {
  for (const auto& n : names)
    if (name == n.name) return n.kind;
  return std::nullopt;
}

const char* to_string(fault_kind k) {
  for (const auto& n : names)
    if (n.kind == k) return n.name;
  return "?";
}

const std::vector<fault_kind>& all_fault_kinds() {
  static const std::vector<fault_kind> kinds = [] {
    std::vector<fault_kind> v;
    for (const auto& n : names) v.push_back(n.kind);
    return v;
  }();
  return kinds;
}

void fault_plan::arm(fault f) {
  std::lock_guard lock(mu_);
  faults_.erase(std::remove_if(faults_.begin(), faults_.end(), [&](const fault& x) { return x.kind == f.kind; }),
                faults_.end());
  faults_.push_back(f);
  // These two bite at once rather than per request (the skew is read, not taken, on every
  // clock read; the drop closes every socket now), so arming them is their firing.
  if (f.kind == fault_kind::clock_skew || f.kind == fault_kind::drop_websockets) ++fired_[static_cast<int>(f.kind)];
}

void fault_plan::clear(std::optional<fault_kind> kind) {
  std::lock_guard lock(mu_);
  if (!kind) faults_.clear();
  else
    faults_.erase(std::remove_if(faults_.begin(), faults_.end(), [&](const fault& x) { return x.kind == *kind; }),
                  faults_.end());
}

void fault_plan::expire_locked() {
  const auto now = std::chrono::steady_clock::now();
  faults_.erase(std::remove_if(faults_.begin(), faults_.end(),
                               [&](const fault& f) {
                                 return (f.remaining && *f.remaining <= 0) || (f.until && now >= *f.until);
                               }),
                faults_.end());
}

std::optional<fault> fault_plan::take(fault_kind kind, bool is_order) {
  std::lock_guard lock(mu_);
  expire_locked();
  for (auto& f : faults_) {
    if (f.kind != kind || (f.orders_only && !is_order)) continue;
    if (f.remaining) --*f.remaining;
    ++fired_[static_cast<int>(kind)];
    return f;
  }
  return std::nullopt;
}

std::optional<fault> fault_plan::peek(fault_kind kind) const {
  std::lock_guard lock(mu_);
  const auto now = std::chrono::steady_clock::now();
  for (const auto& f : faults_)
    if (f.kind == kind && !(f.remaining && *f.remaining <= 0) && !(f.until && now >= *f.until)) return f;
  return std::nullopt;
}

std::vector<fault> fault_plan::active() const {
  std::lock_guard lock(mu_);
  const auto now = std::chrono::steady_clock::now();
  std::vector<fault> out;
  for (const auto& f : faults_)
    if (!(f.remaining && *f.remaining <= 0) && !(f.until && now >= *f.until)) out.push_back(f);
  return out;
}

std::int64_t fault_plan::fired(fault_kind kind) const {
  std::lock_guard lock(mu_);
  return fired_[static_cast<int>(kind)];
}

}  // namespace pt::venue_sim
