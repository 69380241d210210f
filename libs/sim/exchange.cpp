#include "sim/exchange.hpp"

#include <algorithm>
#include <limits>
#include <stdexcept>

namespace pt::sim {

namespace m = pt::matching;
using venue::margin_mode;
using venue::order_state;
using venue::position_mode;
using venue::position_side;

const char* to_string(reject_code c) {
  switch (c) {
    case reject_code::unknown_symbol: return "unknown_symbol";
    case reject_code::symbol_not_trading: return "symbol_not_trading";
    case reject_code::cancel_only: return "cancel_only";
    case reject_code::bad_quantity: return "bad_quantity";
    case reject_code::qty_below_min: return "qty_below_min";
    case reject_code::qty_above_max: return "qty_above_max";
    case reject_code::bad_price: return "bad_price";
    case reject_code::price_out_of_range: return "price_out_of_range";
    case reject_code::insufficient_margin: return "insufficient_margin";
    case reject_code::reduce_only_rejected: return "reduce_only_rejected";
    case reject_code::no_position_to_reduce: return "no_position_to_reduce";
    case reject_code::post_only_would_take: return "post_only_would_take";
    case reject_code::fok_cannot_fill: return "fok_cannot_fill";
    case reject_code::no_liquidity: return "no_liquidity";
    case reject_code::duplicate_client_id: return "duplicate_client_id";
    case reject_code::unknown_order: return "unknown_order";
    case reject_code::invalid_leverage: return "invalid_leverage";
    case reject_code::position_exists: return "position_exists";
    case reject_code::position_side_mismatch: return "position_side_mismatch";
    case reject_code::unknown_account: return "unknown_account";
    case reject_code::would_trigger_immediately: return "would_trigger_immediately";
  }
  return "?";
}

const char* to_string(trigger_type t) {
  switch (t) {
    case trigger_type::stop_market: return "STOP_MARKET";
    case trigger_type::take_profit_market: return "TAKE_PROFIT_MARKET";
    case trigger_type::stop_limit: return "STOP";
    case trigger_type::take_profit_limit: return "TAKE_PROFIT";
  }
  return "?";
}

const char* to_string(conditional_status st) {
  switch (st) {
    case conditional_status::open: return "NEW";
    case conditional_status::triggered: return "TRIGGERED";
    case conditional_status::finished: return "FINISHED";
    case conditional_status::cancelled: return "CANCELED";
    case conditional_status::rejected: return "REJECTED";
    case conditional_status::expired: return "EXPIRED";
  }
  return "?";
}

// Whether a conditional fires at `price`: a stop fires when the price moves against the side that
// closes (a sell stop at or below the trigger), a take-profit when it moves in favour.
bool fires(const conditional_request& r, decimal price) {
  const bool stop = r.type == trigger_type::stop_market || r.type == trigger_type::stop_limit;
  const bool sell = r.s == venue::side::sell;
  if (stop) return sell ? price <= r.trigger_price : price >= r.trigger_price;
  return sell ? price >= r.trigger_price : price <= r.trigger_price;
}

namespace {

// Synthetic (owner 0) order ids live above this so they never meet account order ids.
constexpr m::order_id synthetic_id_base = 1ULL << 62;
// An order big enough to sweep every account order the price passed.
constexpr m::qty_t sweep_qty = 1'000'000'000'000'000;  // the book caps one order at 1e15 lots

decimal default_mmr() { return decimal::parse("0.005"); }

struct position_state {
  decimal qty;  // signed, order units
  decimal entry;
  decimal isolated_margin;
  margin_mode mode = margin_mode::cross;
  int leverage = 1;
  epoch_ms update = 0;
};

struct account_state {
  account_id id = 0;
  decimal wallet;
  position_mode pmode = position_mode::one_way;
  std::map<std::string, int> leverage;
  std::map<std::string, margin_mode> mmode;
  std::map<std::pair<std::string, int>, position_state> positions;
  std::deque<venue::fill> fills;
  std::deque<venue::bill> bills;
  std::deque<venue::order> history;                        // closed orders, oldest first
  std::vector<conditional_order> conditionals;             // open, oldest first
  std::deque<conditional_order> conditional_done;          // no longer open, oldest first
  std::unordered_map<std::string, std::string> client_ids;  // client id -> venue order id (all kept orders)
};

struct live_order {
  venue::order o;
  account_id owner = 0;
  m::order_id mid = 0;
  int leverage = 1;
  margin_mode mode = margin_mode::cross;
  decimal reserved;  // initial margin held for the unfilled, position-increasing part
};

struct market_state {
  const venue::instrument* inst = nullptr;
  m::order_book book;
  std::optional<decimal> last, mark;
  venue::instrument_status status = venue::instrument_status::trading;
  std::deque<venue::public_trade> trades;
};

// Collects matching events so they are applied after the book call returns.
struct collecting_sink final : m::event_sink {
  std::vector<m::fill> fills;
  std::vector<m::order_done> dones;
  void on_fill(const m::fill& f) override { fills.push_back(f); }
  void on_done(const m::order_done& d) override { dones.push_back(d); }
};

int side_sign(venue::side s) { return s == venue::side::buy ? 1 : -1; }

std::optional<std::int64_t> to_steps(decimal v, decimal step) {
  if (step.units() <= 0 || v.units() % step.units() != 0) return std::nullopt;
  return v.units() / step.units();
}

}  // namespace

struct exchange::impl {
  exchange_config config;
  std::unordered_map<std::string, market_state> markets;
  std::unordered_map<account_id, account_state> accounts;
  std::unordered_map<m::order_id, live_order> live;
  m::order_id next_order = 1;
  m::order_id next_synthetic = synthetic_id_base;
  std::uint64_t next_trade = 1;
  std::uint64_t next_bill = 1;
  account_id next_account = 1;
  std::uint64_t next_conditional = 1;
  listener* events = nullptr;

  void finish_conditional(account_state& a, std::size_t index, conditional_status st, std::string reason, epoch_ms now) {
    conditional_order c = a.conditionals[index];
    a.conditionals.erase(a.conditionals.begin() + static_cast<std::ptrdiff_t>(index));
    c.status = st;
    c.reason = std::move(reason);
    c.update_time = now;
    a.conditional_done.push_back(c);
    if (a.conditional_done.size() > config.history_limit) a.conditional_done.pop_front();
    if (events) events->on_conditional(a.id, c);
  }

