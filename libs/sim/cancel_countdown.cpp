#include "cancel_countdown.hpp"

#include <algorithm>
#include <limits>

namespace pt::sim {

void cancel_countdown::set(account_id account, const std::string& symbol, std::int64_t countdown_ms, std::int64_t now) {
  const auto key = std::make_pair(account, symbol);
  if (countdown_ms <= 0) {
    timers_.erase(key);
    return;
  }
  constexpr auto max = std::numeric_limits<std::int64_t>::max();
  const std::int64_t deadline = now > max - countdown_ms ? max : now + countdown_ms;
  timers_[key] = timer{account, symbol, countdown_ms, deadline};
}

std::vector<cancel_countdown::timer> cancel_countdown::take_due(std::int64_t now) {
  std::vector<timer> out;
  for (auto it = timers_.begin(); it != timers_.end();) {
    if (it->second.deadline <= now) {
      out.push_back(std::move(it->second));
      it = timers_.erase(it);
    } else {
      ++it;
    }
  }
  std::stable_sort(out.begin(), out.end(), [](const timer& a, const timer& b) { return a.deadline < b.deadline; });
  return out;
}

std::optional<std::int64_t> cancel_countdown::next_deadline() const {
  std::optional<std::int64_t> out;
  for (const auto& [key, t] : timers_)
    if (!out || t.deadline < *out) out = t.deadline;
  return out;
}

std::vector<cancel_countdown::timer> cancel_countdown::armed(account_id account) const {
  std::vector<timer> out;
  for (const auto& [key, t] : timers_)
    if (key.first == account) out.push_back(t);
  return out;
}

}  // namespace pt::sim
