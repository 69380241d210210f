#include "risk/sizing.hpp"
#include "risk/testing_hooks.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

namespace pt::risk {

using core::rounding;

double kelly_fraction(double p, double b) {
  if (!std::isfinite(p) || !std::isfinite(b) || p < 0 || p > 1 || b <= 0)
    return std::numeric_limits<double>::quiet_NaN();
  return p - (1 - p) / b;
}

std::string_view to_string(news_level n) {
  switch (n) {
    case news_level::absent: return "absent";
    case news_level::low: return "low";
    case news_level::medium: return "medium";
    case news_level::high: return "high";
  }
  return "absent";
}

namespace {

sizing_result reject(sizing_result r, reason_code c, std::string why) {
  r.reject = c;
  r.detail = std::move(why);
  r.quantity = r.base_quantity = r.notional = r.risk_amount = decimal::zero();
  return r;
}

std::string s(decimal d) { return d.to_string(); }

}  // namespace

sizing_result size_position(const risk_config& cfg, const sizing_request& q) {
  sizing_result r;
  const auto& in = q.inst;
  if (!q.equity.is_positive()) return reject(r, reason_code::invalid_input, "equity must be > 0");
  if (!q.entry.is_positive() || !q.stop.is_positive())
    return reject(r, reason_code::invalid_input, "entry and stop must be > 0");
  if (q.direction == side::buy ? q.stop >= q.entry : q.stop <= q.entry)
    return reject(r, reason_code::invalid_input, "stop must be below entry for a buy, above for a sell");
  if (!in.contract_size.is_positive() || !in.lot_size.is_positive())
    return reject(r, reason_code::invalid_input, "contract size and lot size must be > 0");

  r.leverage = applied_leverage(cfg, in.max_leverage);
  if (!r.leverage.is_positive())
    return reject(r, reason_code::no_capacity, "venue max leverage unknown for " + in.symbol);

  // 1. Risk-based amount (§9).
  decimal risk = core::mul(q.equity, cfg.risk_per_trade, rounding::down);
  r.steps.push_back("risk: equity " + s(q.equity) + " x " + s(cfg.risk_per_trade) + " = " + s(risk));

  // 2. Fractional Kelly, never above the risk-based amount.
  if (cfg.kelly_enabled) {
    if (!q.kelly) {
      r.steps.push_back("kelly: no stats, risk-based amount kept");
    } else if (q.kelly->trades < cfg.kelly_min_trades) {
      r.steps.push_back("kelly: " + std::to_string(q.kelly->trades) + " trades < " +
                        std::to_string(cfg.kelly_min_trades) + ", risk-based amount kept");
    } else {
      const double f = kelly_fraction(q.kelly->win_rate, q.kelly->payoff);
      if (std::isnan(f)) return reject(r, reason_code::invalid_input, "kelly stats out of range");
      if (f <= 0) return reject(r, reason_code::no_edge, "kelly f* = " + std::to_string(f) + " <= 0: no edge");
      const decimal fk = core::mul(to_decimal(std::min(f, 1.0), rounding::floor), cfg.kelly_fraction, rounding::down);
      const decimal kamt = core::mul(q.equity, fk, rounding::down);
      r.steps.push_back("kelly: f* " + std::to_string(f) + " x " + s(cfg.kelly_fraction) + " -> " + s(kamt));
      risk = std::min(risk, kamt);
    }
  }

  const decimal dist = core::abs(q.entry - q.stop);
  decimal base = core::div(risk, dist, rounding::down);
  r.steps.push_back("base qty: " + s(risk) + " / " + s(dist) + " = " + s(base));

  // 3. Reductions.
  const auto cut = [&](decimal fraction, const std::string& why) {
    base = core::mul(base, decimal::one() - fraction, rounding::down);
    r.steps.push_back(why + ": x " + s(decimal::one() - fraction) + " -> " + s(base));
  };
  if (q.funding_rate && core::abs(*q.funding_rate) > cfg.funding_reduce_above)
    cut(cfg.funding_size_cut, "funding |" + s(*q.funding_rate) + "| > " + s(cfg.funding_reduce_above));
  if (q.news == news_level::medium) cut(cfg.news_medium_size_cut, "news MEDIUM");
  if (q.news == news_level::absent) r.steps.push_back("news: absent, treated as LOW (no change)");
  double worst = 0;
  std::string worst_sym;
  for (const auto& c : q.correlations) {
    if (!std::isfinite(c.rho) || c.rho < -1 || c.rho > 1)
      return reject(r, reason_code::invalid_input, "correlation with " + c.symbol + " outside [-1, 1]");
    const double eff = c.direction == q.direction ? c.rho : -c.rho;
    if (eff > worst) worst = eff, worst_sym = c.symbol;
  }
  if (worst > 0) cut(to_decimal(worst, rounding::ceil), "correlation " + worst_sym);

  // 4. Notional caps.
  decimal open_total;
  for (const auto& p : q.open) open_total += core::abs(p.notional);
  const decimal max_total = core::mul(q.equity, r.leverage, rounding::down);
  decimal cap = max_total - open_total;
  std::string cap_why = "leverage room " + s(max_total) + " - open " + s(open_total);
  if (!PT_RISK_CHECK_ENABLED(reason_code::leverage_limit)) cap = decimal::max(), cap_why = "no cap";
  const auto tighter = [&](decimal c, const std::string& why) {
    if (c < cap) cap = c, cap_why = why;
  };
  if (PT_RISK_CHECK_ENABLED(reason_code::symbol_exposure))
    tighter(core::mul(cfg.max_symbol_exposure, max_total, rounding::down), "symbol exposure cap");
  if (q.liq.quote_volume_24h)
    tighter(core::mul(*q.liq.quote_volume_24h, cfg.max_volume_participation, rounding::down),
            "thin liquidity: " + s(cfg.max_volume_participation) + " x 24h volume " + s(*q.liq.quote_volume_24h));
  else
    r.steps.push_back("liquidity: 24h volume absent, no volume cap");
  if (q.liq.book_depth_quote)
    tighter(core::mul(*q.liq.book_depth_quote, cfg.max_depth_participation, rounding::down),
            "thin liquidity: " + s(cfg.max_depth_participation) + " x depth " + s(*q.liq.book_depth_quote));
  else
    r.steps.push_back("liquidity: book depth absent, no depth cap");
  if (!cap.is_positive()) return reject(r, reason_code::no_capacity, "no room: " + cap_why);
  if (core::mul(base, q.entry, rounding::ceil) > cap) {
    base = core::div(cap, q.entry, rounding::down);
    r.steps.push_back("capped by " + cap_why + " (" + s(cap) + ") -> " + s(base));
  }

  // 5. Venue quantity, rounded down to the lot.
  r.quantity = core::round_qty_to_lot(core::div(base, in.contract_size, rounding::down), in.lot_size);
  r.base_quantity = core::mul(r.quantity, in.contract_size, rounding::down);
  r.notional = core::notional(q.entry, r.base_quantity, rounding::down);
  r.risk_amount = core::mul(r.base_quantity, dist, rounding::ceil);
  r.steps.push_back("venue qty: " + s(base) + " / " + s(in.contract_size) + " down to lot " + s(in.lot_size) +
                    " = " + s(r.quantity));
  if (!r.quantity.is_positive() || r.quantity < in.min_qty)
    return reject(r, reason_code::size_below_min_qty,
                  "size " + s(r.quantity) + " below min qty " + s(in.min_qty) + " for " + in.symbol);
  if (r.notional < in.min_notional)
    return reject(r, reason_code::size_below_min_notional,
                  "notional " + s(r.notional) + " below min notional " + s(in.min_notional) + " for " + in.symbol);
  return r;
}

}  // namespace pt::risk