  account_state* account(account_id id) {
    auto it = accounts.find(id);
    return it == accounts.end() ? nullptr : &it->second;
  }
  const account_state* account(account_id id) const {
    auto it = accounts.find(id);
    return it == accounts.end() ? nullptr : &it->second;
  }
  market_state* market(const std::string& symbol) {
    auto it = markets.find(symbol);
    return it == markets.end() ? nullptr : &it->second;
  }
  const market_state* market(const std::string& symbol) const {
    auto it = markets.find(symbol);
    return it == markets.end() ? nullptr : &it->second;
  }

  decimal mmr(const market_state& mk) const {
    return mk.inst->maintenance_margin_rate.value_or(default_mmr());
  }
  decimal mark_of(const market_state& mk, const position_state& p) const {
    if (mk.mark) return *mk.mark;
    if (mk.last) return *mk.last;
    return p.entry;
  }
  decimal notional_of(const market_state& mk, decimal qty, decimal price) const {
    return core::abs(qty) * mk.inst->contract_size * price;
  }
  decimal upl(const market_state& mk, const position_state& p) const {
    return (mark_of(mk, p) - p.entry) * p.qty * mk.inst->contract_size;
  }

  int leverage_of(const account_state& a, const std::string& symbol) const {
    auto it = a.leverage.find(symbol);
    return it == a.leverage.end() ? config.default_leverage : it->second;
  }
  margin_mode mode_of(const account_state& a, const std::string& symbol) const {
    auto it = a.mmode.find(symbol);
    return it == a.mmode.end() ? margin_mode::cross : it->second;
  }

  struct totals {
    decimal upl_all, upl_cross, im_cross, mm_cross, isolated, orders;
  };
  totals sum(const account_state& a) const {
    totals t;
    for (const auto& [key, p] : a.positions) {
      if (p.qty.is_zero()) continue;
      const auto& mk = markets.at(key.first);
      const decimal u = upl(mk, p);
      t.upl_all += u;
      if (p.mode == margin_mode::isolated) {
        t.isolated += p.isolated_margin;
      } else {
        const decimal n = notional_of(mk, p.qty, mark_of(mk, p));
        t.upl_cross += u;
        t.im_cross += n / decimal::from_integer(p.leverage);
        t.mm_cross += n * mmr(mk);
      }
    }
    for (const auto& [id, lo] : live)
      if (lo.owner == a.id) t.orders += lo.reserved;
    return t;
  }
  decimal available(const account_state& a) const {
    const totals t = sum(a);
    return a.wallet + t.upl_cross - t.im_cross - t.isolated - t.orders;
  }

  venue::balance balance_of(const account_state& a) const {
    const totals t = sum(a);
    venue::balance b;
    b.asset = config.settle_asset;
    b.wallet = a.wallet;
    b.unrealised_pnl = t.upl_all;
    b.equity = a.wallet + t.upl_all;
    const decimal avail = a.wallet + t.upl_cross - t.im_cross - t.isolated - t.orders;
    b.available = avail.is_negative() ? decimal::zero() : avail;
    b.initial_margin = t.im_cross + t.isolated + t.orders;
    b.maintenance_margin = t.mm_cross;
    for (const auto& [key, p] : a.positions)
      if (!p.qty.is_zero() && p.mode == margin_mode::isolated) {
        const auto& mk = markets.at(key.first);
        b.maintenance_margin += notional_of(mk, p.qty, mark_of(mk, p)) * mmr(mk);
      }
    return b;
  }

  venue::position position_view(const account_state& a, const std::pair<std::string, int>& key,
                                const position_state& p) const {
    const auto& mk = markets.at(key.first);
    venue::position v;
    v.symbol = key.first;
    v.pos_side = static_cast<position_side>(key.second);
    v.mode = p.mode;
    v.qty = p.qty;
    v.entry_price = p.entry;
    v.mark_price = mark_of(mk, p);
    v.unrealised_pnl = p.qty.is_zero() ? decimal::zero() : upl(mk, p);
    v.leverage = p.leverage;
    v.update_time = p.update;
    if (p.qty.is_zero()) return v;
    const decimal base = core::abs(p.qty) * mk.inst->contract_size;
    v.margin = p.mode == margin_mode::isolated ? p.isolated_margin
                                               : base * v.mark_price / decimal::from_integer(p.leverage);
    // Margin backing this position: its isolated margin, or the cross equity net of the other
    // cross positions' maintenance (an approximation good enough for display and tests).
    decimal backing = p.isolated_margin;
    if (p.mode == margin_mode::cross) {
      const totals t = sum(a);
      backing = a.wallet - t.isolated + t.upl_cross - v.unrealised_pnl - (t.mm_cross - base * v.mark_price * mmr(mk));
    }
    const decimal one = decimal::one();
    try {
      decimal liq = p.qty.is_positive() ? (p.entry * base - backing) / (base * (one - mmr(mk)))
                                        : (backing + p.entry * base) / (base * (one + mmr(mk)));
      v.liquidation_price = liq.is_negative() ? decimal::zero() : liq;
    } catch (const core::decimal_error&) {
      v.liquidation_price = std::nullopt;
    }
    return v;
  }

  void emit_position_and_balance(account_state& a, const std::string& symbol, int pos_side_key) {
    if (!events) return;
    auto it = a.positions.find({symbol, pos_side_key});
    if (it != a.positions.end()) events->on_position(a.id, position_view(a, it->first, it->second));
    events->on_balance(a.id, balance_of(a));
  }

  void add_bill(account_state& a, const std::string& symbol, venue::bill_type type,
                decimal amount, epoch_ms now) {
    venue::bill b;
    b.id = std::to_string(next_bill++);
    b.symbol = symbol;
    b.type = type;
    // venue_type stays empty: each protocol spells the type its own way (FEE / COMMISSION ...).
    b.amount = amount;
    b.asset = config.settle_asset;
    b.time = now;
    a.bills.push_back(b);
    if (a.bills.size() > config.history_limit) a.bills.pop_front();
    if (events) events->on_bill(a.id, b);
  }

  int pos_key_side(const account_state& a, const venue::order& o) const {
    return static_cast<int>(a.pmode == position_mode::one_way ? position_side::both : o.pos_side);
  }

