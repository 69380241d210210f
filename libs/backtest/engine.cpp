#include "backtest/engine.hpp"

#include "replay/bar_path.hpp"
#include "replay/book_synth.hpp"
#include "risk/checklist.hpp"
#include "risk/state.hpp"
#include "risk/limits.hpp"
#include "risk/sizing.hpp"
#include "sim/exchange.hpp"
#include "venue/catalog.hpp"

#include <algorithm>
#include <array>
#include <deque>
#include <filesystem>
#include <map>
#include <set>
#include <utility>

namespace pt::backtest {

namespace {

using core::decimal;
using core::rounding;
using core::timestamp;

constexpr std::int64_t hour_ms = 3600LL * 1000;
constexpr std::int64_t day_ms = 24 * hour_ms;

decimal dec(std::int64_t n) { return decimal::from_integer(n); }
timestamp ms_to_ts(std::int64_t ms) { return timestamp::from_millis(ms); }

std::optional<strategy::timeframe> tf_of_ms(std::int64_t ms) {
  switch (ms) {
    case 60'000: return strategy::timeframe::m1;
    case 300'000: return strategy::timeframe::m5;
    case 900'000: return strategy::timeframe::m15;
    case hour_ms: return strategy::timeframe::h1;
    case 4 * hour_ms: return strategy::timeframe::h4;
    case day_ms: return strategy::timeframe::d1;
    default: return std::nullopt;
  }
}

strategy::bar to_strategy_bar(const replay::bar& b) {
  return strategy::bar{ms_to_ts(b.open_time_ms), b.open, b.high, b.low, b.close, b.volume};
}

// Floor division aligned to the UTC epoch.
std::int64_t bucket_of(std::int64_t t, std::int64_t period) { return t - (((t % period) + period) % period); }

// One higher timeframe built from the base bars: emits a bar when the base bar that ends its
// period closes and every base bar of the period was seen (an incomplete period is dropped).
struct aggregate {
  std::int64_t period = 0;
  strategy::timeframe tf{};
  std::optional<replay::bar> cur;
  std::int64_t count = 0;

  std::optional<replay::bar> add(const replay::bar& b, std::int64_t base_ms) {
    const std::int64_t bucket = bucket_of(b.open_time_ms, period);
    if (!cur || cur->open_time_ms != bucket) {
      cur = b;
      cur->open_time_ms = bucket;
      count = 0;
    } else {
      cur->high = std::max(cur->high, b.high);
      cur->low = std::min(cur->low, b.low);
      cur->close = b.close;
      cur->volume += b.volume;
    }
    ++count;
    if (b.open_time_ms + base_ms == bucket + period) {
      std::optional<replay::bar> out;
      if (count == period / base_ms) out = cur;
      cur.reset();
      return out;
    }
    return std::nullopt;
  }
};

struct open_trade {
  int dir = 1;
  timestamp entry_time;
  decimal entry_qty, entry_notional, exit_qty, exit_notional;
  decimal realised, fees, funding, slippage;
  std::string exit_reason;
};

struct pending_action {
  enum class kind { entry, close, move_stop } k = kind::entry;
  std::int64_t due_ms = 0;
  std::size_t sym = 0;
  venue::side s = venue::side::buy;
  decimal qty;
  decimal stop;
  std::optional<decimal> take_profit;
  std::string reason;
};

struct symbol_state {
  const symbol_data* data = nullptr;
  std::unique_ptr<strategy::strategy> strat;
  std::vector<aggregate> aggs;  // longest period first
  std::deque<replay::bar> atr_bars;  // last closed bars of the ATR timeframe
  std::optional<aggregate> atr_agg;  // when the ATR timeframe is not the base one
  std::size_t funding_applied = 0;   // next funding row to settle on the exchange
  std::size_t funding_fed = 0;       // next funding row to hand to the strategy
  std::optional<open_trade> trade;
  decimal best_price;
  std::optional<decimal> stop;  // the protective stop in force
  std::string stop_client_id;
  std::array<decimal, 4> path_price{};
  std::int64_t bar_index = 0;  // index of the bar being walked (for the synthetic book seed)
};

std::string side_name(venue::side s) { return s == venue::side::buy ? "buy" : "sell"; }

class engine {
 public:
  engine(const engine_config& cfg, const std::vector<symbol_data>& data) : cfg_(cfg), data_(data) {}

  engine_result run();

  // Listener callbacks (the exchange calls them synchronously).
  void on_fill(const venue::fill& f);
  void on_bill(const venue::bill& b);
  void on_order(const venue::order& o);

 private:
  struct forward final : sim::listener {
    engine* e = nullptr;
    void on_fill(sim::account_id, const venue::fill& f) override { e->on_fill(f); }
    void on_bill(sim::account_id, const venue::bill& b) override { e->on_bill(b); }
    void on_order(sim::account_id, const venue::order& o) override { e->on_order(o); }
  };

  std::size_t index_of(const std::string& symbol) const {
    for (std::size_t i = 0; i < syms_.size(); ++i)
      if (syms_[i].data->symbol == symbol) return i;
    throw engine_error("unknown symbol in an exchange event: " + symbol);
  }
  // The engine's exchange holds its one account (one-way mode), so the symbol's net position is
  // this account's: no position views built on every path point.
  decimal position_qty(std::size_t i) const { return ex_->net_position(syms_[i].data->symbol); }
  std::optional<venue::position> position_of(std::size_t i) const {
    for (const auto& p : ex_->positions(acct_))
      if (p.symbol == syms_[i].data->symbol && !p.qty.is_zero()) return p;
    return std::nullopt;
  }
  decimal equity() const { return ex_->balance(acct_).equity - slippage_total_; }
  void log(std::int64_t at_ms, std::string kind, std::size_t i, std::string side, decimal qty, decimal price,
           std::string text) {
    decisions_.push_back({ms_to_ts(at_ms), std::move(kind), syms_[i].data->symbol, std::move(side), qty, price,
                          std::move(text)});
  }

