#include "risk/state.hpp"
#include "risk/testing_hooks.hpp"

#include <algorithm>

namespace pt::risk {

using core::rounding;

std::string_view to_string(trading_state s) {
  switch (s) {
    case trading_state::running: return "running";
    case trading_state::autonomous_off: return "autonomous_off";
    case trading_state::breaker_halt: return "breaker_halt";
    case trading_state::safe_stop: return "safe_stop";
    case trading_state::kill_switch: return "kill_switch";
  }
  return "kill_switch";
}

std::string_view to_string(breaker b) {
  switch (b) {
    case breaker::daily_loss: return "daily_loss";
    case breaker::consecutive_losses: return "consecutive_losses";
    case breaker::losses_24h: return "losses_24h";
    case breaker::venue_disconnect: return "venue_disconnect";
    case breaker::margin_ratio: return "margin_ratio";
    case breaker::guardian_stale: return "guardian_stale";
  }
  return "unknown";
}

namespace {
constexpr std::int64_t ns_per_day = 86'400'000'000'000;
std::int64_t utc_day_of(timestamp t) {  // floor division: days before 1970 stay correct
  const std::int64_t n = t.nanos();
  return n >= 0 ? n / ns_per_day : -((-n + ns_per_day - 1) / ns_per_day);
}
std::string s(decimal d) { return d.to_string(); }
}  // namespace

void equity_tracker::update(timestamp now, decimal equity) {
  const std::int64_t day = utc_day_of(now);
  if (!day_) {
    day_ = day;
    day_open_ = peak_ = equity;
  } else if (day > *day_) {
    day_ = day;
    day_open_ = equity;
  }
  last_ = equity;
  peak_ = std::max(peak_, equity);
}

trading_state_machine::trading_state_machine(risk_config cfg) : cfg_(std::move(cfg)) { validate(cfg_); }

void trading_state_machine::event(timestamp now, std::string what, std::string reason) {
  events_.push_back({now, std::move(what), std::move(reason)});
}

std::vector<state_event> trading_state_machine::take_events() {
  std::vector<state_event> out;
  out.swap(events_);
  return out;
}

void trading_state_machine::enable_autonomous(timestamp now) {
  tick(now);
  if (!autonomous_) event(now, "autonomous.enabled", "operator");
  autonomous_ = true;
}
void trading_state_machine::disable_autonomous(timestamp now) {
  tick(now);
  if (autonomous_) event(now, "autonomous.disabled", "operator");
  autonomous_ = false;
}
void trading_state_machine::safe_stop(timestamp now) {
  tick(now);
  if (!safe_stop_) event(now, "safe_stop.entered", "operator");
  safe_stop_ = true;
}
void trading_state_machine::resume(timestamp now) {
  tick(now);
  if (safe_stop_) event(now, "safe_stop.left", "operator");
  safe_stop_ = false;
}
void trading_state_machine::trigger_kill_switch(timestamp now, std::string reason) {
  if (kill_) return;  // latched: the first reason stands
  kill_ = true;
  kill_reason_ = reason;
  event(now, "killswitch.triggered", std::move(reason));
}
void trading_state_machine::reset_kill_switch(timestamp now) {
  if (!kill_) return;
  kill_ = false;
  kill_reason_.reset();
  autonomous_ = false;
  eq_.rebase_peak();
  event(now, "killswitch.reset", "operator; autonomous stays disabled");
}

bool trading_state_machine::tripped(breaker b) const {
  return std::any_of(trips_.begin(), trips_.end(), [&](const auto& t) { return t.id == b; });
}

void trading_state_machine::trip(timestamp now, breaker b, std::optional<timestamp> resets_at, std::string reason) {
  if (tripped(b)) return;
  trips_.push_back({b, now, resets_at, reason});
  event(now, "breaker." + std::string(to_string(b)) + ".tripped", std::move(reason));
}

void trading_state_machine::clear(timestamp now, breaker b, const std::string& why) {
  const auto it = std::find_if(trips_.begin(), trips_.end(), [&](const auto& t) { return t.id == b; });
  if (it == trips_.end()) return;
  trips_.erase(it);
  if (b == breaker::consecutive_losses) consecutive_ = 0;  // the cooldown served, the streak starts over
  event(now, "breaker." + std::string(to_string(b)) + ".reset", why);
}

void trading_state_machine::tick(timestamp now) {
  std::vector<breaker> due;
  for (const auto& t : trips_)
    if (t.resets_at && now >= *t.resets_at) due.push_back(t.id);
  for (auto b : due) clear(now, b, "cooldown elapsed");
  while (!losses_.empty() && now - losses_.front() >= hard::losses_window) losses_.pop_front();
  if (!connected_ && disconnected_since_ && now - *disconnected_since_ > hard::max_disconnect)
    trip(now, breaker::venue_disconnect, std::nullopt,
         "venue disconnected since " + disconnected_since_->to_iso8601());
}

bool trading_state_machine::ack_breaker(timestamp now, breaker b) {
  tick(now);
  if (b != breaker::venue_disconnect || !tripped(b) || !connected_) return false;
  clear(now, b, "reconnected and acknowledged");
  return true;
}

void trading_state_machine::on_equity(timestamp now, decimal equity) {
  tick(now);
  eq_.update(now, equity);
  const decimal loss = eq_.day_open() - equity;
  const decimal daily_limit = core::mul(eq_.day_open(), cfg_.max_daily_loss, rounding::down);
  // A hit is the first time in a UTC day the loss reaches the limit; each one starts the 24h
  // halt and cooldown, also while the previous day's halt still runs (then it restarts: a second
  // "tripped" event). The property test found entries 24h after the first of two such hits.
  if (PT_RISK_CHECK_ENABLED(reason_code::daily_loss_limit) && eq_.day_open().is_positive() && loss >= daily_limit &&
      (!tripped(breaker::daily_loss) || daily_hit_day_ != eq_.utc_day())) {
    last_daily_hit_ = now;
    daily_hit_day_ = eq_.utc_day();
    const auto until = now + cfg_.cooldown_after_daily_loss;
    std::string why = "loss " + s(loss) + " since UTC day open " + s(eq_.day_open()) + " >= " + s(daily_limit);
    const auto it = std::find_if(trips_.begin(), trips_.end(), [](const auto& t) { return t.id == breaker::daily_loss; });
    if (it == trips_.end()) {
      trip(now, breaker::daily_loss, until, std::move(why));
    } else {
      it->tripped_at = now;
      it->resets_at = until;
      it->reason = why + " (a new UTC day: the halt restarts)";
      event(now, "breaker.daily_loss.tripped", it->reason);
    }
  }
  const decimal dd = eq_.peak() - equity;
  const decimal dd_limit = core::mul(eq_.peak(), cfg_.max_drawdown, rounding::down);
  // Latched already: the first reason stands, and no message is built on every mark.
  if (PT_RISK_CHECK_ENABLED(reason_code::drawdown_limit) && !kill_ && eq_.peak().is_positive() && dd >= dd_limit)
    trigger_kill_switch(now, "DRAWDOWN_LIMIT: drawdown " + s(dd) + " from peak " + s(eq_.peak()) + " >= " + s(dd_limit));
}

void trading_state_machine::on_trade_closed(timestamp now, const std::string& symbol, decimal pnl, bool stopped_out) {
  tick(now);
  if (stopped_out) last_stop_out_[symbol] = now;
  if (!pnl.is_negative()) {
    consecutive_ = 0;
    return;
  }
  ++consecutive_;
  last_loss_ = now;
  losses_.push_back(now);
  if (PT_RISK_CHECK_ENABLED(reason_code::consecutive_losses) && consecutive_ >= cfg_.max_consecutive_losses)
    trip(now, breaker::consecutive_losses, now + cfg_.cooldown_after_loss,
         std::to_string(consecutive_) + " consecutive losses");
  if (PT_RISK_CHECK_ENABLED(reason_code::losses_24h) && static_cast<int>(losses_.size()) >= cfg_.max_losses_24h)
    trip(now, breaker::losses_24h, now + hard::losses_24h_cooldown,
         std::to_string(losses_.size()) + " losses within 24h");
}

void trading_state_machine::on_venue_connectivity(timestamp now, bool connected) {
  if (connected) {
    connected_ = true;
    disconnected_since_.reset();
  } else if (connected_) {
    connected_ = false;
    disconnected_since_ = now;
  }
  tick(now);
}

void trading_state_machine::on_margin_ratio(timestamp now, decimal ratio) {
  tick(now);
  if (ratio > hard::margin_breaker_trip)
    trip(now, breaker::margin_ratio, std::nullopt, "margin ratio " + s(ratio) + " > " + s(hard::margin_breaker_trip));
  else if (ratio < hard::margin_breaker_reset)
    clear(now, breaker::margin_ratio, "margin ratio " + s(ratio) + " < " + s(hard::margin_breaker_reset));
}

void trading_state_machine::on_guardian(timestamp now, bool stale) {
  tick(now);
  if (stale)
    trip(now, breaker::guardian_stale, std::nullopt, "guardian mark stream stale");
  else
    clear(now, breaker::guardian_stale, "guardian mark stream fresh");
}

trading_state trading_state_machine::state() const {
  if (kill_) return trading_state::kill_switch;
  if (safe_stop_) return trading_state::safe_stop;
  if (!trips_.empty()) return trading_state::breaker_halt;
  if (!autonomous_) return trading_state::autonomous_off;
  return trading_state::running;
}

required_actions trading_state_machine::actions() const {
  required_actions a;
  a.flatten_all = kill_;
  a.cancel_open_orders = kill_ || tripped(breaker::venue_disconnect);
  if (tripped(breaker::margin_ratio)) a.reduce_positions_by = hard::margin_breaker_reduce;
  return a;
}

loss_stats trading_state_machine::stats(timestamp now, const std::string& symbol) const {
  loss_stats l;
  l.consecutive_losses = consecutive_;
  l.losses_24h = static_cast<int>(std::count_if(losses_.begin(), losses_.end(),
                                                [&](timestamp t) { return now - t < hard::losses_window; }));
  l.last_loss = last_loss_;
  l.last_daily_loss_hit = last_daily_hit_;
  if (auto it = last_stop_out_.find(symbol); it != last_stop_out_.end()) l.last_stop_out_symbol = it->second;
  return l;
}

}  // namespace pt::risk