  // Applies one execution to an account's order, position and wallet.
  void apply_execution(live_order& lo, decimal price, decimal qty, venue::liquidity role, epoch_ms now) {
    account_state& a = accounts.at(lo.owner);
    market_state& mk = markets.at(lo.o.symbol);
    const decimal cs = mk.inst->contract_size;
    const decimal rate = role == venue::liquidity::maker ? mk.inst->maker_fee.value_or(decimal::zero())
                                                         : mk.inst->taker_fee.value_or(decimal::zero());
    const decimal fee = qty * cs * price * rate;
    const int key_side = pos_key_side(a, lo.o);
    position_state& p = a.positions[{lo.o.symbol, key_side}];
    if (p.qty.is_zero()) {
      p.mode = lo.mode;
      p.leverage = lo.leverage;
      p.isolated_margin = decimal::zero();
    }
    const decimal delta = side_sign(lo.o.s) > 0 ? qty : -qty;
    decimal realised;
    if (p.qty.is_zero() || p.qty.sign() == delta.sign()) {
      const decimal new_qty = p.qty + delta;
      p.entry = (p.entry * core::abs(p.qty) + price * qty) / core::abs(new_qty);
      p.qty = new_qty;
      if (p.mode == margin_mode::isolated) p.isolated_margin += qty * cs * price / decimal::from_integer(p.leverage);
    } else {
      const decimal closing = std::min(core::abs(p.qty), qty);
      realised = (price - p.entry) * closing * cs * decimal::from_integer(p.qty.sign());
      if (p.mode == margin_mode::isolated)
        p.isolated_margin -= p.isolated_margin * closing / core::abs(p.qty);
      const decimal opening = qty - closing;
      p.qty += delta;
      if (p.qty.is_zero()) {
        p.entry = decimal::zero();
        p.isolated_margin = decimal::zero();
      } else if (!opening.is_zero()) {  // flipped through zero
        p.entry = price;
        p.mode = lo.mode;
        p.leverage = lo.leverage;
        p.isolated_margin = p.mode == margin_mode::isolated
                                ? opening * cs * price / decimal::from_integer(p.leverage)
                                : decimal::zero();
      }
    }
    p.update = now;
    a.wallet += realised - fee;

    // The order itself.
    const decimal prev = lo.o.filled_qty;
    lo.o.filled_qty += qty;
    lo.o.avg_price = (lo.o.avg_price * prev + price * qty) / lo.o.filled_qty;
    lo.o.fee += fee;
    lo.o.fee_asset = config.settle_asset;
    lo.o.update_time = now;
    lo.o.state = lo.o.filled_qty >= lo.o.qty ? order_state::filled : order_state::partially_filled;
    const decimal remaining = lo.o.qty - lo.o.filled_qty;
    lo.reserved = lo.o.reduce_only || remaining.is_zero() || lo.o.price.is_zero()
                      ? decimal::zero()
                      : remaining * cs * lo.o.price / decimal::from_integer(lo.leverage);

    venue::fill f;
    f.symbol = lo.o.symbol;
    f.trade_id = std::to_string(next_trade++);
    f.order_id = lo.o.order_id;
    f.client_id = lo.o.client_id;
    f.s = lo.o.s;
    f.price = price;
    f.qty = qty;
    f.fee = fee;
    f.fee_asset = config.settle_asset;
    f.role = role;
    f.realised_pnl = realised;
    f.time = now;
    a.fills.push_back(f);
    if (a.fills.size() > config.history_limit) a.fills.pop_front();
    if (!fee.is_zero()) add_bill(a, lo.o.symbol, venue::bill_type::fee, -fee, now);
    if (!realised.is_zero()) add_bill(a, lo.o.symbol, venue::bill_type::realised_pnl, realised, now);
    if (events) {
      events->on_order(a.id, lo.o);
      events->on_fill(a.id, f);
    }
    emit_position_and_balance(a, lo.o.symbol, key_side);
  }

  void archive(live_order& lo) {
    account_state& a = accounts.at(lo.owner);
    a.history.push_back(lo.o);
    if (a.history.size() > config.history_limit) {
      a.client_ids.erase(a.history.front().client_id);
      a.history.pop_front();
    }
  }

  // Applies what one book call produced; `taker` is the account order being submitted, if any.
  void settle(market_state& mk, collecting_sink& sink, live_order* taker, epoch_ms now) {
    const decimal tick = mk.inst->tick, lot = mk.inst->lot;
    for (const m::fill& f : sink.fills) {
      const decimal price = decimal::from_units(f.price * tick.units());
      const decimal qty = decimal::from_units(f.qty * lot.units());
      mk.last = price;
      venue::public_trade t;
      t.symbol = mk.inst->symbol;
      t.id = std::to_string(next_trade);  // the id the first account fill of this match gets
      t.taker_side = f.taker_side == m::side::buy ? venue::side::buy : venue::side::sell;
      t.price = price;
      t.qty = qty;
      t.time = now;
      if (f.maker_owner != 0) {
        auto it = live.find(f.maker);
        if (it != live.end()) apply_execution(it->second, price, qty, venue::liquidity::maker, now);
      }
      if (f.taker_owner != 0 && taker != nullptr && taker->mid == f.taker)
        apply_execution(*taker, price, qty, venue::liquidity::taker, now);
      mk.trades.push_back(t);
      if (mk.trades.size() > 1000) mk.trades.pop_front();
      if (events) events->on_public_trade(t);
    }
    for (const m::order_done& d : sink.dones) {
      if (d.owner == 0) continue;
      live_order* lo = nullptr;
      auto it = live.find(d.id);
      if (it != live.end()) lo = &it->second;
      else if (taker != nullptr && taker->mid == d.id) lo = taker;
      if (lo == nullptr) continue;
      lo->reserved = decimal::zero();
      if (d.reason == m::done_reason::cancelled) lo->o.state = order_state::cancelled;
      else if (d.reason == m::done_reason::expired || d.reason == m::done_reason::stp_expired)
        lo->o.state = order_state::expired;
      else lo->o.state = order_state::filled;
      if (d.reason == m::done_reason::stp_expired) lo->o.reject_or_cancel_reason = "self_trade_prevention";
      lo->o.update_time = now;
      if (lo->o.state != order_state::filled && events) events->on_order(lo->owner, lo->o);
      archive(*lo);
      if (lo != taker) live.erase(d.id);
      else taker->mid = 0;  // marks "left the book"
    }
  }

