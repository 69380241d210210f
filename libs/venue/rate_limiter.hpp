#pragma once
// Request-weight / order-count limiter shared by the venue connectors. Pure: time comes in as
// an argument, so the same object runs on live and simulated time and tests are exact.
//
// A limiter holds named groups ("REQUEST_WEIGHT", "ORDERS", "poloniex.place_order", ...); each
// group has one or more windows (Binance ORDERS: 300 per 10 s and 1200 per 1 min). A request
// charges one or more groups at once and is granted only if every window of every charged
// group has room; then all are charged together.
#include "core/time.hpp"

#include <nlohmann/json_fwd.hpp>

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace pt::venue {

// Unknown group, a weight no window can ever hold, or malformed limit configuration.
class rate_limit_error : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

enum class window_kind {
  // Counter reset at every multiple of the interval since the epoch. Binance counts this way
  // (its X-MBX-USED-WEIGHT-1M header is the count of the current minute), so headers resync it.
  fixed,
  // Any span of one interval holds at most `limit`. Conservative when the venue's own scheme is
  // unknown (Poloniex publishes none; see exchanges.md A3).
  sliding,
};

struct rate_limit {
  std::string group;
  std::chrono::nanoseconds interval{};
  std::int64_t limit = 0;
  window_kind kind = window_kind::fixed;
};

struct charge {
  std::string_view group;
  std::int64_t weight = 1;
};

struct acquire_result {
  bool granted = false;
  // Granted: `now`. Refused: the earliest time the same request would be granted if nothing
  // else is acquired meanwhile (every window rolled over far enough, and any ban over).
  core::timestamp retry_at;
  bool banned = false;  // refused because of a 418/429 ban, not because a window is full
  explicit operator bool() const { return granted; }
};

class rate_limiter {
 public:
  explicit rate_limiter(std::vector<rate_limit> limits);

  // Binance exchangeInfo `rateLimits`: [{rateLimitType, interval: SECOND|MINUTE|HOUR|DAY,
  // intervalNum, limit}], as fixed windows grouped by rateLimitType. Throws rate_limit_error
  // naming the bad entry.
  [[nodiscard]] static std::vector<rate_limit> limits_from_binance(const nlohmann::json& rate_limits);
  // Fallback when exchangeInfo cannot be read; values unconfirmed (exchanges.md B4 [?]).
  [[nodiscard]] static std::vector<rate_limit> binance_usdm_defaults();
  // Per-endpoint-group per-second limits from exchanges.md A3 (CCXT and GCT agree), sliding.
  // Group names are the constants in `poloniex_group`.
  [[nodiscard]] static std::vector<rate_limit> poloniex_futures_defaults();

  [[nodiscard]] acquire_result try_acquire(std::string_view group, std::int64_t weight, core::timestamp now);
  // All or nothing across groups (a Binance order charges REQUEST_WEIGHT and ORDERS).
  [[nodiscard]] acquire_result try_acquire(std::span<const charge> charges, core::timestamp now);

  // Resync with the server's count (X-MBX-USED-WEIGHT-1M): the group's window of that interval
  // never counts less than the server says. Other processes on the same IP share the weight,
  // so the server can be ahead of us; in-flight requests can make us ahead of it, hence max().
  void update_used(std::string_view group, std::chrono::nanoseconds interval, std::int64_t used,
                   core::timestamp now);
  // Shorthand for the REQUEST_WEIGHT 1-minute window.
  void update_from_headers(std::int64_t used_weight_1m, core::timestamp now);
  // One response header: X-MBX-USED-WEIGHT-<n><S|M|H|D> (group REQUEST_WEIGHT) or
  // X-MBX-ORDER-COUNT-<n><unit> (group ORDERS); name is case-insensitive. Returns false for a
  // header it does not know or a window it does not have; throws rate_limit_error for a bad value.
  bool update_from_header(std::string_view name, std::string_view value, core::timestamp now);

  // 429 / 418: refuse everything until `until` (extends, never shortens, a ban).
  void ban_until(core::timestamp until);
  [[nodiscard]] bool banned(core::timestamp now) const;
  [[nodiscard]] core::timestamp banned_until() const;

  // Weight counted in the group's window of `interval` at `now` (for metrics and tests).
  [[nodiscard]] std::int64_t used(std::string_view group, std::chrono::nanoseconds interval,
                                  core::timestamp now) const;

 private:
  struct window {
    rate_limit limit;
    std::int64_t fixed_start = 0;  // fixed: start of the current window, ns since epoch
    std::int64_t fixed_used = 0;
    std::deque<std::pair<std::int64_t, std::int64_t>> entries;  // sliding: (time ns, weight)
    std::int64_t sliding_used = 0;

    void roll(std::int64_t now);
    [[nodiscard]] std::int64_t used_at(std::int64_t now);
    // Earliest time ns at which `weight` more fits.
    [[nodiscard]] std::int64_t room_at(std::int64_t weight, std::int64_t now) const;
    void add(std::int64_t weight, std::int64_t now);
  };

  std::vector<window>& group_windows(std::string_view group);

  mutable std::mutex mutex_;
  std::map<std::string, std::vector<window>, std::less<>> groups_;
  core::timestamp banned_until_;
};

// Group names used by poloniex_futures_defaults(); a connector maps each endpoint to one.
namespace poloniex_group {
inline constexpr std::string_view market = "poloniex.market";                // 300/s
inline constexpr std::string_view market_heavy = "poloniex.market_heavy";    // candles, funding history: 20/s
inline constexpr std::string_view place_order = "poloniex.place_order";      // 50/s
inline constexpr std::string_view place_batch = "poloniex.place_batch";      // 5/s
inline constexpr std::string_view cancel_order = "poloniex.cancel_order";    // 100/s
inline constexpr std::string_view cancel_batch = "poloniex.cancel_batch";    // 10/s
inline constexpr std::string_view cancel_all = "poloniex.cancel_all";        // 10/s
inline constexpr std::string_view close_position = "poloniex.close_position";  // 10/s
inline constexpr std::string_view close_all = "poloniex.close_all";          // 2/s
inline constexpr std::string_view trade_query = "poloniex.trade_query";      // orders, fills, positions, leverage: 10/s
inline constexpr std::string_view balance = "poloniex.balance";              // 50/s
inline constexpr std::string_view bills = "poloniex.bills";                  // 10/s
}  // namespace poloniex_group

namespace binance_group {
inline constexpr std::string_view request_weight = "REQUEST_WEIGHT";
inline constexpr std::string_view orders = "ORDERS";
}  // namespace binance_group

}  // namespace pt::venue
