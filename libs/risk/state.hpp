#pragma once
// The trading-state machine and the circuit breakers (seed 004 §9 "Circuit Breakers", "Kill
// Switch Behavior"; issue 4 item 4).
//
// States, ranked; the effective state is the highest one whose condition holds:
//   running         autonomous enabled, no breaker, no safe-stop, no kill switch: entries,
//                   reductions and cancels allowed.
//   autonomous_off  the operator has not enabled (or disabled) autonomous trading: no new
//                   entries; reductions, cancels and protective stops go on. The initial state.
//   breaker_halt    a circuit breaker is tripped: no new entries until it resets (time-based
//                   or manual ack, per breaker); breakers may also demand cancelling open
//                   orders or reducing positions (actions()).
//   safe_stop       the fleet is being stopped (ctl.trading.safe_stop): no new entries;
//                   positions stay open under their protective stops; cleared by resume.
//   kill_switch     latched (operator trigger or drawdown breaker): no new entries, cancel
//                   every open order and flatten every position (execution does it; this
//                   library only says "must flatten"). Only reset_kill_switch() clears it, and
//                   it leaves autonomous trading disabled, so restarting takes a second,
//                   deliberate enable (§9 "Require manual intervention to restart").
// In every state reducing and cancelling are allowed.
//
// The machine holds no clock: every call takes `now`. tick(now) applies the time-based resets.
#include "risk/checklist.hpp"
#include "risk/limits.hpp"
#include "risk/types.hpp"

#include <deque>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pt::risk {

enum class trading_state { running, autonomous_off, breaker_halt, safe_stop, kill_switch };
[[nodiscard]] std::string_view to_string(trading_state s);

enum class breaker {
  daily_loss,          // loss vs UTC day open >= max_daily_loss: halt cooldown_after_daily_loss (24h)
  consecutive_losses,  // >= max_consecutive_losses: halt cooldown_after_loss (4h), streak reset after
  losses_24h,          // >= max_losses_24h losses within 24h: halt 24h
  venue_disconnect,    // disconnected > 5 min: cancel open orders; reset: connected + manual ack
  margin_ratio,        // margin ratio > 90 %: reduce positions by 50 %; reset: ratio < 70 %
  guardian_stale,      // the guardian's mark stream is stale (issue 4 item 6): reset when fresh
};
[[nodiscard]] std::string_view to_string(breaker b);

struct breaker_trip {
  breaker id;
  timestamp tripped_at;
  std::optional<timestamp> resets_at;  // time-based reset; empty: manual or condition-based
  std::string reason;
};

// Day-open and peak equity from mark-to-market updates. The day rolls at 00:00 UTC: the first
// update at or after midnight becomes the new day's opening equity (if updates stop over
// midnight, the first one after is the best figure we have).
class equity_tracker {
 public:
  void update(timestamp now, decimal equity);
  [[nodiscard]] bool has_value() const { return day_.has_value(); }
  [[nodiscard]] decimal day_open() const { return day_open_; }
  [[nodiscard]] decimal peak() const { return peak_; }
  [[nodiscard]] decimal last() const { return last_; }
  [[nodiscard]] std::int64_t utc_day() const { return day_.value_or(0); }  // days since epoch
  // The operator's kill-switch reset accepts the loss: drawdown is measured from here on.
  void rebase_peak() { peak_ = last_; }

 private:
  std::optional<std::int64_t> day_;
  decimal day_open_, peak_, last_;
};

// What the execution service must do now, beyond refusing entries.
struct required_actions {
  bool flatten_all = false;        // kill switch
  bool cancel_open_orders = false;  // kill switch, venue disconnect breaker
  std::optional<decimal> reduce_positions_by;  // margin ratio breaker: fraction (0.5)
};

struct state_event {  // for risk.breaker.* / risk.killswitch and the ledger
  timestamp at;
  std::string what;  // "breaker.daily_loss.tripped", "killswitch.triggered", "state.running" ...
  std::string reason;
};

class trading_state_machine {
 public:
  explicit trading_state_machine(risk_config cfg);

  // Operator commands.
  void enable_autonomous(timestamp now);
  void disable_autonomous(timestamp now);
  void safe_stop(timestamp now);
  void resume(timestamp now);  // leaves safe-stop
  void trigger_kill_switch(timestamp now, std::string reason);
  // Autonomous stays disabled afterwards, and the peak is re-based to the last equity (else
  // the realised drawdown would trip the kill switch again at the next equity update).
  void reset_kill_switch(timestamp now);
  // Manual reset of a breaker that needs one; false when not tripped or not yet allowed
  // (venue_disconnect needs the venue connected again).
  bool ack_breaker(timestamp now, breaker b);

  // Inputs.
  void on_equity(timestamp now, decimal equity);  // mark-to-market; daily loss and drawdown
  void on_trade_closed(timestamp now, const std::string& symbol, decimal pnl, bool stopped_out);
  void on_venue_connectivity(timestamp now, bool connected);
  void on_margin_ratio(timestamp now, decimal ratio);  // maintenance margin / margin balance
  void on_guardian(timestamp now, bool mark_stream_stale);
  void tick(timestamp now);  // time-based resets, disconnect timer

  // Answers.
  [[nodiscard]] trading_state state() const;
  [[nodiscard]] bool allows_entry() const { return state() == trading_state::running; }
  [[nodiscard]] static constexpr bool allows_reduce() { return true; }
  [[nodiscard]] static constexpr bool allows_cancel() { return true; }
  [[nodiscard]] bool must_flatten() const { return kill_; }
  [[nodiscard]] required_actions actions() const;
  [[nodiscard]] const std::vector<breaker_trip>& breakers() const { return trips_; }
  [[nodiscard]] bool tripped(breaker b) const;
  [[nodiscard]] const std::optional<std::string>& kill_reason() const { return kill_reason_; }
  [[nodiscard]] const equity_tracker& equity() const { return eq_; }
  // The checklist's loss figures for `symbol` at `now`.
  [[nodiscard]] loss_stats stats(timestamp now, const std::string& symbol) const;
  // Events since the last call, oldest first.
  [[nodiscard]] std::vector<state_event> take_events();

 private:
  void trip(timestamp now, breaker b, std::optional<timestamp> resets_at, std::string reason);
  void clear(timestamp now, breaker b, const std::string& why);
  void event(timestamp now, std::string what, std::string reason);

  risk_config cfg_;
  equity_tracker eq_;
  bool autonomous_ = false;
  bool safe_stop_ = false;
  bool kill_ = false;
  std::optional<std::string> kill_reason_;
  std::vector<breaker_trip> trips_;
  int consecutive_ = 0;
  std::deque<timestamp> losses_;
  std::optional<timestamp> last_loss_, last_daily_hit_;
  std::optional<std::int64_t> daily_hit_day_;  // UTC day of last_daily_hit_
  std::map<std::string, timestamp> last_stop_out_;
  bool connected_ = true;
  std::optional<timestamp> disconnected_since_;
  std::vector<state_event> events_;
};

}  // namespace pt::risk
