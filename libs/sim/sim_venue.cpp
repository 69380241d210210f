#include "sim/sim_venue.hpp"

#include "venue/symbols.hpp"

#include <algorithm>
#include <limits>
#include <stdexcept>
#include <utility>

namespace pt::sim {

namespace pv = pt::venue;

namespace {

struct code_row {
  reject_code code;
  std::int64_t number;
};
// Fixed numbers (see the header): never derived from the enum's order.
constexpr code_row code_table[] = {
    {reject_code::unknown_symbol, 1001},       {reject_code::symbol_not_trading, 1002},
    {reject_code::cancel_only, 1003},          {reject_code::bad_quantity, 1004},
    {reject_code::qty_below_min, 1005},        {reject_code::qty_above_max, 1006},
    {reject_code::bad_price, 1007},            {reject_code::price_out_of_range, 1008},
    {reject_code::insufficient_margin, 1009},  {reject_code::reduce_only_rejected, 1010},
    {reject_code::no_position_to_reduce, 1011}, {reject_code::post_only_would_take, 1012},
    {reject_code::fok_cannot_fill, 1013},      {reject_code::no_liquidity, 1014},
    {reject_code::duplicate_client_id, 1015},  {reject_code::unknown_order, 1016},
    {reject_code::invalid_leverage, 1017},     {reject_code::position_exists, 1018},
    {reject_code::position_side_mismatch, 1019}, {reject_code::unknown_account, 1020},
    {reject_code::would_trigger_immediately, 1021},
};

[[noreturn]] void refuse(std::int64_t code, std::string message) {
  throw pv::venue_error(pv::outcome_class::reject, std::move(message), code);
}
[[noreturn]] void refuse(reject_code code, std::string message) { refuse(venue_error_code(code), std::move(message)); }
[[noreturn]] void refuse(const reject& r) { refuse(r.code, r.message); }

// Bad arguments that slip past the checks (an interval name, a decimal overflow) still leave as
// venue_error, as the interface promises.
template <class F>
auto guarded(F&& f) -> decltype(f()) {
  try {
    return f();
  } catch (const pv::venue_error&) {
    throw;
  } catch (const std::invalid_argument& e) {
    refuse(sim_venue_code::bad_request, e.what());
  } catch (const core::decimal_error& e) {
    refuse(sim_venue_code::bad_request, e.what());
  }
}

epoch_ms bucket_of(epoch_ms t, std::int64_t ms) { return t - ((t % ms) + ms) % ms; }

bool same_levels(const std::vector<pv::book_level>& a, const std::vector<pv::book_level>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (a[i].price != b[i].price || a[i].qty != b[i].qty) return false;
  return true;
}

bool same_candle(const pv::candle& a, const pv::candle& b) {
  return a.open_time == b.open_time && a.open == b.open && a.high == b.high && a.low == b.low &&
         a.close == b.close && a.volume == b.volume && a.closed == b.closed;
}

// Time aside: a ticker is news only when a figure in it moved.
bool same_ticker(const pv::ticker& a, const pv::ticker& b) {
  return a.last == b.last && a.open == b.open && a.high == b.high && a.low == b.low && a.volume == b.volume &&
         a.bid == b.bid && a.bid_qty == b.bid_qty && a.ask == b.ask && a.ask_qty == b.ask_qty && a.mark == b.mark;
}

bool same_mark(const pv::mark_price& a, const pv::mark_price& b) {
  return a.mark == b.mark && a.index == b.index && a.funding_rate == b.funding_rate &&
         a.next_funding_time == b.next_funding_time;
}

const char* flavour_name(venue_flavour f) {
  switch (f) {
    case venue_flavour::poloniex: return "poloniex-futures-v3";
    case venue_flavour::binance: return "binance-usdm";
    case venue_flavour::native: break;
  }
  return "sim";
}

// The posed-as venue's own name for a ledger row (exchanges.md: Poloniex /v3/account/bills
// `type`, Binance /fapi/v1/income `incomeType`); native keeps what the exchange wrote.
const char* bill_spelling(venue_flavour f, pv::bill_type t) {
  using bt = pv::bill_type;
  if (f == venue_flavour::poloniex) {
    switch (t) {
      case bt::funding: return "FUNDING_FEE";
      case bt::realised_pnl: return "PNL";
      case bt::fee: return "FEE";
      case bt::transfer: return "TRANSFER";
      case bt::liquidation: return "LIQ_PNL";
      case bt::other: return "OTHER";
    }
  } else if (f == venue_flavour::binance) {
    switch (t) {
      case bt::funding: return "FUNDING_FEE";
      case bt::realised_pnl: return "REALIZED_PNL";
      case bt::fee: return "COMMISSION";
      case bt::transfer: return "TRANSFER";
      case bt::liquidation: return "INSURANCE_CLEAR";
      case bt::other: return "OTHER";
    }
  }
  return nullptr;
}

}  // namespace

std::int64_t venue_error_code(reject_code c) {
  for (const auto& row : code_table)
    if (row.code == c) return row.number;
  return 1000;  // unreachable while the table covers the enum (a test checks it does)
}

std::optional<reject_code> reject_code_of(std::int64_t code) {
  for (const auto& row : code_table)
    if (row.number == code) return row.code;
  return std::nullopt;
}

pv::capabilities sim_capabilities(venue_flavour f, const std::vector<pv::instrument>& instruments) {
  pv::capabilities c;
  c.market_orders = true;
  c.limit_orders = true;
  c.post_only = true;
  c.ioc = true;
  c.fok = true;
  c.reduce_only = true;
  // The exchange holds no trigger orders: stops and take-profits are the caller's to watch.
  c.native_stop_orders = false;
  c.native_take_profit = false;
  c.trailing_stop = false;
  c.hedge_mode = true;
  c.isolated_margin = true;
  // No dead-man switch in process: the Venue interface has no call for it, and a countdown is a
  // wall-clock heartbeat that a market-time simulator has no use for. venue-sim serves Binance's
  // countdownCancelAll over the protocol (cancel_countdown.hpp, services/venue-sim/README.md).
  c.cancel_all_countdown = false;
  c.batch_orders = false;  // the interface has no batch call and the simulator none to offer
  c.private_stream_fills = true;
  c.order_query_by_client_id = true;
  c.qty_in_contracts = f == venue_flavour::poloniex;
  if (f == venue_flavour::native)
    for (const auto& i : instruments) c.qty_in_contracts |= i.contract_size != core::decimal::one();
  return c;
}

// ---- stream state ------------------------------------------------------------------------------

struct sim_venue::tap final : listener {
  sim_venue& v;
  explicit tap(sim_venue& venue) : v(venue) {}
  void on_order(account_id a, const pv::order& o) override {
    if (a == v.account_) v.private_arrived(o);
  }
  void on_fill(account_id a, const pv::fill& f) override {
    if (a == v.account_) v.private_arrived(f);
  }
  void on_position(account_id a, const pv::position& p) override {
    if (a == v.account_) v.private_arrived(p);
  }
  void on_balance(account_id a, const pv::balance& b) override {
    if (a == v.account_) v.private_arrived(b);
  }
  void on_public_trade(const pv::public_trade& t) override { v.public_trade_arrived(t); }
};

struct sim_venue::public_entry {
  struct candle_state {
    std::int64_t ms = 0;
    epoch_ms next_open = 0;  // the next bar to deliver closed
    std::optional<pv::candle> running;
  };
  struct symbol_state {
    std::vector<candle_state> candles;
    std::optional<std::int64_t> book_seq;
    std::optional<pv::ticker> ticker;
    std::optional<pv::mark_price> mark;
    std::optional<epoch_ms> funding_time;
  };
  pv::public_subscription sub;
  pv::public_handlers handlers;
  std::map<std::string, symbol_state> symbols;
  bool active = true;
};

struct sim_venue::private_entry {
  pv::private_handlers handlers;
  bool active = true;
};

// ---- construction ------------------------------------------------------------------------------

sim_venue::sim_venue(exchange& ex, market_replayer& rp, account_id account, sim_venue_options options,
                     listener* previous)
    : ex_(ex), rp_(rp), account_(account), options_(std::move(options)), previous_(previous) {
  init();
  own_fanout_.add(previous_);
  own_fanout_.add(tap_.get());
  ex_.set_listener(&own_fanout_);
  installed_ = true;
}

sim_venue::sim_venue(exchange& ex, market_replayer& rp, account_id account, listener_fanout& fanout,
                     sim_venue_options options)
    : ex_(ex), rp_(rp), account_(account), options_(std::move(options)) {
  init();
  joined_ = &fanout;
  joined_->add(tap_.get());
}

sim_venue::sim_venue(std::unique_ptr<exchange> ex, std::unique_ptr<market_replayer> rp, account_id account,
                     sim_venue_options options)
    : owned_ex_(std::move(ex)),
      owned_rp_(std::move(rp)),
      ex_(*owned_ex_),
      rp_(*owned_rp_),
      account_(account),
      options_(std::move(options)) {
  init();
  own_fanout_.add(tap_.get());
  ex_.set_listener(&own_fanout_);
  installed_ = true;
}

std::unique_ptr<sim_venue> sim_venue::create(std::vector<pv::instrument> instruments, std::vector<series> data,
                                             sim_world_config world, sim_venue_options options) {
  auto ex = std::make_unique<exchange>(std::move(instruments), world.exchange);
  const account_id acct = ex->add_account(world.initial_wallet);
  auto rp = std::make_unique<market_replayer>(*ex, std::move(data), world.replay);
  if (world.start) rp->seek(*world.start);
  return std::unique_ptr<sim_venue>(new sim_venue(std::move(ex), std::move(rp), acct, std::move(options)));
}

void sim_venue::init() {
  if (!ex_.has_account(account_)) throw std::invalid_argument("sim_venue: unknown account " + std::to_string(account_));
  if (options_.stream_book_depth < 1) throw std::invalid_argument("sim_venue: stream_book_depth must be >= 1");
  // Posing as Binance over contract-sized instruments would make every quantity a caller sends
  // mean something else than the capabilities say.
  if (options_.flavour == venue_flavour::binance)
    for (const auto& i : ex_.instruments())
      if (i.contract_size != core::decimal::one())
        throw std::invalid_argument("sim_venue: binance flavour needs contract_size 1, " + i.symbol + " has " +
                                    i.contract_size.to_string());
  name_ = options_.name.empty() ? flavour_name(options_.flavour) : options_.name;
  caps_ = sim_capabilities(options_.flavour, ex_.instruments());
  tap_ = std::make_unique<tap>(*this);
}

sim_venue::~sim_venue() {
  if (installed_) ex_.set_listener(previous_);
  if (joined_ != nullptr) joined_->remove(tap_.get());
}

// ---- helpers -----------------------------------------------------------------------------------

const pv::instrument& sim_venue::instrument_of(const std::string& symbol) const {
  const auto* inst = ex_.find_instrument(symbol);
  if (inst == nullptr) refuse(reject_code::unknown_symbol, "unknown symbol " + symbol);
  return *inst;
}

const series& sim_venue::series_of(const std::string& symbol) const {
  instrument_of(symbol);
  const auto* s = rp_.find(symbol);
  if (s == nullptr) refuse(sim_venue_code::no_market_data, "no recorded market data for " + symbol);
  return *s;
}

std::int64_t sim_venue::interval_ms(const std::string& symbol, const std::string& interval) const {
  const series& s = series_of(symbol);
  const std::int64_t ms = pv::duration_of(pv::parse_timeframe(interval)).count();
  // The replayer serves the base bars, recorded files of other intervals and whole multiples of
  // the base; a finer interval would have to invent what happened inside a bar.
  if (ms != s.base_ms && s.other_timeframes.count(ms) == 0 && ms % s.base_ms != 0)
    refuse(sim_venue_code::bad_request, "interval " + interval + " is not served for " + symbol +
                                            " (base bars are " + std::to_string(s.base_ms) + " ms)");
  return ms;
}

void sim_venue::guard_trading(const char* what) const {
  if (in_exchange_callback_ > 0)
    refuse(sim_venue_code::reentrant_call,
           std::string(what) + " from inside a private handler: the exchange is mid-call (use deferred delivery)");
}

void sim_venue::after_call() {
  if (options_.delivery == private_delivery::deferred) flush_private();
}

pv::order_book sim_venue::current_book(const std::string& symbol) {
  pv::order_book b = ex_.book(symbol, static_cast<std::size_t>(options_.stream_book_depth), now());
  book_state& st = books_[symbol];
  if (!st.last || !same_levels(st.last->bids, b.bids) || !same_levels(st.last->asks, b.asks)) {
    ++st.seq;
    st.last = b;
  }
  b.update_id = st.seq;
  b.first_update_id = st.seq;
  b.prev_update_id = st.seq - 1;
  b.snapshot = true;
  return b;
}

std::optional<pv::mark_price> sim_venue::mark_of(const std::string& symbol) const {
  const auto m = ex_.mark(symbol);
  if (!m) return std::nullopt;
  pv::mark_price mp;
  mp.symbol = symbol;
  mp.mark = *m;
  mp.index = *m;  // the replay has one price series: index = mark
  mp.time = now();
  if (const auto f = rp_.current_funding(symbol)) {
    // Like Binance's premiumIndex: the rate that applies at the next settlement.
    mp.funding_rate = f->next_rate.value_or(f->rate);
    mp.next_funding_time = f->next_time;
  }
  return mp;
}

void sim_venue::report_error(const std::string& what) {
  if (!events_.on_error) return;
  try {
    events_.on_error(what);
  } catch (...) {  // an error handler that throws has nowhere further to report to
  }
}

// ---- private events ----------------------------------------------------------------------------

void sim_venue::private_arrived(private_event e) {
  if (private_.empty()) return;
  if (options_.delivery == private_delivery::deferred) {
    pending_private_.push_back(std::move(e));
    return;
  }
  ++in_exchange_callback_;
  dispatch_private(e);
  --in_exchange_callback_;
}

void sim_venue::dispatch_private(const private_event& e) {
  const auto subs = private_;  // a handler may subscribe or close the streams
  for (const auto& s : subs) {
    if (!s->active) continue;
    const pv::private_handlers& h = s->handlers;
    try {
      if (const auto* o = std::get_if<pv::order>(&e)) {
        if (h.on_order) h.on_order(*o);
      } else if (const auto* f = std::get_if<pv::fill>(&e)) {
        if (h.on_fill) h.on_fill(*f);
      } else if (const auto* p = std::get_if<pv::position>(&e)) {
        if (h.on_position) h.on_position(*p);
      } else if (const auto* b = std::get_if<pv::balance>(&e)) {
        if (h.on_balance) h.on_balance(*b);
      }
    } catch (const std::exception& ex) {
      report_error(std::string("private stream handler threw: ") + ex.what());
    } catch (...) {
      report_error("private stream handler threw");
    }
  }
}

void sim_venue::flush_private() {
  if (flushing_) return;  // a handler's own trading call: the outer loop delivers its events
  flushing_ = true;
  while (!pending_private_.empty()) {
    private_event e = std::move(pending_private_.front());
    pending_private_.pop_front();
    dispatch_private(e);
  }
  flushing_ = false;
}

// ---- public streams ----------------------------------------------------------------------------

void sim_venue::public_trade_arrived(const pv::public_trade& t) {
  bool wanted = false;
  for (const auto& e : public_)
    if (e->active && e->sub.trades && e->handlers.on_trade &&
        std::find(e->sub.symbols.begin(), e->sub.symbols.end(), t.symbol) != e->sub.symbols.end())
      wanted = true;
  if (!wanted) return;
  pending_trades_.push_back(t);
  if (pending_trades_.size() > options_.max_pending_trades) {
    pending_trades_.pop_front();
    ++dropped_trades_;
  }
}

void sim_venue::on_advanced() {
  flush_private();
  if (dropped_trades_ > 0) {
    report_error("trade stream: " + std::to_string(dropped_trades_) + " trades dropped (on_advanced called too rarely)");
    dropped_trades_ = 0;
  }
  std::deque<pv::public_trade> trades;
  trades.swap(pending_trades_);
  const epoch_ms t = now();
  const auto entries = public_;  // a handler may subscribe or close the streams
  for (const auto& e : entries) {
    const pv::public_handlers& h = e->handlers;
    // Every delivery goes through here: it stops once the streams are closed, and a handler's
    // exception is reported, not propagated, as a connector's I/O thread would.
    auto emit = [&](const auto& fn, const auto&... args) {
      if (!e->active || !fn) return;
      try {
        fn(args...);
      } catch (const std::exception& ex) {
        report_error(std::string("public stream handler threw: ") + ex.what());
      } catch (...) {
        report_error("public stream handler threw");
      }
    };
    for (const auto& sym : e->sub.symbols) {
      if (!e->active) break;
      auto& st = e->symbols[sym];
      if (e->sub.trades)
        for (const auto& tr : trades)
          if (tr.symbol == sym) emit(h.on_trade, tr);
      if (e->sub.book && h.on_book) {
        const pv::order_book b = current_book(sym);
        if (!st.book_seq || *st.book_seq != b.update_id) {
          st.book_seq = b.update_id;
          emit(h.on_book, b);
        }
      }
      if (h.on_candle) {
        for (auto& cs : st.candles) {
          if (t >= cs.next_open + cs.ms) {
            const auto limit = static_cast<std::size_t>((t - cs.next_open) / cs.ms + 2);
            for (const auto& c : rp_.candles(sym, cs.ms, cs.next_open, std::nullopt, limit)) {
              if (!c.closed || c.open_time < cs.next_open) continue;
              cs.next_open = c.open_time + cs.ms;
              emit(h.on_candle, c, sym);
            }
            // Every bar opening before the current bucket has closed: a gap in the data is skipped.
            cs.next_open = std::max(cs.next_open, bucket_of(t, cs.ms));
          }
          if (options_.running_candles) {
            for (const auto& c : rp_.candles(sym, cs.ms, bucket_of(t, cs.ms), std::nullopt, 2)) {
              if (c.closed || (cs.running && same_candle(*cs.running, c))) continue;
              cs.running = c;
              emit(h.on_candle, c, sym);
            }
          }
        }
      }
      if (e->sub.ticker && h.on_ticker) {
        if (auto tk = rp_.ticker(sym); tk && (!st.ticker || !same_ticker(*st.ticker, *tk))) {
          st.ticker = tk;
          emit(h.on_ticker, *tk);
        }
      }
      if (e->sub.mark_price && h.on_mark_price) {
        if (auto mp = mark_of(sym); mp && (!st.mark || !same_mark(*st.mark, *mp))) {
          st.mark = mp;
          emit(h.on_mark_price, *mp);
        }
      }
      if (e->sub.funding && h.on_funding) {
        if (auto f = rp_.current_funding(sym); f && (!st.funding_time || *st.funding_time != f->time)) {
          st.funding_time = f->time;
          f->mark = ex_.mark(sym);
          emit(h.on_funding, *f);
        }
      }
    }
  }
}

std::size_t sim_venue::advance_to(epoch_ms t) {
  const std::size_t n = rp_.advance_to(t);
  on_advanced();
  return n;
}

void sim_venue::subscribe_public(const pv::public_subscription& sub, pv::public_handlers handlers) {
  guarded([&] {
    auto e = std::make_shared<public_entry>();
    e->sub = sub;
    e->handlers = std::move(handlers);
    const epoch_ms t = now();
    for (const auto& sym : sub.symbols) {
      instrument_of(sym);
      auto& st = e->symbols[sym];
      for (const auto& iv : sub.candle_intervals) {
        const std::int64_t ms = interval_ms(sym, iv);
        // From now on: the bar running now is the first one delivered closed.
        st.candles.push_back({ms, bucket_of(t, ms), std::nullopt});
      }
    }
    public_.push_back(std::move(e));
  });
  if (events_.on_connection) events_.on_connection("public", true);
}

void sim_venue::subscribe_private(pv::private_handlers handlers) {
  auto e = std::make_shared<private_entry>();
  e->handlers = std::move(handlers);
  private_.push_back(std::move(e));
  if (events_.on_connection) events_.on_connection("private", true);
}

void sim_venue::set_stream_events(pv::stream_events events) { events_ = std::move(events); }

void sim_venue::close_streams() {
  const bool had_public = !public_.empty(), had_private = !private_.empty();
  for (auto& e : public_) e->active = false;
  for (auto& e : private_) e->active = false;
  public_.clear();
  private_.clear();
  pending_private_.clear();
  pending_trades_.clear();
  if (events_.on_connection) {
    if (had_public) events_.on_connection("public", false);
    if (had_private) events_.on_connection("private", false);
  }
}

// ---- market data -------------------------------------------------------------------------------

std::vector<pv::instrument> sim_venue::instruments() { return ex_.instruments(); }

std::vector<pv::candle> sim_venue::klines(const pv::kline_query& q) {
  return guarded([&] {
    const std::int64_t ms = interval_ms(q.symbol, q.interval);
    if (q.limit <= 0) refuse(sim_venue_code::bad_request, "klines limit must be > 0");
    if (q.start && q.end && *q.start > *q.end) refuse(sim_venue_code::bad_request, "klines start is after end");
    auto rows = rp_.candles(q.symbol, ms, q.start, q.end, static_cast<std::size_t>(q.limit));
    // Never a bar from the future: the replayer already stops at now; this keeps it a promise.
    const epoch_ms t = now();
    std::erase_if(rows, [t](const pv::candle& c) { return c.open_time > t; });
    return rows;
  });
}

pv::order_book sim_venue::book(const std::string& symbol, int depth) {
  return guarded([&] {
    instrument_of(symbol);
    if (depth <= 0) refuse(sim_venue_code::bad_request, "book depth must be > 0");
    pv::order_book b = current_book(symbol);  // keeps the update ids in step with the stream
    if (depth != options_.stream_book_depth) {
      pv::order_book d = ex_.book(symbol, static_cast<std::size_t>(depth), now());
      d.update_id = b.update_id;
      d.first_update_id = b.first_update_id;
      d.prev_update_id = b.prev_update_id;
      d.snapshot = true;
      return d;
    }
    return b;
  });
}

std::vector<pv::public_trade> sim_venue::trades(const std::string& symbol, int limit) {
  return guarded([&] {
    instrument_of(symbol);
    if (limit <= 0) refuse(sim_venue_code::bad_request, "trades limit must be > 0");
    auto rows = ex_.recent_trades(symbol, static_cast<std::size_t>(limit));
    std::reverse(rows.begin(), rows.end());  // the exchange gives newest first
    return rows;
  });
}

pv::ticker sim_venue::get_ticker(const std::string& symbol) {
  return guarded([&] {
    series_of(symbol);
    auto t = rp_.ticker(symbol);
    if (!t) refuse(sim_venue_code::no_market_data, symbol + " has no price yet");
    return *t;
  });
}

pv::mark_price sim_venue::get_mark_price(const std::string& symbol) {
  return guarded([&] {
    instrument_of(symbol);
    auto m = mark_of(symbol);
    if (!m) refuse(sim_venue_code::no_market_data, symbol + " has no mark price yet");
    return *m;
  });
}

pv::funding_rate sim_venue::get_funding_rate(const std::string& symbol) {
  return guarded([&] {
    series_of(symbol);
    auto f = rp_.current_funding(symbol);
    if (!f) refuse(sim_venue_code::no_market_data, symbol + " has no recorded funding");
    f->mark = ex_.mark(symbol);
    return *f;
  });
}

std::vector<pv::funding_rate> sim_venue::funding_history(const std::string& symbol, std::optional<epoch_ms> start,
                                                         std::optional<epoch_ms> end, int limit) {
  return guarded([&] {
    series_of(symbol);
    if (limit <= 0) refuse(sim_venue_code::bad_request, "funding history limit must be > 0");
    return rp_.funding_history(symbol, start, end, static_cast<std::size_t>(limit));
  });
}

// ---- trading -----------------------------------------------------------------------------------

std::vector<pv::balance> sim_venue::balances() { return {ex_.balance(account_)}; }

std::vector<pv::position> sim_venue::positions() { return ex_.positions(account_); }

std::vector<pv::order> sim_venue::open_orders(const std::string& symbol) {
  return guarded([&] {
    if (!symbol.empty()) instrument_of(symbol);
    return ex_.open_orders(account_, symbol);
  });
}

pv::order sim_venue::place_order(const pv::order_request& r) {
  return guarded([&] {
    guard_trading("place_order");
    // The client id is how a caller finds an ambiguous order again: the simulator insists on
    // one (deterministic ids from client_order_id.hpp are passed through unchanged).
    if (r.client_id.empty()) refuse(sim_venue_code::missing_client_id, "a client order id is required");
    const pv::instrument& inst = instrument_of(r.symbol);
    if (!r.qty.is_positive()) refuse(reject_code::bad_quantity, "quantity must be > 0");
    pv::order_request req = r;
    if (req.type == pv::order_type::market) req.price.reset();  // a market order has no price to round
    else if (!req.price) refuse(reject_code::bad_price, "a limit order needs a price");
    try {
      req = pv::round_to_instrument(std::move(req), inst);
    } catch (const std::invalid_argument& e) {
      const core::decimal q = core::round_qty_to_lot(r.qty, inst.lot);
      refuse(q.is_zero() || q < inst.min_qty ? reject_code::qty_below_min : reject_code::bad_price, e.what());
    }
    auto res = ex_.place(account_, req, now());
    if (!res.ok()) refuse(*res.error);
    pv::order o = std::move(*res.value);
    after_call();
    return o;
  });
}

pv::order sim_venue::cancel_order(const std::string& symbol, const std::string& client_id) {
  return guarded([&] {
    guard_trading("cancel_order");
    if (client_id.empty()) refuse(sim_venue_code::missing_client_id, "cancel needs the client order id");
    instrument_of(symbol);
    auto res = ex_.cancel(account_, symbol, "", client_id, now());
    if (!res.ok()) refuse(*res.error);
    pv::order o = std::move(*res.value);
    after_call();
    return o;
  });
}

std::optional<pv::order> sim_venue::query_order(const std::string& symbol, const std::string& client_id) {
  return guarded([&] {
    instrument_of(symbol);
    if (client_id.empty()) refuse(sim_venue_code::missing_client_id, "query needs the client order id");
    return ex_.query(account_, symbol, "", client_id);
  });
}

void sim_venue::set_leverage(const std::string& symbol, int leverage, pv::margin_mode mode) {
  guarded([&] {
    guard_trading("set_leverage");
    const pv::instrument& inst = instrument_of(symbol);
    // Checked first so a bad leverage never leaves the margin mode changed.
    if (leverage < 1 || leverage > inst.max_leverage)
      refuse(reject_code::invalid_leverage, "leverage must be 1.." + std::to_string(inst.max_leverage));
    if (auto m = ex_.set_margin_mode(account_, symbol, mode); !m.ok()) refuse(*m.error);
    if (auto l = ex_.set_leverage(account_, symbol, leverage, now()); !l.ok()) refuse(*l.error);
    after_call();
  });
}

void sim_venue::set_margin_mode(const std::string& symbol, pv::margin_mode mode) {
  guarded([&] {
    guard_trading("set_margin_mode");
    instrument_of(symbol);
    if (auto m = ex_.set_margin_mode(account_, symbol, mode); !m.ok()) refuse(*m.error);
    after_call();
  });
}

void sim_venue::set_position_mode(pv::position_mode mode) {
  guarded([&] {
    guard_trading("set_position_mode");
    if (auto m = ex_.set_position_mode(account_, mode); !m.ok()) refuse(*m.error);
    after_call();
  });
}

pv::position_mode sim_venue::get_position_mode() {
  return guarded([&] { return ex_.position_mode_of(account_); });
}

pv::symbol_settings sim_venue::get_symbol_settings(const std::string& symbol, pv::margin_mode) {
  return guarded([&] {
    instrument_of(symbol);
    return pv::symbol_settings{symbol, ex_.leverage(account_, symbol), ex_.margin_mode_of(account_, symbol)};
  });
}

std::optional<pv::key_permissions> sim_venue::get_key_permissions() {
  return guarded([&] { return std::optional<pv::key_permissions>(options_.permissions); });
}

std::vector<pv::fill> sim_venue::fills(const std::string& symbol, std::optional<epoch_ms> start) {
  return guarded([&] {
    if (!symbol.empty()) instrument_of(symbol);
    return ex_.fills(account_, symbol, start.value_or(std::numeric_limits<epoch_ms>::min()));
  });
}

std::vector<pv::bill> sim_venue::bills(std::optional<epoch_ms> start) {
  auto rows = ex_.bills(account_, start.value_or(std::numeric_limits<epoch_ms>::min()));
  for (auto& b : rows) {
    const char* name = bill_spelling(options_.flavour, b.type);
    if (name != nullptr) b.venue_type = name;
  }
  return rows;
}

}  // namespace pt::sim