  // The risk state machine's events (breaker tripped / reset, kill switch) into the decisions
  // log as kind "risk", symbol "" (they are account-wide); drained so they never pile up.
  void drain_risk_events() {
    for (auto& e : sm_->take_events())
      decisions_.push_back({e.at, "risk", "", "", decimal::zero(), decimal::zero(), e.what + ": " + e.reason});
  }

  void move_market(std::size_t i, decimal price, std::int64_t point, std::int64_t t);
  bool force_book_ = false;  // the end-of-data close: the last point's book, whatever rests
  void settle_funding(std::size_t i, std::int64_t t);
  void run_due_actions(std::int64_t t);
  void execute(const pending_action& a, std::int64_t t);
  void place_protection(std::size_t i, decimal stop, const std::optional<decimal>& tp, std::int64_t t);
  void market_close(std::size_t i, const std::string& reason, std::int64_t t);
  void housekeeping(std::int64_t t);
  void decide(std::size_t i, const replay::bar& b, std::int64_t now_ms, bool trading);
  void propose(std::size_t i, const strategy::trade_proposal& p, const replay::bar& b, std::int64_t now_ms);
  std::optional<decimal> atr(std::size_t i) const;
  std::optional<decimal> last_funding(std::size_t i, std::int64_t now_ms) const;

  const engine_config& cfg_;
  const std::vector<symbol_data>& data_;
  std::vector<venue::instrument> instruments_;
  std::unique_ptr<sim::exchange> ex_;
  forward fwd_;
  sim::account_id acct_ = 0;
  std::vector<symbol_state> syms_;
  std::int64_t base_ms_ = 0;
  std::int64_t atr_period_ms_ = 0;
  std::vector<pending_action> pending_;
  std::map<std::string, std::string> exit_reasons_;  // client id -> exit reason
  std::uint64_t next_id_ = 1;
  decimal slippage_total_;
  decimal slip_rate_;
  std::int64_t now_ms_ = 0;
  risk::risk_config risk_;
  // The risk service's own state machine (libs/risk/state.hpp): loss history, day-open and peak
  // equity, the circuit breakers with their cooldowns and the drawdown kill switch. Entries are
  // refused while it does not allow them; a kill switch flattens every position and latches.
  std::optional<risk::trading_state_machine> sm_;
  bool killed_ = false;

