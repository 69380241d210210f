#pragma once
// Binance USD-M's dead-man switch, POST /fapi/v1/countdownCancelAll (exchanges.md B5), as a table
// of timers: one per (account, symbol). What the venue documents (BDOC "Auto-Cancel All Open
// Orders (TRADE)", developers.binance.com/docs/derivatives/usds-margined-futures/trade/rest-api/
// Auto-Cancel-All-Open-Orders):
//   - at the end of the countdown all open orders of the symbol are cancelled;
//   - each call replaces the running countdown by a new one (the call is the heartbeat);
//   - countdownTime 0 stops the timer;
//   - the venue checks all countdowns about every 10 ms.
// The table is clock-free like the exchange: every call carries `now` in the caller's milliseconds
// (venue-sim passes a monotonic wall clock, see its README). A timer that ran out is removed: it
// fires once, and a later call arms a new one (the fapi page says nothing of a state after firing;
// the options endpoint's "new orders rejected until the next heartbeat" is not documented for fapi).
// Which orders go is the caller's to do (venue-sim: exchange::cancel_all, regular orders only).
#include "matching/order_book.hpp"

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace pt::sim {

class cancel_countdown {
 public:
  using account_id = matching::owner_id;

  struct timer {
    account_id account = 0;
    std::string symbol;
    std::int64_t countdown_ms = 0;  // as last armed
    std::int64_t deadline = 0;      // caller's clock, ms
  };

  // Arms or re-arms (the new deadline replaces the old, earlier or later) the timer of
  // (account, symbol) to `now + countdown_ms`; countdown_ms <= 0 disarms it. A deadline past the
  // int64 range saturates.
  void set(account_id account, const std::string& symbol, std::int64_t countdown_ms, std::int64_t now);
  // Removes and returns every timer whose deadline is <= now, earliest first.
  [[nodiscard]] std::vector<timer> take_due(std::int64_t now);
  // The earliest deadline, if any timer runs.
  [[nodiscard]] std::optional<std::int64_t> next_deadline() const;
  // The running timers of one account, by symbol.
  [[nodiscard]] std::vector<timer> armed(account_id account) const;
  [[nodiscard]] bool empty() const { return timers_.empty(); }

 private:
  std::map<std::pair<account_id, std::string>, timer> timers_;
};

}  // namespace pt::sim