  void liquidate(account_state& a, const std::pair<std::string, int>& key, epoch_ms now) {
    position_state& p = a.positions.at(key);
    market_state& mk = markets.at(key.first);
    const decimal mark = mark_of(mk, p);
    const decimal base = core::abs(p.qty) * mk.inst->contract_size;
    decimal realised = (mark - p.entry) * p.qty * mk.inst->contract_size;
    const decimal fee = base * mark * config.liquidation_fee_rate;
    // An isolated position can lose at most its margin; the rest is the insurance fund's.
    if (p.mode == margin_mode::isolated && realised + p.isolated_margin < decimal::zero())
      realised = -p.isolated_margin;
    venue::order o;
    o.symbol = key.first;
    o.order_id = std::to_string(next_order++);
    o.client_id = "autoclose-" + std::to_string(now);
    o.s = p.qty.is_positive() ? venue::side::sell : venue::side::buy;
    o.type = venue::order_type::market;
    o.state = order_state::filled;
    o.qty = core::abs(p.qty);
    o.filled_qty = o.qty;
    o.avg_price = mark;
    o.fee = fee;
    o.fee_asset = config.settle_asset;
    o.reduce_only = true;
    o.pos_side = static_cast<position_side>(key.second);
    o.create_time = o.update_time = now;
    o.reject_or_cancel_reason = "liquidation";
    a.wallet += realised - fee;
    if (a.wallet.is_negative()) a.wallet = decimal::zero();  // the insurance fund covers the rest
    p.qty = decimal::zero();
    p.entry = decimal::zero();
    p.isolated_margin = decimal::zero();
    p.update = now;
    a.history.push_back(o);
    add_bill(a, key.first, venue::bill_type::liquidation, realised - fee, now);
    if (events) {
      events->on_order(a.id, o);
      events->on_liquidation(a.id, key.first);
    }
    emit_position_and_balance(a, key.first, key.second);
  }

  void check_liquidations(const std::string& symbol, epoch_ms now) {
    for (auto& [id, a] : accounts) {
      // Isolated positions of this symbol first, each on its own margin.
      for (auto& [key, p] : a.positions) {
        if (key.first != symbol || p.qty.is_zero() || p.mode != margin_mode::isolated) continue;
        const auto& mk = markets.at(key.first);
        const decimal mm = notional_of(mk, p.qty, mark_of(mk, p)) * mmr(mk);
        if (p.isolated_margin + upl(mk, p) < mm) liquidate(a, key, now);
      }
      // Cross: the whole cross account against its maintenance margin.
      const totals t = sum(a);
      if (t.mm_cross.is_zero()) continue;
      if (a.wallet - t.isolated + t.upl_cross < t.mm_cross) {
        cancel_account_orders(a, "", now);
        std::vector<std::pair<std::string, int>> keys;
        for (auto& [key, p] : a.positions)
          if (!p.qty.is_zero() && p.mode == margin_mode::cross) keys.push_back(key);
        for (const auto& key : keys) liquidate(a, key, now);
      }
    }
  }

