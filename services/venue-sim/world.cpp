#include "world.hpp"

#include "core/log.hpp"
#include "venue/catalog.hpp"
#include "venue/symbols.hpp"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <sstream>
#include <stdexcept>

namespace pt::venue_sim {

using core::decimal;

const char* to_string(protocol p) { return p == protocol::poloniex ? "poloniex" : "binance"; }

std::vector<api_account> accounts_from_env(const char* value) {
  std::vector<api_account> out;
  if (value == nullptr || *value == '\0') return out;
  std::stringstream all(value);
  std::string entry;
  int n = 0;
  while (std::getline(all, entry, ',')) {
    ++n;
    const auto a = entry.find(':');
    const auto b = a == std::string::npos ? a : entry.find(':', a + 1);
    if (a == std::string::npos || b == std::string::npos || a == 0 || b == a + 1)
      throw std::invalid_argument("VENUE_SIM_ACCOUNTS entry " + std::to_string(n) +
                                  " is not key:secret:balance");
    api_account acct;
    acct.key = entry.substr(0, a);
    acct.secret = entry.substr(a + 1, b - a - 1);
    const auto bal = decimal::try_parse(entry.substr(b + 1));
    if (!bal || bal->is_negative())
      throw std::invalid_argument("VENUE_SIM_ACCOUNTS entry " + std::to_string(n) + " (key " + acct.key +
                                  ") has a bad balance");
    acct.balance = *bal;
    pt::log::register_secret(acct.secret);
    out.push_back(std::move(acct));
  }
  return out;
}

namespace {

// Simulator assumptions for what the catalogs leave out (documented in services/venue-sim/README.md).
constexpr int assumed_max_leverage = 20;
const decimal assumed_mmr = decimal::parse("0.005");
const decimal assumed_maker = decimal::parse("0.0002");
const decimal assumed_taker = decimal::parse("0.0005");

venue::instrument to_instrument(const venue::market_spec& m, protocol p) {
  venue::instrument i;
  i.symbol = m.symbol;
  i.base = m.pair.base;
  i.quote = m.pair.quote;
  i.settle = m.pair.quote;
  i.contract_size = m.contract_size.value_or(decimal::one());
  if (!m.tick) throw std::invalid_argument(m.symbol + ": the catalog has no tick");
  i.tick = *m.tick;
  // Poloniex: every market seen has lotSz = minSz = 1 contract (exchanges.md A9).
  i.lot = m.lot.value_or(p == protocol::poloniex ? decimal::one() : decimal::zero());
  if (i.lot.is_zero()) throw std::invalid_argument(m.symbol + ": the catalog has no lot");
  i.min_qty = m.min_size.value_or(i.lot);
  i.max_leverage = m.max_leverage.value_or(assumed_max_leverage);
  i.maintenance_margin_rate = assumed_mmr;
  for (const auto& t : m.risk_tiers)
    if (t.tier == 1 && t.maintenance_margin_rate) i.maintenance_margin_rate = t.maintenance_margin_rate;
  i.maker_fee = m.maker_fee.value_or(assumed_maker);
  i.taker_fee = m.taker_fee.value_or(assumed_taker);
  if (p == protocol::binance) i.min_notional = decimal::from_integer(5);  // B6 example; [?]
  return i;
}

std::string venue_symbol(protocol p, const std::string& base) {
  const auto pair = venue::make_pair_symbol(base, "USDT");
  return p == protocol::poloniex ? venue::to_poloniex_symbol(pair) : venue::to_binance_symbol(pair);
}

struct forwarding_listener final : sim::listener {
  protocol proto;
  std::vector<world_events>* events;
  forwarding_listener(protocol p, std::vector<world_events>* e) : proto(p), events(e) {}
  void on_order(sim::account_id a, const venue::order& o) override {
    for (auto& e : *events)
      if (e.on_order) e.on_order(proto, a, o);
  }
  void on_fill(sim::account_id a, const venue::fill& f) override {
    for (auto& e : *events)
      if (e.on_fill) e.on_fill(proto, a, f);
  }
  void on_position(sim::account_id a, const venue::position& p) override {
    for (auto& e : *events)
      if (e.on_position) e.on_position(proto, a, p);
  }
  void on_balance(sim::account_id a, const venue::balance& b) override {
    for (auto& e : *events)
      if (e.on_balance) e.on_balance(proto, a, b);
  }
  void on_public_trade(const venue::public_trade& t) override {
    for (auto& e : *events)
      if (e.on_trade) e.on_trade(proto, t);
  }
};

}  // namespace

const std::pair<api_account, sim::account_id>* world::venue_state::find_key(std::string_view key) const {
  for (const auto& k : keys)
    if (k.first.key == key) return &k;
  return nullptr;
}

world::world(world_options options) : options_(std::move(options)) {
  if (options_.accounts.empty()) throw std::invalid_argument("venue-sim needs at least one API account");
  std::int64_t start = std::numeric_limits<std::int64_t>::max();
  for (protocol p : options_.protocols) {
    const std::string file =
        options_.catalog_dir + (p == protocol::poloniex ? "/poloniex-futures-v3.json" : "/binance-usdm.json");
    venue::catalog_options co;
    co.mode = venue::catalog_mode::paper;
    co.now = core::timestamp::from_nanos(0);
    const auto cat = venue::load_catalog(file, co);
    if (!cat.ok()) throw std::invalid_argument("catalog " + file + ": " + cat.errors.front());
    std::vector<venue::instrument> instruments;
    std::vector<sim::series> data;
    for (const auto& base : options_.bases) {
      const std::string sym = venue_symbol(p, base);
      const venue::market_spec* spec = nullptr;
      for (const auto& m : cat.catalog->markets)
        if (m.symbol == sym) spec = &m;
      if (spec == nullptr) throw std::invalid_argument(sym + " is not in " + file);
      instruments.push_back(to_instrument(*spec, p));
      auto s = sim::load_series(options_.data_dir, base + "USDT", options_.base_timeframe, sym, options_.source);
      if (spec->funding_interval) s.funding_interval_ms = std::chrono::milliseconds(*spec->funding_interval).count();
      data.push_back(std::move(s));
    }
    venue_state vs;
    vs.proto = p;
    sim::exchange_config ec;
    ec.default_leverage = static_cast<int>(options_.poloniex_default_leverage);
    vs.exchange = std::make_unique<sim::exchange>(std::move(instruments), ec);
    sim::replay_config rc;
    rc.seed = options_.seed;
    vs.replayer = std::make_unique<sim::market_replayer>(*vs.exchange, std::move(data), rc);
    for (const auto& a : options_.accounts) vs.keys.emplace_back(a, vs.exchange->add_account(a.balance));
    vs.listener = std::make_unique<forwarding_listener>(p, &events_);
    vs.exchange->set_listener(vs.listener.get());
    start = std::min(start, vs.replayer->start_time());
    venues_.push_back(std::move(vs));
  }
  // Default start: 30 days in, so clients find history to backfill from.
  const std::int64_t t0 = options_.start_ms.value_or(start + 30LL * 24 * 3600 * 1000);
  for (auto& v : venues_) v.replayer->seek(t0);
  market_now_ = t0;
  clock_ = std::make_unique<replay::replay_clock>(t0, options_.pace);
}

world::~world() { stop(); }

void world::set_events(world_events events) {
  std::lock_guard lock(mutex_);
  events_.clear();
  events_.push_back(std::move(events));
}

void world::add_events(world_events events) {
  std::lock_guard lock(mutex_);
  events_.push_back(std::move(events));
}

world::venue_state* world::venue(protocol p) {
  for (auto& v : venues_)
    if (v.proto == p) return &v;
  return nullptr;
}

std::int64_t world::market_now() const { return market_now_.load(); }

std::int64_t world::server_now() const {
  const auto wall = std::chrono::duration_cast<std::chrono::milliseconds>(
                        std::chrono::system_clock::now().time_since_epoch())
                        .count();
  const auto skew = faults_.peek(fault_kind::clock_skew);
  return wall + (skew ? skew->value : 0);
}

void world::start() {
  thread_ = std::jthread([this](std::stop_token st) { run(st); });
  countdown_thread_ = std::jthread([this](std::stop_token st) { run_countdowns(st); });
}

void world::stop() {
  if (thread_.joinable()) {
    thread_.request_stop();
    clock_->close();
    thread_.join();
  }
  if (countdown_thread_.joinable()) {
    countdown_thread_.request_stop();  // wakes the wait (condition_variable_any with the stop token)
    countdown_thread_.join();
  }
}

std::int64_t world::countdown_now() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

void world::set_countdown(protocol p, sim::account_id account, const std::string& symbol, std::int64_t countdown_ms) {
  auto* v = venue(p);
  if (v == nullptr) return;
  v->countdowns.set(account, symbol, countdown_ms, countdown_now());
  countdown_changed_ = true;
  countdown_cv_.notify_all();
}

// Sleeps until the earliest deadline (or a set_countdown), then cancels what ran out. The venue
// checks its countdowns about every 10 ms; this fires at the deadline itself.
void world::run_countdowns(std::stop_token stop) {
  std::unique_lock lock(mutex_);
  while (!stop.stop_requested()) {
    const std::int64_t now = countdown_now();
    std::optional<std::int64_t> next;
    for (auto& v : venues_) {
      for (const auto& t : v.countdowns.take_due(now)) {
        const auto cancelled = v.exchange->cancel_all(t.account, t.symbol, market_now());
        countdown_fired f{t.account, t.symbol, cancelled.size(), server_now(), market_now()};
        pt::log::info("venue-sim: countdownCancelAll ran out: open orders cancelled",
                      {{"protocol", to_string(v.proto)}, {"account", t.account}, {"symbol", t.symbol},
                       {"countdown_ms", t.countdown_ms}, {"cancelled", cancelled.size()}});
        v.countdowns_fired.push_back(std::move(f));
        if (v.countdowns_fired.size() > 256) v.countdowns_fired.pop_front();
      }
      if (const auto n = v.countdowns.next_deadline()) next = next ? std::min(*next, *n) : *n;
    }
    countdown_changed_ = false;
    const auto changed = [this] { return countdown_changed_; };
    if (next) {
      // At most an hour at a time: a far (saturated) deadline must not overflow the time point.
      const auto wait = std::chrono::milliseconds(std::clamp<std::int64_t>(*next - countdown_now(), 0, 3600000));
      countdown_cv_.wait_until(lock, stop, std::chrono::steady_clock::now() + wait, changed);
    } else {
      countdown_cv_.wait(lock, stop, changed);
    }
  }
}

std::int64_t world::advance_to(std::int64_t t) {
  // The whole step is replayed here, under the world's lock: an order that arrives meanwhile (a
  // guardian close triggered by one of the step's path marks) waits until the step is complete
  // and fills at the step's final state, however slow this machine is. Before, the replay thread
  // advanced one event time at a time and such an order filled wherever the replay happened to
  // be: two runs could differ (services/paperrun/README.md, "known gap").
  std::lock_guard lock(mutex_);
  clock_->advance_to(t);
  for (auto next = next_event_locked(); next && *next <= t; next = next_event_locked()) replay_at_locked(*next);
  for (auto& v : venues_) v.replayer->advance_to(t);
  market_now_ = std::max(market_now_.load(), t);
  return market_now_;
}

std::optional<std::int64_t> world::next_event_locked() const {
  std::optional<std::int64_t> next;
  for (const auto& v : venues_) {
    const auto n = v.replayer->next_event_time();
    if (n) next = next ? std::min(*next, *n) : *n;
  }
  return next;
}

void world::replay_at_locked(std::int64_t at) {
  std::vector<std::pair<protocol, std::vector<std::string>>> moved;
  for (auto& v : venues_) {
    const auto n = v.replayer->advance_to(at);
    events_done_ += static_cast<std::int64_t>(n);
    if (n > 0) {
      std::vector<std::string> syms;
      for (const auto& s : v.replayer->data()) syms.push_back(s.venue_symbol);
      moved.emplace_back(v.proto, std::move(syms));
    }
  }
  market_now_ = std::max(market_now_.load(), at);
  if (!moved.empty()) last_event_ = at;
  for (auto& e : events_)
    if (e.on_market)
      for (const auto& [p, syms] : moved) e.on_market(p, syms);
}

void world::run(std::stop_token stop) {
  while (!stop.stop_requested()) {
    std::optional<std::int64_t> next;
    {
      std::lock_guard lock(mutex_);
      next = next_event_locked();
    }
    if (!next) {
      // The data is exhausted: the market stands still and the venue stays up until stopped.
      // Not a wait on the clock: unthrottled (or a switch to it) would return at once and spin,
      // and a lockstep step would fling the time to the far future.
      exhausted_ = true;
      std::mutex idle;
      std::condition_variable_any cv;
      std::unique_lock lock(idle);
      cv.wait(lock, stop, [] { return false; });
      return;
    }
    if (!clock_->wait_until(*next, stop)) return;
    std::lock_guard lock(mutex_);
    replay_at_locked(*next);  // nothing left at *next when a lockstep step replayed it already
  }
}

}  // namespace pt::venue_sim