  std::vector<trade_record> trades_;
  std::vector<equity_point> curve_;
  std::vector<decision_record> decisions_;
};

void engine::on_fill(const venue::fill& f) {
  const std::size_t i = index_of(f.symbol);
  symbol_state& s = syms_[i];
  const decimal cs = s.data->instrument.contract_size;
  const decimal notional = core::mul(f.price, f.qty * cs, rounding::half_even);
  const decimal slip = f.role == venue::liquidity::taker ? core::mul(notional, slip_rate_, rounding::ceil) : decimal::zero();
  const int dir = f.s == venue::side::buy ? 1 : -1;
  if (!s.trade) {
    s.trade = open_trade{};
    s.trade->dir = dir;
    s.trade->entry_time = ms_to_ts(f.time);
    s.best_price = f.price;
  }
  open_trade& t = *s.trade;
  if (dir == t.dir) {
    t.entry_qty += f.qty;
    t.entry_notional += core::mul(f.price, f.qty, rounding::half_even);
  } else {
    t.exit_qty += f.qty;
    t.exit_notional += core::mul(f.price, f.qty, rounding::half_even);
    if (t.exit_reason.empty()) {
      const std::string& c = f.client_id;
      if (c.rfind("sl-", 0) == 0) t.exit_reason = "stop_loss";
      else if (c.rfind("tp-", 0) == 0) t.exit_reason = "take_profit";
      else if (auto it = exit_reasons_.find(c); it != exit_reasons_.end()) t.exit_reason = it->second;
      else t.exit_reason = "other";
    }
  }
  t.fees += f.fee;
  t.realised += f.realised_pnl.value_or(decimal::zero());
  t.slippage += slip;
  slippage_total_ += slip;
  log(f.time, "fill", i, side_name(f.s), f.qty, f.price, f.client_id);
}

void engine::on_bill(const venue::bill& b) {
  if (b.symbol.empty()) return;
  const std::size_t i = index_of(b.symbol);
  symbol_state& s = syms_[i];
  if (!s.trade) return;
  if (b.type == venue::bill_type::funding) s.trade->funding -= b.amount;
  if (b.type == venue::bill_type::liquidation) {
    s.trade->realised += b.amount;  // realised PnL at mark minus the liquidation fee
    s.trade->exit_reason = "liquidation";
  }
}

void engine::on_order(const venue::order& o) {
  if (o.reject_or_cancel_reason != "liquidation") return;
  const std::size_t i = index_of(o.symbol);
  symbol_state& s = syms_[i];
  if (s.trade) {
    s.trade->exit_qty += o.filled_qty;
    s.trade->exit_notional += core::mul(o.avg_price, o.filled_qty, rounding::half_even);
  }
  log(o.update_time, "liquidation", i, side_name(o.s), o.filled_qty, o.avg_price, "");
}

void engine::move_market(std::size_t i, decimal price, std::int64_t point, std::int64_t t) {
  symbol_state& s = syms_[i];
  const venue::instrument& inst = *ex_->find_instrument(s.data->symbol);
  std::vector<venue::book_level> bids, asks;
  // The book only matters when something can trade against it at this point: an open position
  // (its stop or take-profit may trigger), a resting order, or an action due now. Otherwise the
  // price alone moves (most bars of a trend strategy): each point's synthetic book is seeded by
  // its bar and point, not by a running stream, so skipping one changes no other.
  const std::string& sym = s.data->symbol;
  const bool flat = position_qty(i).is_zero() && ex_->open_orders(acct_, sym).empty() &&
                    ex_->open_conditionals(acct_, sym).empty();
  // Flat, nothing resting, nothing queued: no price of this symbol can fill, trigger, liquidate
  // or be charged funding, so the matching core is not moved at all (most bars of most
  // strategies). The first point with something to do moves it again before acting.
  if (flat && std::none_of(pending_.begin(), pending_.end(), [&](const pending_action& a) { return a.sym == i; })) return;
  // The book is consumed only by an order: one due now, one resting, or a conditional this price
  // triggers (a market order then). A position whose stop and take-profit stay untouched needs
  // the price and the mark only; liquidation works at the mark, without the book.
  const bool book_matters =
      force_book_ || std::any_of(pending_.begin(), pending_.end(), [&](const pending_action& a) { return a.sym == i && a.due_ms <= t; }) ||
      !ex_->open_orders(acct_, sym).empty() ||
      [&] {
        const auto conds = ex_->open_conditionals(acct_, sym);
        return std::any_of(conds.begin(), conds.end(), [&](const sim::conditional_order& c) { return sim::fires(c.req, price); });
      }();
  if (!book_matters) {
    // no levels: set_market moves the price and the mark only
  } else if (cfg_.book == book_model::tick_spread) {
    const decimal depth = core::mul(inst.lot, dec(1'000'000), rounding::half_even);
    const decimal p = core::round_price_to_tick(price, inst.tick, rounding::half_even);
    if (p > inst.tick) bids.push_back({p - inst.tick, depth});
    asks.push_back({p + inst.tick, depth});
  } else {
    const replay::bar& b = s.data->bars[static_cast<std::size_t>(s.bar_index)];
    replay::book_synth_input in;
    in.mid = price;
    in.tick = inst.tick;
    in.lot = inst.lot;
    in.bar_volume = core::div(b.volume, inst.contract_size, rounding::down);
    in.bar_range = b.high - b.low;
    in.seed = cfg_.seed ^ (static_cast<std::uint64_t>(i) << 48);
    in.bar_index = static_cast<std::uint64_t>(s.bar_index) * 8 + static_cast<std::uint64_t>(point);
    const replay::synth_book book = replay::synthesize_book(in);
    for (const auto& l : book.bids) bids.push_back({l.price, l.qty});
    for (const auto& l : book.asks) asks.push_back({l.price, l.qty});
  }
  ex_->set_market(s.data->symbol, price, bids, asks, t);
  ex_->set_mark(s.data->symbol, ex_->last_price(s.data->symbol).value_or(price), t);
  if (s.trade) {
    const decimal last = ex_->last_price(s.data->symbol).value_or(price);
    s.best_price = s.trade->dir > 0 ? std::max(s.best_price, last) : std::min(s.best_price, last);
  }
}

void engine::settle_funding(std::size_t i, std::int64_t t) {
  symbol_state& s = syms_[i];
  const auto& f = s.data->funding;
  while (s.funding_applied < f.size() && f[s.funding_applied].time_ms <= t) {
    ex_->apply_funding(s.data->symbol, f[s.funding_applied].rate, f[s.funding_applied].time_ms);
    ++s.funding_applied;
  }
}

void engine::place_protection(std::size_t i, decimal stop, const std::optional<decimal>& tp, std::int64_t t) {
  symbol_state& s = syms_[i];
  const decimal qty = position_qty(i);
  if (qty.is_zero()) return;
  const venue::instrument& inst = s.data->instrument;
  const bool is_long = qty.is_positive();
  const venue::side close_side = is_long ? venue::side::sell : venue::side::buy;
  // The stop rounds away from the price (a long's down): never tighter than asked.
  const decimal st = core::round_price_to_tick(stop, inst.tick, is_long ? rounding::floor : rounding::ceil);
  sim::conditional_request r;
  r.symbol = s.data->symbol;
  r.s = close_side;
  r.type = sim::trigger_type::stop_market;
  r.trigger_price = st;
  r.close_position = true;
  r.client_id = "sl-" + std::to_string(next_id_++);
  const auto placed = ex_->place_conditional(acct_, r, t);
  if (!placed.ok()) {
    log(t, "order_reject", i, side_name(close_side), decimal::zero(), st, "stop: " + placed.error->message);
    if (placed.error->code == sim::reject_code::would_trigger_immediately) market_close(i, "stop_loss", t);
    return;
  }
  s.stop = st;
  s.stop_client_id = r.client_id;
  if (tp) {
    sim::conditional_request q = r;
    q.type = sim::trigger_type::take_profit_market;
    q.trigger_price = core::round_price_to_tick(*tp, inst.tick, rounding::half_even);
    q.client_id = "tp-" + std::to_string(next_id_++);
    const auto tpp = ex_->place_conditional(acct_, q, t);
    if (!tpp.ok()) {
      log(t, "order_reject", i, side_name(close_side), decimal::zero(), q.trigger_price,
          "take_profit: " + tpp.error->message);
      if (tpp.error->code == sim::reject_code::would_trigger_immediately) market_close(i, "take_profit", t);
    }
  }
}

void engine::market_close(std::size_t i, const std::string& reason, std::int64_t t) {
  symbol_state& s = syms_[i];
  const decimal qty = position_qty(i);
  if (qty.is_zero()) return;
  venue::order_request r;
  r.symbol = s.data->symbol;
  r.s = qty.is_positive() ? venue::side::sell : venue::side::buy;
  r.type = venue::order_type::market;
  r.tif = venue::time_in_force::ioc;
  r.qty = core::abs(qty);
  r.reduce_only = true;
  r.client_id = "x-" + std::to_string(next_id_++);
  exit_reasons_[r.client_id] = reason;
  const auto placed = ex_->place(acct_, r, t);
  if (!placed.ok()) log(t, "order_reject", i, side_name(r.s), r.qty, decimal::zero(), "close: " + placed.error->message);
}

void engine::execute(const pending_action& a, std::int64_t t) {
  symbol_state& s = syms_[a.sym];
  switch (a.k) {
    case pending_action::kind::entry: {
      if (!position_qty(a.sym).is_zero()) {
        log(t, "order_reject", a.sym, side_name(a.s), a.qty, decimal::zero(), "entry: a position is open");
        return;
      }
      ex_->cancel_all_conditionals(acct_, s.data->symbol, t);
      venue::order_request r;
      r.symbol = s.data->symbol;
      r.s = a.s;
      r.type = venue::order_type::market;
      r.tif = venue::time_in_force::ioc;
      r.qty = a.qty;
      r.client_id = "e-" + std::to_string(next_id_++);
      const auto placed = ex_->place(acct_, r, t);
      if (!placed.ok()) {
        log(t, "order_reject", a.sym, side_name(a.s), a.qty, decimal::zero(), "entry: " + placed.error->message);
        return;
      }
      place_protection(a.sym, a.stop, a.take_profit, t);
      return;
    }
    case pending_action::kind::close:
      ex_->cancel_all_conditionals(acct_, s.data->symbol, t);
      s.stop.reset();
      market_close(a.sym, a.reason, t);
      return;
    case pending_action::kind::move_stop: {
      if (position_qty(a.sym).is_zero()) return;
      // Keep the take-profit, replace the stop.
      std::optional<decimal> tp;
      for (const auto& c : ex_->open_conditionals(acct_, s.data->symbol))
        if (c.req.type == sim::trigger_type::take_profit_market) tp = c.req.trigger_price;
      ex_->cancel_all_conditionals(acct_, s.data->symbol, t);
      s.stop.reset();
      place_protection(a.sym, a.stop, tp, t);
      return;
    }
  }
}

void engine::run_due_actions(std::int64_t t) {
  std::vector<pending_action> due, later;
  for (auto& a : pending_) (a.due_ms <= t ? due : later).push_back(std::move(a));
  pending_ = std::move(later);
  for (const auto& a : due) execute(a, t);
}

// Closes finished trades, cancels protection left without a position.
void engine::housekeeping(std::int64_t t) {
  for (std::size_t i = 0; i < syms_.size(); ++i) {
    symbol_state& s = syms_[i];
    if (!position_qty(i).is_zero()) continue;
    if (!ex_->open_conditionals(acct_, s.data->symbol).empty()) ex_->cancel_all_conditionals(acct_, s.data->symbol, t);
    s.stop.reset();
    if (!s.trade) continue;
    open_trade& o = *s.trade;
    trade_record r;
    r.symbol = s.data->symbol;
    r.direction = o.dir;
    r.entry_time = o.entry_time;
    r.exit_time = ms_to_ts(t);
    r.qty = o.entry_qty;
    r.entry_price = o.entry_qty.is_zero() ? decimal::zero() : core::div(o.entry_notional, o.entry_qty, rounding::half_even);
    r.exit_price = o.exit_qty.is_zero() ? decimal::zero() : core::div(o.exit_notional, o.exit_qty, rounding::half_even);
    r.fees = o.fees + o.slippage;
    r.funding = o.funding;
    r.pnl = o.realised - r.fees - r.funding;
    r.exit_reason = o.exit_reason.empty() ? "other" : o.exit_reason;
    if (sm_) {
      sm_->on_trade_closed(r.exit_time, r.symbol, r.pnl, r.exit_reason == "stop_loss" || r.exit_reason == "liquidation");
      drain_risk_events();
    }
    trades_.push_back(std::move(r));
    s.trade.reset();
  }
}

std::optional<decimal> engine::atr(std::size_t i) const {
  const auto& bars = syms_[i].atr_bars;
  if (bars.size() < 15) return std::nullopt;
  decimal sum;
  for (std::size_t k = bars.size() - 14; k < bars.size(); ++k) {
    const decimal pc = bars[k - 1].close;
    const decimal tr = std::max({bars[k].high - bars[k].low, core::abs(bars[k].high - pc), core::abs(bars[k].low - pc)});
    sum += tr;
  }
  return core::div(sum, dec(14), rounding::half_even);
}

std::optional<decimal> engine::last_funding(std::size_t i, std::int64_t now_ms) const {
  std::optional<decimal> r;
  for (const auto& f : syms_[i].data->funding) {
    if (f.time_ms > now_ms) break;
    r = f.rate;
  }
  return r;
}

void engine::propose(std::size_t i, const strategy::trade_proposal& p, const replay::bar& b, std::int64_t now_ms) {
  symbol_state& s = syms_[i];
  const venue::instrument& inst = s.data->instrument;
  const risk::side dir = p.s == strategy::side::buy ? risk::side::buy : risk::side::sell;
  const venue::side vs = p.s == strategy::side::buy ? venue::side::buy : venue::side::sell;
  const decimal entry = p.entry_price.value_or(b.close);
  risk::instrument ri;
  ri.symbol = inst.symbol;
  ri.contract_size = inst.contract_size;
  ri.lot_size = inst.lot;
  ri.min_qty = inst.min_qty;
  ri.min_notional = inst.min_notional.value_or(decimal::zero());
  ri.tick_size = inst.tick;
  ri.max_leverage = dec(inst.max_leverage);
  ri.maintenance_margin_rate = inst.maintenance_margin_rate.value_or(decimal::parse("0.005"));
  std::vector<risk::open_position> open;
  for (const auto& pos : ex_->positions(acct_))
    open.push_back({pos.symbol, pos.qty.is_positive() ? risk::side::buy : risk::side::sell,
                    core::abs(core::mul(pos.qty * inst.contract_size, pos.mark_price, rounding::half_even))});
  const auto funding = last_funding(i, now_ms);
  risk::sizing_request req;
  req.equity = equity();
  req.direction = dir;
  req.entry = entry;
  req.stop = p.stop_loss;
  req.inst = ri;
  req.open = open;
  req.funding_rate = funding;
  // 24h quote volume from the base bars that closed by now (absent when the data has no volume).
  {
    decimal qv;
    const auto& bars = s.data->bars;
    for (std::size_t k = static_cast<std::size_t>(s.bar_index) + 1; k-- > 0;) {
      if (bars[k].open_time_ms + day_ms < now_ms) break;
      // Saturates at 4e9: a liquid symbol's 24h volume (BTC: ~1e10) leaves decimal's range; the
      // cap then allows 4e6 of notional at the default 0.1 % participation.
      const decimal cap = dec(4'000'000'000);
      const decimal v =
          bars[k].quote_volume ? std::min(cap, *bars[k].quote_volume)
          : bars[k].volume > core::div(cap, bars[k].close, rounding::floor)
              ? cap
              : core::mul(bars[k].close, bars[k].volume, rounding::down);
      qv = cap - qv <= v ? cap : qv + v;
    }
    if (qv.is_positive()) req.liq.quote_volume_24h = qv;
  }
  const risk::sizing_result sized = risk::size_position(risk_, req);
  if (!sized.ok()) {
    log(now_ms, "reject", i, side_name(vs), decimal::zero(), entry,
        std::string(risk::to_string(*sized.reject)) + ": " + sized.detail);
    return;
  }
  if (cfg_.run_checklist) {
    risk::checklist_input in;
    in.now = ms_to_ts(now_ms);
    in.entries_allowed = sm_->allows_entry();
    in.order = {inst.symbol, dir, risk::order_type::market, sized.quantity, entry, p.stop_loss, false};
    in.inst = ri;
    const auto bal = ex_->balance(acct_);
    in.account.equity = equity();
    in.account.day_open_equity = sm_->equity().day_open();
    in.account.peak_equity = sm_->equity().peak();
    in.account.maintenance_margin = bal.maintenance_margin;
    in.account.positions = open;
    in.losses = sm_->stats(ms_to_ts(now_ms), inst.symbol);
    in.market.atr = atr(i);
    in.market.funding_rate = funding;
    const risk::checklist_result cr = risk::evaluate_checklist(risk_, in);
    if (!cr.approved()) {
      log(now_ms, "reject", i, side_name(vs), sized.quantity, entry, "checklist: " + cr.reason_text());
      return;
    }
  }
  const auto lev = static_cast<int>(std::max<std::int64_t>(1, sized.leverage.units() / decimal::scale));
  const auto set = ex_->set_leverage(acct_, inst.symbol, std::min(lev, inst.max_leverage), now_ms);
  if (!set.ok()) log(now_ms, "order_reject", i, "", decimal::zero(), decimal::zero(), "leverage: " + set.error->message);
  pending_action a;
  a.k = pending_action::kind::entry;
  a.due_ms = now_ms + cfg_.latency_ms;
  a.sym = i;
  a.s = vs;
  a.qty = sized.quantity;
  a.stop = p.stop_loss;
  a.take_profit = p.take_profit;
  pending_.push_back(a);
  log(now_ms, "entry", i, side_name(vs), sized.quantity, entry,
      "stop " + p.stop_loss.to_string() + (p.take_profit ? " tp " + p.take_profit->to_string() : std::string()));
}

void engine::decide(std::size_t i, const replay::bar& b, std::int64_t now_ms, bool trading) {
  symbol_state& s = syms_[i];
  const timestamp now = ms_to_ts(now_ms);
  auto& strat = *s.strat;
  const auto& f = s.data->funding;
  while (s.funding_fed < f.size() && f[s.funding_fed].time_ms <= now_ms) {
    strat.on_funding(f[s.funding_fed].rate.to_double(), ms_to_ts(f[s.funding_fed].time_ms));
    ++s.funding_fed;
  }
  if (trading) {
    std::optional<strategy::position> p;
    if (const auto pos = position_of(i)) {
      strategy::position sp;
      sp.dir = pos->qty.is_positive() ? strategy::direction::long_ : strategy::direction::short_;
      sp.entry_price = pos->entry_price;
      sp.qty = core::abs(pos->qty);
      sp.entry_time = s.trade ? s.trade->entry_time : now;
      sp.best_price = s.best_price;
      sp.stop = s.stop;
      p = sp;
    }
    strat.on_position(p, now);
  }
  std::vector<strategy::output> outs;
  auto feed = [&](const replay::bar& bar, strategy::timeframe tf) {
    for (auto& o : strat.on_bar(to_strategy_bar(bar), tf, now)) outs.push_back(std::move(o));
  };
  std::vector<std::pair<replay::bar, strategy::timeframe>> closed;
  for (auto& a : s.aggs)
    if (auto done = a.add(b, base_ms_)) closed.emplace_back(*done, a.tf);
  for (const auto& [bar, tf] : closed) feed(bar, tf);  // longest period first
  feed(b, *tf_of_ms(base_ms_));
  if (s.atr_agg) {
    if (auto done = s.atr_agg->add(b, base_ms_)) s.atr_bars.push_back(*done);
  } else {
    s.atr_bars.push_back(b);
  }
  while (s.atr_bars.size() > 15) s.atr_bars.pop_front();
  if (!trading) return;
  for (const auto& o : outs) {
    if (o.proposal) {
      if (!position_qty(i).is_zero() || std::any_of(pending_.begin(), pending_.end(), [&](const auto& a) {
            return a.sym == i && a.k == pending_action::kind::entry;
          }))
        continue;
      propose(i, *o.proposal, b, now_ms);
    }
    if (o.exit) {
      const venue::side close_side =
          position_qty(i).is_positive() ? venue::side::sell : venue::side::buy;
      pending_action a;
      a.due_ms = now_ms + cfg_.latency_ms;
      a.sym = i;
      a.reason = std::string(strategy::to_string(o.exit->reason));
      if (o.exit->kind == strategy::exit_kind::close) {
        a.k = pending_action::kind::close;
        log(now_ms, "exit", i, side_name(close_side), core::abs(position_qty(i)), b.close, a.reason + ": " + o.exit->text);
      } else {
        if (!o.exit->new_stop) continue;
        a.k = pending_action::kind::move_stop;
        a.stop = *o.exit->new_stop;
        log(now_ms, "move_stop", i, side_name(close_side), core::abs(position_qty(i)), a.stop, a.reason + ": " + o.exit->text);
      }
      pending_.push_back(a);
    }
  }
}

engine_result engine::run() {
  if (data_.empty()) throw engine_error("backtest: no symbol data");
  const auto base = replay::timeframe_ms(cfg_.base_timeframe);
  if (!base || !tf_of_ms(*base)) throw engine_error("backtest: unsupported base timeframe " + cfg_.base_timeframe);
  base_ms_ = *base;
  if (cfg_.latency_ms < 0) throw engine_error("backtest: negative latency");
  if (cfg_.slippage_bps.is_negative()) throw engine_error("backtest: negative slippage");
  slip_rate_ = core::div(cfg_.slippage_bps, dec(10000), rounding::half_even);

  risk_.risk_per_trade = core::div(cfg_.risk_percent, dec(100), rounding::down);
  risk_.max_leverage = std::min(cfg_.leverage_cap, risk::hard::max_leverage);
  risk_.default_leverage = std::min(risk_.default_leverage, risk_.max_leverage);
  risk::validate(risk_);
  sm_.emplace(risk_);

  for (const auto& d : data_) {
    if (d.bars.empty()) throw engine_error("backtest: no bars for " + d.symbol);
    venue::instrument inst = d.instrument;
    if (inst.symbol.empty()) inst.symbol = d.symbol;
    if (inst.symbol != d.symbol) throw engine_error("backtest: instrument " + inst.symbol + " for data " + d.symbol);
    if (cfg_.taker_fee) inst.taker_fee = *cfg_.taker_fee;
    if (cfg_.maker_fee) inst.maker_fee = *cfg_.maker_fee;
    instruments_.push_back(inst);
  }
  ex_ = std::make_unique<sim::exchange>(instruments_);
  fwd_.e = this;
  ex_->set_listener(&fwd_);
  acct_ = ex_->add_account(cfg_.starting_equity);

  atr_period_ms_ = base_ms_ >= 4 * hour_ms ? base_ms_ : 4 * hour_ms;
  for (const auto& d : data_) {
    symbol_state s;
    s.data = &d;
    strategy::context ctx;
    ctx.venue = cfg_.venue;
    ctx.symbol = d.symbol;
    s.strat = cfg_.factory ? cfg_.factory(ctx, data_) : strategy::make_strategy(cfg_.params, ctx);
    if (!s.strat) throw engine_error("backtest: the strategy factory returned nothing");
    // 1h too: the baselines trade 1h bars, also over 1m / 5m data.
    for (const std::int64_t p : {day_ms, 4 * hour_ms, hour_ms})
      if (p > base_ms_ && p % base_ms_ == 0) s.aggs.push_back(aggregate{p, *tf_of_ms(p), std::nullopt, 0});
    if (atr_period_ms_ != base_ms_) s.atr_agg = aggregate{atr_period_ms_, *tf_of_ms(atr_period_ms_), std::nullopt, 0};
    syms_.push_back(std::move(s));
  }

  // The timeline: every bar open time of every symbol, all on one grid.
  std::set<std::int64_t> opens;
  for (const auto& d : data_)
    for (std::size_t k = 0; k < d.bars.size(); ++k) {
      if (k > 0 && d.bars[k].open_time_ms <= d.bars[k - 1].open_time_ms)
        throw engine_error("backtest: bars of " + d.symbol + " not strictly increasing");
      if (d.bars[k].open_time_ms % base_ms_ != 0) throw engine_error("backtest: bar off the " + cfg_.base_timeframe + " grid");
      opens.insert(d.bars[k].open_time_ms);
    }
  const std::int64_t start_ms = cfg_.start ? cfg_.start->millis() : std::numeric_limits<std::int64_t>::min();
  const std::int64_t end_ms = cfg_.end ? cfg_.end->millis() : std::numeric_limits<std::int64_t>::max();
  bool started = false;
  std::vector<std::size_t> cursor(syms_.size(), 0);

  for (const std::int64_t T : opens) {
    if (T + base_ms_ > end_ms) break;
    const bool trading = T >= start_ms;
    std::vector<std::pair<std::size_t, const replay::bar*>> here;
    for (std::size_t i = 0; i < syms_.size(); ++i) {
      const auto& bars = syms_[i].data->bars;
      while (cursor[i] < bars.size() && bars[cursor[i]].open_time_ms < T) ++cursor[i];
      if (cursor[i] < bars.size() && bars[cursor[i]].open_time_ms == T) here.emplace_back(i, &bars[cursor[i]]);
    }
    if (trading) {
      if (!started) {
        // Funding before the trading window is history, not settled.
        for (auto& s : syms_)
          while (s.funding_applied < s.data->funding.size() && s.data->funding[s.funding_applied].time_ms < T)
            ++s.funding_applied;
        started = true;
        sm_->enable_autonomous(ms_to_ts(T));
      }
      // Time-based breaker resets, then the mark (the day rolls at 00:00 UTC inside).
      sm_->tick(ms_to_ts(T));
      sm_->on_equity(ms_to_ts(T), equity());
      drain_risk_events();
      std::array<std::int64_t, 4> offsets{};
      for (std::size_t k = 0; k < 4; ++k) {
        for (const auto& [i, b] : here) {
          symbol_state& s = syms_[i];
          if (k == 0 || k == 1) {
            // Planned at the open from the position then, re-planned after the open's executions
            // so an entry made at the open walks its own bar adverse-first too.
            s.bar_index = static_cast<std::int64_t>(cursor[i]);
            const auto path = replay::bar_path(*b, replay::adverse_bias_for(position_qty(i)), base_ms_);
            for (std::size_t q = 0; q < 4; ++q) {
              if (k == 0 || q > 0) s.path_price[q] = path[q].price;
              offsets[q] = path[q].offset_ms;
            }
          }
          const std::int64_t t = T + offsets[k];
          settle_funding(i, t);
          move_market(i, s.path_price[k], static_cast<std::int64_t>(k), t);
        }
        now_ms_ = T + offsets[k];
        housekeeping(now_ms_);
        run_due_actions(now_ms_);
        housekeeping(now_ms_);
      }
    }
    const std::int64_t close_ms = T + base_ms_;
    for (const auto& [i, b] : here) decide(i, *b, close_ms, trading);
    if (trading) {
      const decimal e = equity();
      sm_->on_equity(ms_to_ts(close_ms), e);
      drain_risk_events();
      if (cfg_.run_checklist && sm_->must_flatten() && !killed_) {
        // Kill switch (the drawdown breaker): cancel and flatten everything, then stay halted.
        killed_ = true;
        pending_.clear();
        for (std::size_t i = 0; i < syms_.size(); ++i) {
          if (position_qty(i).is_zero()) continue;
          pending_action a;
          a.k = pending_action::kind::close;
          a.due_ms = close_ms + cfg_.latency_ms;
          a.sym = i;
          a.reason = "kill_switch";
          pending_.push_back(a);
          log(close_ms, "exit", i, "", core::abs(position_qty(i)), decimal::zero(),
              "kill_switch: " + sm_->kill_reason().value_or("drawdown"));
        }
      }
      curve_.push_back({ms_to_ts(close_ms), e});
    }
  }
  if (cfg_.close_at_end && started) {
    pending_.clear();
    for (std::size_t i = 0; i < syms_.size(); ++i) {
      ex_->cancel_all_conditionals(acct_, syms_[i].data->symbol, now_ms_);
      if (position_qty(i).is_zero()) continue;
      // The last point's book again (same seed, same levels), for the closing order to meet.
      force_book_ = true;
      move_market(i, syms_[i].path_price[3], 3, now_ms_);
      force_book_ = false;
      market_close(i, "end_of_data", now_ms_);
    }
    housekeeping(now_ms_);
    if (!curve_.empty()) curve_.back().equity = equity();
  }

  engine_result out;
  out.bars = 0;
  for (const auto& c : cursor) out.bars += c;
  out.trades = std::move(trades_);
  out.equity = std::move(curve_);
  out.decisions = std::move(decisions_);
  out.hash = trade_list_hash(out.trades);
  out.end_equity = ex_ ? equity() : cfg_.starting_equity;
  if (!out.equity.empty()) {
    try {
      out.stats = compute_metrics(out.equity, out.trades);
    } catch (const std::invalid_argument&) {
      out.stats.reset();
    }
  }
  ex_->set_listener(nullptr);
  return out;
}

bool is_strategy_decision(const decision_record& d) {
  return d.kind == "entry" || d.kind == "exit" || d.kind == "move_stop" || d.kind == "reject";
}

std::string describe(const decision_record& d) {
  return d.at.to_iso8601() + " " + d.kind + " " + d.symbol + " " + d.side + " qty " + d.qty.to_string() + " price " +
         d.price.to_string() + " " + d.text;
}

}  // namespace

engine_result run_backtest(const engine_config& cfg, const std::vector<symbol_data>& data) {
  engine e(cfg, data);
  return e.run();
}

venue::instrument catalog_instrument(const std::string& catalog_file, const std::string& symbol) {
  venue::catalog_options co;
  co.mode = venue::catalog_mode::paper;
  co.now = core::timestamp::from_nanos(0);
  const auto cat = venue::load_catalog(catalog_file, co);
  if (!cat.ok()) throw engine_error("catalog " + catalog_file + ": " + cat.errors.front());
  for (const auto& m : cat.catalog->markets) {
    if (m.symbol != symbol) continue;
    venue::instrument i;
    i.symbol = m.symbol;
    i.base = m.pair.base;
    i.quote = m.pair.quote;
    i.settle = m.pair.quote;
    i.contract_size = m.contract_size.value_or(decimal::one());
    if (!m.tick || !m.lot) throw engine_error(symbol + ": the catalog has no tick or lot");
    i.tick = *m.tick;
    i.lot = *m.lot;
    i.min_qty = m.min_size.value_or(i.lot);
    i.max_leverage = m.max_leverage.value_or(20);
    i.maintenance_margin_rate = decimal::parse("0.005");
    for (const auto& t : m.risk_tiers)
      if (t.tier == 1 && t.maintenance_margin_rate) i.maintenance_margin_rate = t.maintenance_margin_rate;
    i.maker_fee = m.maker_fee.value_or(decimal::parse("0.0002"));
    i.taker_fee = m.taker_fee.value_or(decimal::parse("0.0005"));
    i.min_notional = decimal::from_integer(5);
    return i;
  }
  throw engine_error(symbol + " is not in " + catalog_file);
}

std::vector<symbol_data> load_recorded(const engine_config& cfg, const std::string& data_dir,
                                       const std::string& catalog_file, const std::string& source) {
  const auto base_ms = replay::timeframe_ms(cfg.base_timeframe);
  if (!base_ms) throw engine_error("unknown timeframe " + cfg.base_timeframe);
  const auto all = replay::list_series(data_dir);
  std::vector<symbol_data> out;
  for (const auto& sym : cfg.symbols) {
    // As sim::load_series picks: the source with a funding file, then the largest base file.
    const replay::series_info* best = nullptr;
    std::pair<bool, std::uintmax_t> best_score{false, 0};
    for (const auto& info : all) {
      if (info.symbol != sym || !info.qualifier.empty() || info.kind != replay::series_kind::candles) continue;
      if (replay::timeframe_ms(info.timeframe) != *base_ms) continue;
      if (!source.empty() && info.source != source) continue;
      bool funding = false;
      for (const auto& o : all) funding |= o.source == info.source && o.symbol == sym && o.kind == replay::series_kind::funding;
      const std::pair<bool, std::uintmax_t> score{funding, std::filesystem::file_size(info.path)};
      if (best == nullptr || score > best_score) {
        best = &info;
        best_score = score;
      }
    }
    if (best == nullptr) throw engine_error("no " + cfg.base_timeframe + " candles for " + sym + " in " + data_dir +
                                         (source.empty() ? std::string{} : " (source " + source + ")"));
    symbol_data d;
    d.symbol = sym;
    d.bars = replay::load_candles(best->path);
    for (const auto& o : all)
      if (o.source == best->source && o.symbol == sym && o.qualifier.empty() && o.kind == replay::series_kind::funding) {
        d.funding = replay::load_funding(o.path);
        break;
      }
    if (d.funding.empty() && !d.bars.empty()) {
      // A candle set without its own funding file (the 1m download): the same market's recorded
      // funding from another source, the one covering most of the bars' span. Funding is a
      // property of the market, not of who downloaded the candles.
      const auto from = d.bars.front().open_time_ms, to = d.bars.back().open_time_ms;
      std::size_t best_cover = 0;
      for (const auto& o : all) {
        if (o.symbol != sym || !o.qualifier.empty() || o.kind != replay::series_kind::funding) continue;
        auto f = replay::load_funding(o.path);
        std::size_t cover = 0;
        for (const auto& p : f) cover += p.time_ms >= from && p.time_ms <= to;
        if (cover > best_cover) {
          best_cover = cover;
          d.funding = std::move(f);
        }
      }
    }
    d.instrument = catalog_instrument(catalog_file, sym);
    out.push_back(std::move(d));
  }
  return out;
}

lookahead_report check_lookahead(const engine_config& cfg, const std::vector<symbol_data>& data,
                                 const std::vector<symbol_data>& altered, core::timestamp t) {
  const engine_result a = run_backtest(cfg, data);
  const engine_result b = run_backtest(cfg, altered);
  lookahead_report rep;
  auto upto = [&](const engine_result& r) {
    std::vector<const decision_record*> out;
    for (const auto& d : r.decisions)
      if (is_strategy_decision(d) ? d.at <= t : d.at < t) out.push_back(&d);
    return out;
  };
  const auto da = upto(a), db = upto(b);
  rep.compared_decisions = da.size();
  for (std::size_t k = 0; k < std::max(da.size(), db.size()); ++k) {
    if (k >= da.size() || k >= db.size() || !(*da[k] == *db[k])) {
      rep.identical = false;
      rep.first_difference = "decision " + std::to_string(k) + ": " + (k < da.size() ? describe(*da[k]) : "(none)") +
                             " vs " + (k < db.size() ? describe(*db[k]) : "(none)");
      return rep;
    }
  }
  auto trades_upto = [&](const engine_result& r) {
    std::vector<trade_record> out;
    for (const auto& tr : r.trades)
      if (tr.exit_time < t) out.push_back(tr);
    return out;
  };
  const auto ta = trades_upto(a), tb = trades_upto(b);
  rep.compared_trades = ta.size();
  if (canonical_trade_text(ta) != canonical_trade_text(tb)) {
    rep.identical = false;
    rep.first_difference = "trades before t differ";
    return rep;
  }
  for (std::size_t k = 0; k < std::min(a.equity.size(), b.equity.size()); ++k) {
    if (a.equity[k].at > t) break;
    if (a.equity[k].at != b.equity[k].at || a.equity[k].equity != b.equity[k].equity) {
      rep.identical = false;
      rep.first_difference = "equity at " + a.equity[k].at.to_iso8601() + ": " + a.equity[k].equity.to_string() + " vs " +
                             b.equity[k].equity.to_string();
      return rep;
    }
  }
  return rep;
}

std::vector<symbol_data> alter_after(const std::vector<symbol_data>& data, core::timestamp t, core::decimal factor) {
  std::vector<symbol_data> out = data;
  const std::int64_t t_ms = t.millis();
  for (auto& d : out) {
    const decimal tick = d.instrument.tick.is_positive() ? d.instrument.tick : decimal::from_units(1);
    auto scale = [&](decimal p) {
      const decimal v = core::round_price_to_tick(core::mul(p, factor, rounding::half_even), tick, rounding::half_even);
      return v.is_positive() ? v : tick;
    };
    for (auto& b : d.bars) {
      if (b.open_time_ms < t_ms) continue;
      b.open = scale(b.open);
      b.high = scale(b.high);
      b.low = scale(b.low);
      b.close = scale(b.close);
      b.low = std::min({b.low, b.open, b.close});
      b.high = std::max({b.high, b.open, b.close});
    }
    for (auto& f : d.funding)
      if (f.time_ms > t_ms) f.rate = core::mul(f.rate, decimal::from_integer(-3), rounding::half_even);
  }
  return out;
}

}  // namespace pt::backtest