  std::vector<venue::order> cancel_account_orders(account_state& a, const std::string& symbol, epoch_ms now) {
    std::vector<m::order_id> ids;
    for (const auto& [mid, lo] : live)
      if (lo.owner == a.id && (symbol.empty() || lo.o.symbol == symbol)) ids.push_back(mid);
    std::sort(ids.begin(), ids.end());
    std::vector<venue::order> out;
    for (m::order_id mid : ids) {
      live_order& lo = live.at(mid);
      market_state& mk = markets.at(lo.o.symbol);
      collecting_sink sink;
      mk.book.cancel(mid, sink);
      lo.o.state = order_state::cancelled;
      lo.o.update_time = now;
      lo.reserved = decimal::zero();
      out.push_back(lo.o);
      if (events) events->on_order(a.id, lo.o);
      archive(lo);
      live.erase(mid);
    }
    return out;
  }
};

exchange::exchange(std::vector<venue::instrument> instruments, exchange_config config)
    : impl_(std::make_unique<impl>()), instruments_(std::move(instruments)) {
  impl_->config = std::move(config);
  for (const auto& inst : instruments_) {
    if (inst.tick.units() <= 0 || inst.lot.units() <= 0 || inst.contract_size.units() <= 0)
      throw std::invalid_argument("instrument " + inst.symbol + ": tick, lot and contract size must be > 0");
    if (!impl_->markets.emplace(inst.symbol, market_state{}).second)
      throw std::invalid_argument("instrument " + inst.symbol + " listed twice");
  }
  for (const auto& inst : instruments_) {
    auto& mk = impl_->markets.at(inst.symbol);
    mk.inst = &inst;
    mk.status = inst.status;
  }
}

exchange::~exchange() = default;

account_id exchange::add_account(decimal initial_wallet) {
  account_state a;
  a.id = impl_->next_account++;
  a.wallet = initial_wallet;
  impl_->accounts.emplace(a.id, std::move(a));
  return impl_->next_account - 1;
}

bool exchange::has_account(account_id id) const { return impl_->account(id) != nullptr; }

const venue::instrument* exchange::find_instrument(const std::string& symbol) const {
  const auto* mk = impl_->market(symbol);
  return mk ? mk->inst : nullptr;
}

void exchange::set_status(const std::string& symbol, venue::instrument_status status) {
  if (auto* mk = impl_->market(symbol)) mk->status = status;
}

void exchange::set_market(const std::string& symbol, decimal price, const std::vector<venue::book_level>& bids,
                          const std::vector<venue::book_level>& asks, epoch_ms now) {
  impl_->events = listener_;
  market_state* mk = impl_->market(symbol);
  if (mk == nullptr) throw std::invalid_argument("set_market: unknown symbol " + symbol);
  const decimal tick = mk->inst->tick, lot = mk->inst->lot;
  const auto p = to_steps(core::round_price_to_tick(price, tick, core::rounding::half_even), tick);
  if (!p || *p <= 0) throw std::invalid_argument("set_market: bad price for " + symbol);
  collecting_sink sink;
  mk->book.cancel_owner(0, sink);
  sink.dones.clear();
  // Sweep: the market passed every account order at or through `price`.
  for (const auto s : {m::side::sell, m::side::buy}) {
    m::order_request r{};
    r.id = impl_->next_synthetic++;
    r.owner = 0;
    r.s = s;
    r.type = m::order_type::limit;
    r.tif = m::time_in_force::ioc;
    r.price = *p;
    r.qty = sweep_qty;
    mk->book.submit(r, sink);
  }
  impl_->settle(*mk, sink, nullptr, now);
  mk->last = decimal::from_units(*p * tick.units());
  auto add_levels = [&](const std::vector<venue::book_level>& levels, m::side s) {
    for (const auto& l : levels) {
      const auto lp = to_steps(core::round_price_to_tick(l.price, tick, core::rounding::half_even), tick);
      const auto lq = to_steps(core::round_qty_to_lot(l.qty, lot), lot);
      if (!lp || !lq || *lp <= 0 || *lq <= 0) continue;
      if ((s == m::side::buy && *lp >= *p) || (s == m::side::sell && *lp <= *p)) continue;
      m::order_request r{};
      r.id = impl_->next_synthetic++;
      r.owner = 0;
      r.s = s;
      r.price = *lp;
      r.qty = *lq;
      r.tif = m::time_in_force::gtc;
      collecting_sink level_sink;
      mk->book.submit(r, level_sink);
      impl_->settle(*mk, level_sink, nullptr, now);
    }
  };
  add_levels(bids, m::side::buy);
  add_levels(asks, m::side::sell);
  trigger_conditionals(symbol, false, now);
}

void exchange::set_mark(const std::string& symbol, decimal mark, epoch_ms now) {
  impl_->events = listener_;
  market_state* mk = impl_->market(symbol);
  if (mk == nullptr) throw std::invalid_argument("set_mark: unknown symbol " + symbol);
  mk->mark = mark;
  trigger_conditionals(symbol, true, now);
  impl_->check_liquidations(symbol, now);
}

void exchange::apply_funding(const std::string& symbol, decimal rate, epoch_ms now) {
  impl_->events = listener_;
  market_state* mk = impl_->market(symbol);
  if (mk == nullptr) throw std::invalid_argument("apply_funding: unknown symbol " + symbol);
  for (auto& [id, a] : impl_->accounts) {
    for (auto& [key, p] : a.positions) {
      if (key.first != symbol || p.qty.is_zero()) continue;
      const decimal notional = p.qty * mk->inst->contract_size * impl_->mark_of(*mk, p);  // signed
      const decimal amount = -(notional * rate);  // a long pays a positive rate
      a.wallet += amount;
      if (p.mode == margin_mode::isolated) p.isolated_margin += amount;
      impl_->add_bill(a, symbol, venue::bill_type::funding, amount, now);
      impl_->emit_position_and_balance(a, symbol, key.second);
    }
  }
  impl_->check_liquidations(symbol, now);
}

std::optional<decimal> exchange::last_price(const std::string& symbol) const {
  const auto* mk = impl_->market(symbol);
  return mk ? mk->last : std::nullopt;
}
std::optional<decimal> exchange::mark(const std::string& symbol) const {
  const auto* mk = impl_->market(symbol);
  if (!mk) return std::nullopt;
  return mk->mark ? mk->mark : mk->last;
}

venue::order_book exchange::book(const std::string& symbol, std::size_t depth, epoch_ms now) const {
  venue::order_book b;
  b.symbol = symbol;
  b.time = now;
  const auto* mk = impl_->market(symbol);
  if (!mk) return b;
  const decimal tick = mk->inst->tick, lot = mk->inst->lot;
  for (const auto& l : mk->book.depth(m::side::buy, depth))
    b.bids.push_back({decimal::from_units(l.price * tick.units()), decimal::from_units(l.qty * lot.units())});
  for (const auto& l : mk->book.depth(m::side::sell, depth))
    b.asks.push_back({decimal::from_units(l.price * tick.units()), decimal::from_units(l.qty * lot.units())});
  return b;
}

std::vector<venue::public_trade> exchange::recent_trades(const std::string& symbol, std::size_t limit) const {
  const auto* mk = impl_->market(symbol);
  if (!mk) return {};
  std::vector<venue::public_trade> out;
  for (auto it = mk->trades.rbegin(); it != mk->trades.rend() && out.size() < limit; ++it) out.push_back(*it);
  return out;  // newest first
}

result<venue::order> exchange::place(account_id id, const venue::order_request& r, epoch_ms now) {
  using R = result<venue::order>;
  impl_->events = listener_;
  account_state* a = impl_->account(id);
  if (!a) return R::fail(reject_code::unknown_account, "unknown account");
  market_state* mk = impl_->market(r.symbol);
  if (!mk) return R::fail(reject_code::unknown_symbol, "unknown symbol " + r.symbol);
  using st = venue::instrument_status;
  if (mk->status == st::paused || mk->status == st::closed)
    return R::fail(reject_code::symbol_not_trading, r.symbol + " is not trading");
  if (mk->status == st::cancel_only) return R::fail(reject_code::cancel_only, r.symbol + " is cancel-only");
  if (mk->status == st::close_only && !r.reduce_only)
    return R::fail(reject_code::cancel_only, r.symbol + " is close-only");
  const venue::instrument& inst = *mk->inst;
  const auto lots = to_steps(r.qty, inst.lot);
  if (!lots || *lots <= 0) return R::fail(reject_code::bad_quantity, "quantity not a positive multiple of the lot " + inst.lot.to_string());
  if (r.qty < inst.min_qty) return R::fail(reject_code::qty_below_min, "quantity below the minimum " + inst.min_qty.to_string());
  const auto& max_qty = r.type == venue::order_type::market ? inst.max_market_qty : inst.max_limit_qty;
  if (max_qty && r.qty > *max_qty) return R::fail(reject_code::qty_above_max, "quantity above the maximum " + max_qty->to_string());
  std::int64_t ticks = 0;
  if (r.type == venue::order_type::limit) {
    if (!r.price) return R::fail(reject_code::bad_price, "a limit order needs a price");
    const auto t = to_steps(*r.price, inst.tick);
    if (!t || *t <= 0) return R::fail(reject_code::bad_price, "price not a positive multiple of the tick " + inst.tick.to_string());
    if ((inst.min_price && *r.price < *inst.min_price) || (inst.max_price && *r.price > *inst.max_price))
      return R::fail(reject_code::price_out_of_range, "price outside the instrument's bounds");
    ticks = *t;
  }
  if (!r.client_id.empty() && a->client_ids.count(r.client_id))
    return R::fail(reject_code::duplicate_client_id, "duplicate client order id " + r.client_id);

  // Position side and reduce-only.
  position_side ps = r.pos_side;
  if (a->pmode == position_mode::one_way) {
    if (ps != position_side::both) return R::fail(reject_code::position_side_mismatch, "position side must be BOTH in one-way mode");
  } else {
    if (ps == position_side::both) return R::fail(reject_code::position_side_mismatch, "hedge mode needs LONG or SHORT");
    if (r.reduce_only) return R::fail(reject_code::reduce_only_rejected, "reduce-only is not accepted in hedge mode");
  }
  const int key_side = static_cast<int>(a->pmode == position_mode::one_way ? position_side::both : ps);
  decimal pos_qty;
  if (auto it = a->positions.find({r.symbol, key_side}); it != a->positions.end()) pos_qty = it->second.qty;
  const int dir = side_sign(r.s);
  // Hedge mode: buy LONG / sell SHORT open, the others close and must not exceed the position.
  const bool closing_side = a->pmode == position_mode::hedge &&
                            ((ps == position_side::long_side && dir < 0) || (ps == position_side::short_side && dir > 0));
  const bool reducing = r.reduce_only || closing_side;
  if (reducing) {
    if (pos_qty.is_zero() || (a->pmode == position_mode::one_way && pos_qty.sign() == dir))
      return R::fail(pos_qty.is_zero() ? reject_code::no_position_to_reduce : reject_code::reduce_only_rejected,
                     pos_qty.is_zero() ? "no position to reduce" : "reduce-only order would increase the position");
    if (r.qty > core::abs(pos_qty)) return R::fail(reject_code::reduce_only_rejected, "reduce-only quantity exceeds the position");
  }

  // Margin for the part that increases exposure.
  const int lev = impl_->leverage_of(*a, r.symbol);
  const margin_mode mode = impl_->mode_of(*a, r.symbol);
  decimal ref_price;
  if (r.type == venue::order_type::limit) {
    ref_price = *r.price;
  } else {
    const auto best = dir > 0 ? mk->book.best_ask() : mk->book.best_bid();
    if (!best) return R::fail(reject_code::no_liquidity, dir > 0 ? "no asks" : "no bids");
    ref_price = decimal::from_units(*best * inst.tick.units());
  }
  decimal opening = r.qty;
  if (reducing) opening = decimal::zero();
  else if (!pos_qty.is_zero() && pos_qty.sign() != dir) opening = std::max(decimal::zero(), r.qty - core::abs(pos_qty));
  const decimal taker_rate = inst.taker_fee.value_or(decimal::zero());
  const decimal needed = opening * inst.contract_size * ref_price / decimal::from_integer(lev) +
                         r.qty * inst.contract_size * ref_price * taker_rate;
  if (!opening.is_zero() && needed > impl_->available(*a))
    return R::fail(reject_code::insufficient_margin, "insufficient margin: needs " + needed.to_string());

  // Matching-level pre-checks that must not leave a trace.
  m::order_request mr{};
  mr.id = impl_->next_order++;
  mr.owner = id;
  mr.s = dir > 0 ? m::side::buy : m::side::sell;
  mr.qty = *lots;
  if (r.type == venue::order_type::market) {
    mr.type = m::order_type::market;
    mr.tif = m::time_in_force::ioc;
  } else {
    mr.type = m::order_type::limit;
    mr.price = ticks;
    switch (r.tif) {
      case venue::time_in_force::gtc: mr.tif = m::time_in_force::gtc; break;
      case venue::time_in_force::ioc: mr.tif = m::time_in_force::ioc; break;
      case venue::time_in_force::fok: mr.tif = m::time_in_force::fok; break;
      case venue::time_in_force::post_only: mr.tif = m::time_in_force::post_only; break;
    }
  }
  mr.stp = m::stp_mode::expire_taker;

  live_order lo;
  lo.owner = id;
  lo.mid = mr.id;
  lo.leverage = lev;
  lo.mode = mode;
  lo.o.symbol = r.symbol;
  lo.o.order_id = std::to_string(mr.id);
  lo.o.client_id = r.client_id.empty() ? "sim" + lo.o.order_id : r.client_id;
  lo.o.s = r.s;
  lo.o.type = r.type;
  lo.o.tif = r.tif;
  lo.o.state = order_state::open;
  lo.o.price = r.type == venue::order_type::limit ? *r.price : decimal::zero();
  lo.o.qty = r.qty;
  lo.o.reduce_only = reducing;
  lo.o.pos_side = ps;
  lo.o.create_time = lo.o.update_time = now;
  lo.o.fee_asset = impl_->config.settle_asset;

  collecting_sink sink;
  const m::submit_result sr = mk->book.submit(mr, sink);
  if (sr.reject != m::reject_reason::none) {
    switch (sr.reject) {
      case m::reject_reason::post_only_would_take: return R::fail(reject_code::post_only_would_take, "post-only order would take liquidity");
      case m::reject_reason::fok_cannot_fill: return R::fail(reject_code::fok_cannot_fill, "fill-or-kill order cannot be filled in full");
      case m::reject_reason::no_liquidity: return R::fail(reject_code::no_liquidity, "no liquidity");
      default: return R::fail(reject_code::bad_quantity, "order rejected by the book");
    }
  }
  a->client_ids[lo.o.client_id] = lo.o.order_id;
  if (listener_) listener_->on_order(id, lo.o);  // the NEW ack comes before any fill
  impl_->settle(*mk, sink, &lo, now);
  if (lo.mid != 0) {  // rests on the book
    lo.reserved = reducing ? decimal::zero()
                           : (lo.o.qty - lo.o.filled_qty) * inst.contract_size * lo.o.price / decimal::from_integer(lev);
    auto [it, ok] = impl_->live.emplace(lo.mid, lo);
    (void)ok;
    return R::success(it->second.o);
  }
  return R::success(lo.o);
}

result<venue::order> exchange::cancel(account_id id, const std::string& symbol, const std::string& order_id,
                                      const std::string& client_id, epoch_ms now) {
  using R = result<venue::order>;
  impl_->events = listener_;
  account_state* a = impl_->account(id);
  if (!a) return R::fail(reject_code::unknown_account, "unknown account");
  market_state* mk = impl_->market(symbol);
  if (!mk) return R::fail(reject_code::unknown_symbol, "unknown symbol " + symbol);
  for (auto& [mid, lo] : impl_->live) {
    if (lo.owner != id || lo.o.symbol != symbol) continue;
    if ((!order_id.empty() && lo.o.order_id == order_id) || (order_id.empty() && !client_id.empty() && lo.o.client_id == client_id)) {
      collecting_sink sink;
      mk->book.cancel(mid, sink);
      lo.o.state = order_state::cancelled;
      lo.o.update_time = now;
      lo.reserved = decimal::zero();
      venue::order out = lo.o;
      if (listener_) listener_->on_order(id, out);
      impl_->archive(lo);
      impl_->live.erase(mid);
      impl_->emit_position_and_balance(*a, symbol, -1);
      return R::success(out);
    }
  }
  return R::fail(reject_code::unknown_order, "unknown order");
}

std::vector<venue::order> exchange::cancel_all(account_id id, const std::string& symbol, epoch_ms now) {
  impl_->events = listener_;
  account_state* a = impl_->account(id);
  if (!a) return {};
  return impl_->cancel_account_orders(*a, symbol, now);
}

std::optional<venue::order> exchange::query(account_id id, const std::string& symbol, const std::string& order_id,
                                            const std::string& client_id) const {
  const account_state* a = impl_->account(id);
  if (!a) return std::nullopt;
  auto match = [&](const venue::order& o) {
    return o.symbol == symbol && ((!order_id.empty() && o.order_id == order_id) ||
                                  (order_id.empty() && !client_id.empty() && o.client_id == client_id));
  };
  for (const auto& [mid, lo] : impl_->live)
    if (lo.owner == id && match(lo.o)) return lo.o;
  for (auto it = a->history.rbegin(); it != a->history.rend(); ++it)
    if (match(*it)) return *it;
  return std::nullopt;
}

std::vector<venue::order> exchange::open_orders(account_id id, const std::string& symbol) const {
  std::vector<std::pair<m::order_id, venue::order>> rows;
  for (const auto& [mid, lo] : impl_->live)
    if (lo.owner == id && (symbol.empty() || lo.o.symbol == symbol)) rows.emplace_back(mid, lo.o);
  std::sort(rows.begin(), rows.end(), [](const auto& x, const auto& y) { return x.first < y.first; });
  std::vector<venue::order> out;
  for (auto& [mid, o] : rows) out.push_back(std::move(o));
  return out;
}

std::vector<venue::order> exchange::order_history(account_id id, const std::string& symbol) const {
  const account_state* a = impl_->account(id);
  std::vector<venue::order> out;
  if (!a) return out;
  for (const auto& o : a->history)
    if (symbol.empty() || o.symbol == symbol) out.push_back(o);
  return out;
}

result<int> exchange::set_leverage(account_id id, const std::string& symbol, int leverage, epoch_ms) {
  account_state* a = impl_->account(id);
  if (!a) return result<int>::fail(reject_code::unknown_account, "unknown account");
  const market_state* mk = impl_->market(symbol);
  if (!mk) return result<int>::fail(reject_code::unknown_symbol, "unknown symbol " + symbol);
  if (leverage < 1 || leverage > mk->inst->max_leverage)
    return result<int>::fail(reject_code::invalid_leverage,
                             "leverage must be 1.." + std::to_string(mk->inst->max_leverage));
  a->leverage[symbol] = leverage;
  for (auto& [key, p] : a->positions)
    if (key.first == symbol && !p.qty.is_zero() && p.mode == margin_mode::cross) p.leverage = leverage;
  return result<int>::success(leverage);
}

result<venue::margin_mode> exchange::set_margin_mode(account_id id, const std::string& symbol, venue::margin_mode mode) {
  using R = result<venue::margin_mode>;
  account_state* a = impl_->account(id);
  if (!a) return R::fail(reject_code::unknown_account, "unknown account");
  if (!impl_->market(symbol)) return R::fail(reject_code::unknown_symbol, "unknown symbol " + symbol);
  if (impl_->mode_of(*a, symbol) != mode) {
    for (const auto& [key, p] : a->positions)
      if (key.first == symbol && !p.qty.is_zero())
        return R::fail(reject_code::position_exists, "cannot change margin mode with an open position");
    for (const auto& [mid, lo] : impl_->live)
      if (lo.owner == id && lo.o.symbol == symbol)
        return R::fail(reject_code::position_exists, "cannot change margin mode with open orders");
  }
  a->mmode[symbol] = mode;
  return R::success(mode);
}

result<venue::position_mode> exchange::set_position_mode(account_id id, venue::position_mode mode) {
  using R = result<venue::position_mode>;
  account_state* a = impl_->account(id);
  if (!a) return R::fail(reject_code::unknown_account, "unknown account");
  if (a->pmode != mode) {
    for (const auto& [key, p] : a->positions)
      if (!p.qty.is_zero()) return R::fail(reject_code::position_exists, "cannot change position mode with an open position");
    for (const auto& [mid, lo] : impl_->live)
      if (lo.owner == id) return R::fail(reject_code::position_exists, "cannot change position mode with open orders");
  }
  a->pmode = mode;
  return R::success(mode);
}

int exchange::leverage(account_id id, const std::string& symbol) const {
  const account_state* a = impl_->account(id);
  return a ? impl_->leverage_of(*a, symbol) : 0;
}
venue::margin_mode exchange::margin_mode_of(account_id id, const std::string& symbol) const {
  const account_state* a = impl_->account(id);
  return a ? impl_->mode_of(*a, symbol) : margin_mode::cross;
}
venue::position_mode exchange::position_mode_of(account_id id) const {
  const account_state* a = impl_->account(id);
  return a ? a->pmode : position_mode::one_way;
}

venue::balance exchange::balance(account_id id) const {
  const account_state* a = impl_->account(id);
  if (!a) return {};
  return impl_->balance_of(*a);
}

std::vector<venue::position> exchange::positions(account_id id) const {
  const account_state* a = impl_->account(id);
  std::vector<venue::position> out;
  if (!a) return out;
  for (const auto& [key, p] : a->positions)
    if (!p.qty.is_zero()) out.push_back(impl_->position_view(*a, key, p));
  return out;
}

std::vector<venue::fill> exchange::fills(account_id id, const std::string& symbol, epoch_ms since) const {
  const account_state* a = impl_->account(id);
  std::vector<venue::fill> out;
  if (!a) return out;
  for (const auto& f : a->fills)
    if ((symbol.empty() || f.symbol == symbol) && f.time >= since) out.push_back(f);
  return out;
}

std::vector<venue::bill> exchange::bills(account_id id, epoch_ms since) const {
  const account_state* a = impl_->account(id);
  std::vector<venue::bill> out;
  if (!a) return out;
  for (const auto& b : a->bills)
    if (b.time >= since) out.push_back(b);
  return out;
}

void exchange::trigger_conditionals(const std::string& symbol, bool mark_move, epoch_ms now) {
  const market_state* mk = impl_->market(symbol);
  if (mk == nullptr) return;
  const auto price = mark_move ? mk->mark : mk->last;
  if (!price) return;
  for (auto& [id, a] : impl_->accounts) {
    // Collect first: placing the triggered order may change positions and other conditionals.
    std::vector<std::string> due;
    for (const auto& c : a.conditionals)
      if (c.req.symbol == symbol && c.req.on_mark == mark_move && fires(c.req, *price)) due.push_back(c.id);
    for (const auto& cid : due) {
      auto it = std::find_if(a.conditionals.begin(), a.conditionals.end(), [&](const auto& c) { return c.id == cid; });
      if (it == a.conditionals.end()) continue;
      const std::size_t index = static_cast<std::size_t>(it - a.conditionals.begin());
      conditional_order& c = *it;
      c.trigger_time = now;
      venue::order_request r;
      r.symbol = symbol;
      r.client_id = c.req.client_id;
      r.s = c.req.s;
      r.pos_side = c.req.pos_side;
      r.mode = impl_->mode_of(a, symbol);
      const bool limit = c.req.type == trigger_type::stop_limit || c.req.type == trigger_type::take_profit_limit;
      r.type = limit ? venue::order_type::limit : venue::order_type::market;
      r.price = limit ? c.req.price : std::nullopt;
      r.tif = c.req.tif;
      r.reduce_only = (c.req.reduce_only || c.req.close_position) && a.pmode == position_mode::one_way;
      r.qty = c.req.qty;
      if (c.req.close_position) {
        const int key = static_cast<int>(a.pmode == position_mode::one_way ? position_side::both : c.req.pos_side);
        auto p = a.positions.find({symbol, key});
        if (p == a.positions.end() || p->second.qty.is_zero()) {
          impl_->finish_conditional(a, index, conditional_status::expired, "no position to close", now);
          continue;
        }
        r.qty = core::abs(p->second.qty);
      }
      const auto placed = place(id, r, now);
      // `c` may dangle after place(): look the conditional up again.
      it = std::find_if(a.conditionals.begin(), a.conditionals.end(), [&](const auto& x) { return x.id == cid; });
      if (it == a.conditionals.end()) continue;
      const std::size_t at = static_cast<std::size_t>(it - a.conditionals.begin());
      if (!placed.ok()) {
        impl_->finish_conditional(a, at, conditional_status::rejected, placed.error->message, now);
        continue;
      }
      it->order_id = placed.value->order_id;
      it->executed_qty = placed.value->filled_qty;
      it->avg_price = placed.value->avg_price;
      impl_->finish_conditional(a, at,
                                venue::is_final(placed.value->state) ? conditional_status::finished
                                                                     : conditional_status::triggered,
                                "", now);
    }
  }
}

result<conditional_order> exchange::place_conditional(account_id id, const conditional_request& r, epoch_ms now) {
  using R = result<conditional_order>;
  impl_->events = listener_;
  account_state* a = impl_->account(id);
  if (!a) return R::fail(reject_code::unknown_account, "unknown account");
  const market_state* mk = impl_->market(r.symbol);
  if (!mk) return R::fail(reject_code::unknown_symbol, "unknown symbol " + r.symbol);
  const venue::instrument& inst = *mk->inst;
  if (!to_steps(r.trigger_price, inst.tick) || !r.trigger_price.is_positive())
    return R::fail(reject_code::bad_price, "trigger price not a positive multiple of the tick " + inst.tick.to_string());
  const bool limit = r.type == trigger_type::stop_limit || r.type == trigger_type::take_profit_limit;
  if (limit && (!r.price || !to_steps(*r.price, inst.tick) || !r.price->is_positive()))
    return R::fail(reject_code::bad_price, "a stop-limit needs a price on the tick grid");
  if (r.close_position && limit) return R::fail(reject_code::bad_quantity, "closePosition only with STOP_MARKET or TAKE_PROFIT_MARKET");
  if (!r.close_position) {
    const auto lots = to_steps(r.qty, inst.lot);
    if (!lots || *lots <= 0) return R::fail(reject_code::bad_quantity, "quantity not a positive multiple of the lot " + inst.lot.to_string());
    if (r.qty < inst.min_qty) return R::fail(reject_code::qty_below_min, "quantity below the minimum " + inst.min_qty.to_string());
  }
  if (!r.client_id.empty())
    for (const auto& c : a->conditionals)
      if (c.req.client_id == r.client_id) return R::fail(reject_code::duplicate_client_id, "duplicate client algo id " + r.client_id);
  const auto ref = r.on_mark ? mk->mark : mk->last;
  if (ref && fires(r, *ref)) return R::fail(reject_code::would_trigger_immediately, "Order would immediately trigger.");
  conditional_order c;
  c.id = std::to_string(impl_->next_conditional++);
  c.req = r;
  if (c.req.client_id.empty()) c.req.client_id = "simalgo" + c.id;
  c.create_time = c.update_time = now;
  a->conditionals.push_back(c);
  if (listener_) listener_->on_conditional(id, c);
  return R::success(c);
}

result<conditional_order> exchange::cancel_conditional(account_id id, const std::string& symbol, const std::string& cid,
                                                       const std::string& client_id, epoch_ms now) {
  using R = result<conditional_order>;
  impl_->events = listener_;
  account_state* a = impl_->account(id);
  if (!a) return R::fail(reject_code::unknown_account, "unknown account");
  for (std::size_t i = 0; i < a->conditionals.size(); ++i) {
    const auto& c = a->conditionals[i];
    if (!symbol.empty() && c.req.symbol != symbol) continue;
    if ((!cid.empty() && c.id == cid) || (cid.empty() && !client_id.empty() && c.req.client_id == client_id)) {
      impl_->finish_conditional(*a, i, conditional_status::cancelled, "", now);
      return R::success(a->conditional_done.back());
    }
  }
  return R::fail(reject_code::unknown_order, "unknown algo order");
}

std::vector<conditional_order> exchange::cancel_all_conditionals(account_id id, const std::string& symbol, epoch_ms now) {
  impl_->events = listener_;
  std::vector<conditional_order> out;
  account_state* a = impl_->account(id);
  if (!a) return out;
  for (std::size_t i = a->conditionals.size(); i-- > 0;)
    if (symbol.empty() || a->conditionals[i].req.symbol == symbol) {
      impl_->finish_conditional(*a, i, conditional_status::cancelled, "", now);
      out.push_back(a->conditional_done.back());
    }
  return out;
}

std::optional<conditional_order> exchange::query_conditional(account_id id, const std::string& cid,
                                                             const std::string& client_id) const {
  const account_state* a = impl_->account(id);
  if (!a) return std::nullopt;
  auto match = [&](const conditional_order& c) {
    return (!cid.empty() && c.id == cid) || (cid.empty() && !client_id.empty() && c.req.client_id == client_id);
  };
  for (const auto& c : a->conditionals)
    if (match(c)) return c;
  for (auto it = a->conditional_done.rbegin(); it != a->conditional_done.rend(); ++it)
    if (match(*it)) return *it;
  return std::nullopt;
}

std::vector<conditional_order> exchange::open_conditionals(account_id id, const std::string& symbol) const {
  std::vector<conditional_order> out;
  const account_state* a = impl_->account(id);
  if (!a) return out;
  for (const auto& c : a->conditionals)
    if (symbol.empty() || c.req.symbol == symbol) out.push_back(c);
  return out;
}

std::vector<conditional_order> exchange::conditional_history(account_id id, const std::string& symbol) const {
  std::vector<conditional_order> out;
  const account_state* a = impl_->account(id);
  if (!a) return out;
  for (const auto& c : a->conditional_done)
    if (symbol.empty() || c.req.symbol == symbol) out.push_back(c);
  for (const auto& c : a->conditionals)
    if (symbol.empty() || c.req.symbol == symbol) out.push_back(c);
  return out;
}

decimal exchange::net_position(const std::string& symbol) const {
  decimal net;
  for (const auto& [id, a] : impl_->accounts)
    for (const auto& [key, p] : a.positions)
      if (key.first == symbol) net += p.qty;
  return net;
}

}  // namespace pt::sim
