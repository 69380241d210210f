#include "risk/checklist.hpp"
#include "risk/testing_hooks.hpp"

#include <algorithm>

namespace pt::risk {

using core::rounding;

bool checklist_result::approved() const {
  return std::all_of(checks.begin(), checks.end(), [](const auto& c) { return c.passed; });
}

std::vector<check_outcome> checklist_result::failed() const {
  std::vector<check_outcome> out;
  for (const auto& c : checks)
    if (!c.passed) out.push_back(c);
  return out;
}

std::vector<check_outcome> checklist_result::passed() const {
  std::vector<check_outcome> out;
  for (const auto& c : checks)
    if (c.passed) out.push_back(c);
  return out;
}

const check_outcome* checklist_result::find(reason_code code) const {
  for (const auto& c : checks)
    if (c.code == code) return &c;
  return nullptr;
}

std::optional<reason_code> checklist_result::primary_reason() const {
  for (const auto& c : checks)
    if (!c.passed) return c.code;
  return std::nullopt;
}

std::string checklist_result::reason_text() const {
  std::string out;
  for (const auto& c : checks) {
    if (c.passed) continue;
    if (!out.empty()) out += "; ";
    out += std::string(to_string(c.code)) + ": " + c.detail;
  }
  return out;
}

namespace {

std::string s(decimal d) { return d.to_string(); }

bool on_step(decimal v, decimal step) {
  return step.is_positive() && core::round_to_step(v, step, rounding::down) == v;
}

std::string hours(std::chrono::nanoseconds d) {
  return decimal::from_units(d.count() / 3600).to_string() + "h";
}

}  // namespace

checklist_result evaluate_checklist(const risk_config& cfg, const checklist_input& in) {
  checklist_result res;
  const auto add = [&](reason_code c, bool ok, std::string detail) {
#ifdef PT_RISK_TESTING_HOOKS
    if (!PT_RISK_CHECK_ENABLED(c)) ok = true, detail = "DISABLED by the test hook: " + detail;
#endif
    res.checks.push_back({c, ok, std::move(detail)});
  };
  const auto& o = in.order;
  const auto& a = in.account;
  const auto& i = in.inst;

  const decimal base_qty = core::mul(o.quantity, i.contract_size, rounding::down);
  const decimal order_notional = core::notional(o.price, core::abs(base_qty), rounding::ceil);

  const auto order_validity = [&](bool entry) {
    {
      std::string why;
      if (!o.quantity.is_positive()) why = "quantity " + s(o.quantity) + " must be > 0";
      else if (!on_step(o.quantity, i.lot_size)) why = "quantity " + s(o.quantity) + " not a multiple of lot " + s(i.lot_size);
      else if (entry && o.quantity < i.min_qty) why = "quantity " + s(o.quantity) + " below min qty " + s(i.min_qty);
      add(reason_code::order_quantity, why.empty(), why.empty() ? "quantity " + s(o.quantity) + " ok" : why);
    }
    {
      std::string why;
      if (!o.price.is_positive()) why = "price " + s(o.price) + " must be > 0";
      else if (o.type == order_type::limit && !on_step(o.price, i.tick_size))
        why = "limit price " + s(o.price) + " not a multiple of tick " + s(i.tick_size);
      add(reason_code::order_price, why.empty(), why.empty() ? "price " + s(o.price) + " ok" : why);
    }
  };

  if (o.reduce_only) {  // exits are always allowed: only what the venue itself would refuse
    order_validity(false);
    return res;
  }

  add(reason_code::trading_state, in.entries_allowed,
      in.entries_allowed ? "running" : "trading state does not allow entries");

  // 1. Equity floor and daily loss.
  add(reason_code::equity_floor, a.equity >= cfg.min_equity,
      "equity " + s(a.equity) + (a.equity >= cfg.min_equity ? " >= " : " < ") + "floor " + s(cfg.min_equity));
  if (!a.day_open_equity.is_positive()) {
    add(reason_code::daily_loss_limit, false, "day opening equity unknown");
  } else {
    const decimal loss = a.day_open_equity - a.equity;
    const decimal limit = core::mul(a.day_open_equity, cfg.max_daily_loss, rounding::down);
    add(reason_code::daily_loss_limit, loss < limit,
        "loss since UTC day open " + s(loss) + " vs limit " + s(limit));
  }
  // 2. Drawdown from peak.
  if (!a.peak_equity.is_positive()) {
    add(reason_code::drawdown_limit, false, "peak equity unknown");
  } else {
    const decimal dd = a.peak_equity - a.equity;
    const decimal limit = core::mul(a.peak_equity, cfg.max_drawdown, rounding::down);
    add(reason_code::drawdown_limit, dd < limit, "drawdown " + s(dd) + " vs limit " + s(limit));
  }
  // 3. Position limit.
  const auto n = static_cast<int>(a.positions.size());
  add(reason_code::position_limit, n < cfg.max_positions,
      std::to_string(n) + " open, limit " + std::to_string(cfg.max_positions));
  // 4. Leverage: total notional after the order against equity x cap.
  decimal open_total;
  for (const auto& p : a.positions) open_total += core::abs(p.notional);
  {
    const decimal cap = leverage_cap(cfg, i.max_leverage);
    const decimal total = open_total + order_notional;
    const bool ok = a.equity.is_positive() && cap.is_positive() &&
                    total <= core::mul(a.equity, cap, rounding::down);
    add(reason_code::leverage_limit, ok,
        "notional " + s(total) + " vs equity " + s(a.equity) + " x " + s(cap));
  }
  // 5. Consecutive losses; losses in 24h (breaker table).
  add(reason_code::consecutive_losses, in.losses.consecutive_losses < cfg.max_consecutive_losses,
      std::to_string(in.losses.consecutive_losses) + " consecutive, limit " + std::to_string(cfg.max_consecutive_losses));
  add(reason_code::losses_24h, in.losses.losses_24h < cfg.max_losses_24h,
      std::to_string(in.losses.losses_24h) + " in 24h, limit " + std::to_string(cfg.max_losses_24h));
  // 6. Cooldowns: strictly more than the period must have passed (§9 "Time since ... >").
  const auto cooldown = [&](reason_code c, const std::optional<timestamp>& since, std::chrono::nanoseconds period,
                            const char* what) {
    const bool ok = !since || (in.now - *since) > period;
    add(c, ok, since ? std::string(what) + " at " + since->to_iso8601() + ", cooldown " + hours(period)
                     : std::string("no ") + what);
  };
  cooldown(reason_code::cooldown_after_loss, in.losses.last_loss, cfg.cooldown_after_loss, "loss");
  cooldown(reason_code::cooldown_after_daily_loss, in.losses.last_daily_loss_hit, cfg.cooldown_after_daily_loss,
           "max daily loss");
  cooldown(reason_code::cooldown_after_stop_out, in.losses.last_stop_out_symbol, cfg.cooldown_after_stop_out,
           "stop-out on this symbol");
  // 7. Symbol exposure: no position in the symbol yet, and within the per-symbol cap.
  {
    const bool exposed = std::any_of(a.positions.begin(), a.positions.end(),
                                     [&](const auto& p) { return p.symbol == o.symbol; });
    const decimal cap = core::mul(core::mul(a.equity, applied_leverage(cfg, i.max_leverage), rounding::down),
                                  cfg.max_symbol_exposure, rounding::down);
    add(reason_code::symbol_exposure, !exposed && order_notional <= cap,
        exposed ? "already exposed to " + o.symbol : "notional " + s(order_notional) + " vs cap " + s(cap));
  }
  // 8. Stop present, on the losing side of the entry, within k x ATR.
  add(reason_code::stop_missing, o.stop.has_value() && o.stop->is_positive(),
      o.stop ? "stop " + s(*o.stop) : "entry without a stop");
  const bool right_side = o.stop && (o.direction == side::buy ? *o.stop < o.price : *o.stop > o.price);
  add(reason_code::stop_wrong_side, right_side,
      o.stop ? std::string(o.direction == side::buy ? "buy" : "sell") + " entry " + s(o.price) + ", stop " + s(*o.stop)
             : "entry without a stop");
  if (!o.stop) {
    add(reason_code::stop_too_far, false, "entry without a stop");
  } else if (!in.market.atr || !in.market.atr->is_positive()) {
    add(reason_code::stop_too_far, false, "ATR unknown: stop distance cannot be judged");
  } else {
    const decimal dist = core::abs(o.price - *o.stop);
    const decimal max = core::mul(*in.market.atr, cfg.max_stop_atr_multiple, rounding::down);
    add(reason_code::stop_too_far, dist <= max, "stop distance " + s(dist) + " vs " + s(max) + " (ATR x " +
                                                    s(cfg.max_stop_atr_multiple) + ")");
  }
  // 9. Funding: unknown fails closed; above the block threshold blocks (the size cut for the
  // lower threshold is sizing's job).
  if (!in.market.funding_rate) {
    add(reason_code::funding_rate, false, "funding rate unknown");
  } else {
    const decimal f = core::abs(*in.market.funding_rate);
    add(reason_code::funding_rate, f <= cfg.funding_block_above,
        "|funding| " + s(f) + " vs block above " + s(cfg.funding_block_above));
  }
  // 10. News: HIGH now or within the block window blocks; absent is neutral (like LOW).
  {
    const auto& m = in.market;
    const bool recent_high = m.last_high_news && (in.now - *m.last_high_news) < cfg.news_high_block;
    const bool ok = m.news != news_level::high && !recent_high;
    add(reason_code::news_risk, ok,
        "news " + std::string(to_string(m.news)) + (m.news == news_level::absent ? " (neutral, as LOW)" : "") +
            (recent_high ? ", HIGH within the block window" : ""));
  }
  // 11. Projected margin ratio = (maintenance margin + notional x mmr) / equity < max.
  {
    const decimal mm = a.maintenance_margin + core::mul(order_notional, i.maintenance_margin_rate, rounding::ceil);
    const decimal limit = core::mul(a.equity, cfg.max_margin_ratio, rounding::down);
    add(reason_code::margin_ratio, a.equity.is_positive() && mm < limit,
        "projected maintenance margin " + s(mm) + " vs " + s(cfg.max_margin_ratio) + " x equity = " + s(limit));
  }
  // 12. Order validity.
  order_validity(true);
  // Rounded down here (the caps above round up): both err toward refusing.
  const decimal notional_down = core::notional(o.price, core::abs(base_qty), rounding::down);
  add(reason_code::order_notional, notional_down >= i.min_notional,
      "notional " + s(notional_down) + " vs min " + s(i.min_notional));
  return res;
}

}  // namespace pt::risk
