// The property test of issue 4 ("Limits"): random signals, prices, gaps through stops and
// partial fills run through the real risk engine (pt::risk_service::engine, fed the JSON messages
// the risk service takes) and a small simulated exchange + execution built on libs/oms; after
// every step the limits must hold. Switching off any one check (the TEST-ONLY hook of
// risk/testing_hooks.hpp, compiled only into pt_risk_testing) must make the property fail.
// See services/risk/README.md "Property test".
#include "engine.hpp"
#include "oms/oms.hpp"
#include "risk/limits.hpp"
#include "risk/testing_hooks.hpp"

#include <catch2/catch.hpp>
#include <rapidcheck.h>

#include <array>
#include <chrono>
#include <cstdlib>
#include <iostream>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#ifndef PT_RISK_TESTING_HOOKS
#error "risk_property_tests must be built against pt_risk_testing (PT_RISK_TESTING_HOOKS)"
#endif

namespace {

using namespace std::chrono_literals;
using pt::core::decimal;
using pt::core::rounding;
using pt::core::timestamp;
using pt::risk::reason_code;
using json = nlohmann::json;
namespace risk = pt::risk;
namespace oms = pt::oms;
namespace core = pt::core;

decimal dec(const char* s) { return decimal::parse(s); }
decimal dec(int n) { return decimal::from_integer(n); }
std::string str(decimal d) { return d.to_string(); }

constexpr std::int64_t ns_per_day = 86'400'000'000'000;
std::int64_t utc_day(timestamp t) { return t.nanos() / ns_per_day; }  // times here are after 1970
timestamp next_midnight(timestamp t) { return timestamp::from_nanos((utc_day(t) + 1) * ns_per_day); }

// ---- the instruments (venue filters as the catalog gives them) ------------------------------

struct instrument_spec {
  const char* symbol;
  const char* contract_size;
  const char* tick;
  const char* price;
  int venue_max_leverage;  // SOL's 4x makes the venue the binding leverage cap when config allows 5
};
constexpr std::array<instrument_spec, 3> instruments{{
    {"BTC_USDT_PERP", "0.001", "0.1", "50000", 75},
    {"ETH_USDT_PERP", "0.01", "0.01", "3000", 50},
    {"SOL_USDT_PERP", "1", "0.001", "150", 4},
}};
constexpr int n_symbols = static_cast<int>(instruments.size());

risk::instrument instrument_of(const instrument_spec& s) {
  risk::instrument i;
  i.symbol = s.symbol;
  i.contract_size = dec(s.contract_size);
  i.lot_size = decimal::one();
  i.min_qty = decimal::one();
  i.min_notional = decimal::zero();
  i.tick_size = dec(s.tick);
  i.max_leverage = dec(s.venue_max_leverage);
  i.maintenance_margin_rate = dec("0.005");
  return i;
}

// ---- what rapidcheck generates ---------------------------------------------------------------

// The configured limits (only ever tighter than the hard caps; risk_config_from_json refuses the rest).
struct limits_params {
  int max_positions = 1;       // 1..3
  int max_leverage = 5;        // 1..5
  int default_leverage = 3;    // 1..max_leverage
  int exposure_pct = 100;      // 25, 50, 75, 100
  int daily_loss_tenths = 30;  // 0.5 %..3 %
  int drawdown_pct = 10;       // 2 %..10 %
  int risk_bp = 100;           // 25, 50, 75, 100 basis points of equity per trade
};

std::ostream& operator<<(std::ostream& os, const limits_params& p) {
  return os << "{max_positions " << p.max_positions << ", max_leverage " << p.max_leverage << ", default_leverage "
            << p.default_leverage << ", max_symbol_exposure " << p.exposure_pct << " %, max_daily_loss "
            << p.daily_loss_tenths / 10 << "." << p.daily_loss_tenths % 10 << " %, max_drawdown " << p.drawdown_pct
            << " %, risk_per_trade " << p.risk_bp << " bp}";
}

json limits_json(const limits_params& p) {
  return {{"max_positions", p.max_positions},
          {"max_leverage", std::to_string(p.max_leverage)},
          {"default_leverage", std::to_string(p.default_leverage)},
          {"max_symbol_exposure_pct", std::to_string(p.exposure_pct)},
          {"max_daily_loss_pct", str(dec(p.daily_loss_tenths) * dec("0.1"))},
          {"max_drawdown_pct", std::to_string(p.drawdown_pct)},
          {"risk_per_trade_pct", str(dec(p.risk_bp) * dec("0.01"))}};
}

// pct % of `qty`, down to the lot (1) but at least 1 when pct > 0; never more than qty.
decimal part_of(decimal qty, int pct) {
  if (pct <= 0 || !qty.is_positive()) return decimal::zero();
  decimal q = core::round_qty_to_lot(core::mul(qty, dec(pct) * dec("0.01"), rounding::down), decimal::one());
  if (q < decimal::one()) q = decimal::one();
  return q > qty ? qty : q;
}

enum class act { propose, move, gap, fill, bar, wait, midnight, funding, operator_cmd, exit };

const char* to_string(act k) {
  switch (k) {
    case act::propose: return "propose";
    case act::move: return "move";
    case act::gap: return "gap";
    case act::fill: return "fill";
    case act::bar: return "bar";
    case act::wait: return "wait";
    case act::midnight: return "midnight";
    case act::funding: return "funding";
    case act::operator_cmd: return "operator";
    case act::exit: return "exit";
  }
  return "?";
}

// One step. `a`, `b`, `c` are raw draws in [0, 1000) that each kind reads its own way (see loop::step).
struct action {
  act kind = act::wait;
  int sym = 0;
  int a = 0, b = 0, c = 0;
};

std::ostream& operator<<(std::ostream& os, const action& x) {
  return os << to_string(x.kind) << "(" << x.sym << "," << x.a << "," << x.b << "," << x.c << ")";
}

rc::Gen<limits_params> gen_limits() {
  return rc::gen::mapcat(rc::gen::inRange(1, 6), [](int max_lev) {
    return rc::gen::apply(
        [max_lev](int pos, int def, int exp, int dl, int dd, int rb) {
          return limits_params{pos, max_lev, def, exp, dl, dd, rb};
        },
        rc::gen::inRange(1, 4), rc::gen::inRange(1, max_lev + 1), rc::gen::element(25, 50, 75, 100),
        rc::gen::element(5, 10, 15, 20, 30), rc::gen::inRange(2, 11), rc::gen::element(25, 50, 75, 100));
  });
}

rc::Gen<action> gen_action() {
  return rc::gen::apply([](act k, int sym, int a, int b, int c) { return action{k, sym, a, b, c}; },
                        rc::gen::weightedElement<act>({{30, act::propose},
                                                       {24, act::move},
                                                       {7, act::gap},
                                                       {8, act::fill},
                                                       {6, act::bar},
                                                       {12, act::wait},
                                                       {4, act::midnight},
                                                       {2, act::funding},
                                                       {4, act::operator_cmd},
                                                       {3, act::exit}}),
                        rc::gen::inRange(0, n_symbols), rc::gen::inRange(0, 1000), rc::gen::inRange(0, 1000),
                        rc::gen::inRange(0, 1000));
}

// ---- coverage counters (summed over every case a run tries) ----------------------------------

struct coverage {
  long cases = 0, approvals = 0, rejections = 0, partial_fills = 0, stop_outs = 0, gaps_through_stop = 0,
       loss_beyond_plan = 0, take_profits = 0, daily_hits = 0, drawdown_kills = 0, operator_kills = 0, max_open = 0;
  std::map<std::string, long> reasons;
};
coverage cov;

// ---- the loop: the real risk engine, a simulated exchange and an execution on libs/oms -------

struct slot {  // one symbol: market, position, the entry in flight
  risk::instrument inst;
  decimal mark;
  // position (venue quantity; cost = sum of fill qty x contract size x fill price, quote)
  risk::side dir = risk::side::buy;
  decimal qty, cost, leverage;
  std::optional<oms::protection_plan> plan;
  decimal planned_risk;  // the decision's risk_amount
  // the approved entry order still being filled
  std::optional<oms::order_machine> entry;
  decimal entry_price;  // the decision's price
  [[nodiscard]] bool open() const { return qty.is_positive(); }
  [[nodiscard]] bool entry_working() const { return entry && !entry->final(); }
  [[nodiscard]] decimal entry_left() const { return entry_working() ? entry->qty() - entry->filled() : decimal::zero(); }
};

std::chrono::steady_clock::time_point steady_of(timestamp t) {
  return std::chrono::steady_clock::time_point(std::chrono::duration_cast<std::chrono::steady_clock::duration>(t.since_epoch()));
}

class loop {
 public:
  // concurrent: a proposal may be decided while an approved entry is still filling (the race the
  // engine does not cover, see the hidden "finding" test); otherwise execution finishes (and
  // reports) the entry first.
  loop(const limits_params& lp, bool concurrent, timestamp start)
      : cfg_(risk::risk_config_from_json(limits_json(lp))), concurrent_(concurrent), now_(start),
        engine_(make_engine(cfg_, start)) {
    for (const auto& s : instruments) {
      slot x;
      x.inst = instrument_of(s);
      x.mark = dec(s.price);
      slots_.push_back(std::move(x));
    }
    // 15 closed 4h bars (ATR(14) ready) and funding for every symbol, then the first account.
    for (int i = 0; i < n_symbols; ++i) {
      const auto& x = slots_[static_cast<std::size_t>(i)];
      const decimal r = core::mul(x.mark, dec("0.0075"), rounding::down);
      for (int b = 15; b >= 1; --b) {
        const auto close = start - std::chrono::hours(4 * (b - 1)) - 1min;
        engine_.on_bar({{"venue", "sim"}, {"symbol", x.inst.symbol}, {"tf", "4h"}, {"open_ts", (close - 4h).to_iso8601()},
                        {"close_ts", close.to_iso8601()}, {"open", str(x.mark)}, {"high", str(x.mark + r)},
                        {"low", str(x.mark - r)}, {"close", str(x.mark)}, {"volume", "10"}, {"closed", true}});
      }
      engine_.on_funding({{"venue", "sim"}, {"symbol", x.inst.symbol}, {"ts", start.to_iso8601()}, {"rate", "0.0001"},
                          {"next_funding_ts", (start + 8h).to_iso8601()}});
      engine_.on_mark({{"venue", "sim"}, {"symbol", x.inst.symbol}, {"mark_price", str(x.mark)}, {"ts", start.to_iso8601()}});
    }
    report_account();
  }

  // Runs one step; returns the first invariant it broke ("[name] ...") or nothing.
  std::optional<std::string> step(const action& x) {
    violation_.reset();
    auto& s = slots_[static_cast<std::size_t>(x.sym)];
    switch (x.kind) {
      case act::propose: propose(x); break;
      case act::move: move_price(x.sym, x.a % 301 - 150, false); break;                    // +-1.5 %
      case act::gap: move_price(x.sym, (x.a % 2 ? 1 : -1) * (200 + x.b % 1001), true); break;  // 2..12 %
      case act::fill:
        if (s.entry_working()) fill_entry(x.sym, part_of(s.entry_left(), 10 + x.a % 91));
        break;
      case act::bar: close_bar(x.sym, 20 + x.a % 180); break;
      case act::wait: advance(now_ + std::chrono::minutes(1 + x.a % 360)); break;
      case act::midnight: advance(next_midnight(now_) + std::chrono::minutes(x.a % 30)); break;
      case act::funding: {
        static const char* rates[] = {"0.0001", "-0.0003", "0.0015", "-0.0025", "0.0005"};
        engine_.on_funding({{"venue", "sim"}, {"symbol", s.inst.symbol}, {"ts", now_.to_iso8601()}, {"rate", rates[x.b % 5]},
                            {"next_funding_ts", (now_ + 8h).to_iso8601()}});
        log("funding " + std::string(rates[x.b % 5]));
        break;
      }
      case act::operator_cmd: operator_cmd(x.a % 10); break;
      case act::exit:
        if (s.open() || s.entry_working()) {
          close(x.sym, s.mark, "exit", false);
          report_account();
        }
        break;
    }
    after_step();
    return violation_;
  }

  [[nodiscard]] const std::vector<std::string>& trace() const { return trace_; }

 private:
  static pt::risk_service::engine make_engine(const risk::risk_config& cfg, timestamp start) {
    pt::risk_service::engine_config c;
    c.venue = "sim";
    c.limits = cfg;
    c.autonomous_at_start = true;
    c.guardian_required = false;
    for (const auto& s : instruments) c.instruments.emplace(s.symbol, instrument_of(s));
    return pt::risk_service::engine(std::move(c), start);
  }

  void log(const std::string& line) { trace_.push_back(now_.to_iso8601() + " " + line); }
  void fail(const std::string& why) {
    if (!violation_) violation_ = why;
  }

  // ---- accounting ----
  [[nodiscard]] decimal notional(const slot& s) const {
    return core::mul(core::mul(s.qty, s.inst.contract_size, rounding::ceil), s.mark, rounding::ceil);
  }
  [[nodiscard]] decimal upnl(const slot& s) const {
    if (!s.open()) return decimal::zero();
    const decimal value = core::mul(core::mul(s.qty, s.inst.contract_size, rounding::down), s.mark, rounding::half_even);
    return s.dir == risk::side::buy ? value - s.cost : s.cost - value;
  }
  [[nodiscard]] decimal equity() const {
    decimal e = wallet_;
    for (const auto& s : slots_) e += upnl(s);
    return e;
  }
  [[nodiscard]] int open_count() const {
    int n = 0;
    for (const auto& s : slots_) n += s.open() ? 1 : 0;
    return n;
  }

  // exec.account, as execution sends it after a change and on its timer. The model's own
  // references (UTC day open, peak, daily-loss hits, the drawdown latch) are kept from exactly
  // the equities reported, by the rules of the issue (UTC day, mark-to-market).
  void report_account() {
    const decimal e = equity();
    decimal margin;
    for (const auto& s : slots_)
      if (s.open()) margin += core::div(notional(s), s.leverage, rounding::ceil);
    engine_.on_account({{"venue", "sim"}, {"equity", str(e)}, {"wallet_balance", str(wallet_)},
                        {"available", str(e - margin)}, {"unrealized_pnl", str(e - wallet_)}, {"margin_used", str(margin)},
                        {"open_positions", open_count()}, {"reconciled", true}, {"ts", now_.to_iso8601()}});
    if (!day_ || utc_day(now_) > *day_) {
      day_ = utc_day(now_);
      day_open_ = e;
    }
    if (!peak_ || e > *peak_) peak_ = e;
    last_equity_ = e;
    const decimal daily_limit = core::mul(day_open_, cfg_.max_daily_loss, rounding::down);
    if (day_open_ - e >= daily_limit && hit_day_ != day_) {
      hit_day_ = day_;
      daily_hits_.push_back(now_);
      ++cov.daily_hits;
      log("daily loss limit reached: equity " + str(e) + ", day open " + str(day_open_));
    }
    if (*peak_ - e >= core::mul(*peak_, cfg_.max_drawdown, rounding::down) && !kill_) {
      kill_ = true;
      kill_by_drawdown_ = true;
      ++cov.drawdown_kills;
      log("drawdown limit reached: equity " + str(e) + ", peak " + str(*peak_));
    }
  }

  // exec.position (like execution: no mark_price; qty in venue units).
  void report_position(const slot& s, decimal realized) {
    json m{{"venue", "sim"}, {"symbol", s.inst.symbol}, {"ts", now_.to_iso8601()}, {"realized_pnl", str(realized)}};
    if (s.open()) {
      m["side"] = s.dir == risk::side::buy ? "long" : "short";
      m["qty"] = str(s.qty);
      m["entry_price"] = str(core::div(s.cost, core::mul(s.qty, s.inst.contract_size, rounding::down), rounding::half_even));
      m["unrealized_pnl"] = str(upnl(s));
    } else {
      m["side"] = "flat";
      m["qty"] = "0";
      m["entry_price"] = "0";
      m["unrealized_pnl"] = "0";
    }
    engine_.on_position(m);
  }

  void advance(timestamp to) {
    while (next_midnight(now_) <= to) {  // execution's periodic exec.account at 00:00
      now_ = next_midnight(now_);
      engine_.tick(now_);
      report_account();
    }
    now_ = to;
    engine_.tick(now_);
    report_account();
    log("time");
  }

  // ---- the simulated exchange ----
  void move_price(int i, int bp, bool gap) {
    auto& s = slots_[static_cast<std::size_t>(i)];
    const decimal old = s.mark;
    decimal p = core::round_to_step(core::mul(old, decimal::one() + dec(bp) * dec("0.0001"), rounding::half_even), s.inst.tick_size,
                                    rounding::half_even);
    if (!p.is_positive()) p = s.inst.tick_size;
    s.mark = p;
    engine_.on_mark({{"venue", "sim"}, {"symbol", s.inst.symbol}, {"mark_price", str(p)}, {"ts", now_.to_iso8601()}});
    log(std::string(gap ? "gap " : "move ") + s.inst.symbol + " " + str(old) + " -> " + str(p));
    // The protective stop (a stop-market order) and the take-profit (a limit) on the venue.
    if (s.open() && s.plan) {
      const bool is_long = s.dir == risk::side::buy;
      const decimal stop = s.plan->stop_price();
      const auto tp = s.plan->take_profit();
      if (is_long ? p <= stop : p >= stop) {
        // A gap opens beyond the stop: the stop fills at the gap price, worse than planned.
        const decimal px = gap ? p : stop;
        ++cov.stop_outs;
        if (gap && px != stop) ++cov.gaps_through_stop;
        close(i, px, "stop", true);
      } else if (tp && (is_long ? p >= *tp : p <= *tp)) {
        ++cov.take_profits;
        close(i, *tp, "take-profit", false);
      }
    } else if (s.entry_working() && (s.dir == risk::side::buy ? p <= s.plan->stop_price() : p >= s.plan->stop_price())) {
      // Not filled yet and the market is already past the stop: execution's stop guard drops it.
      s.entry->apply({oms::order_event_kind::cancel, s.entry->filled(), {}});
      s.plan.reset();
      log("entry cancelled: mark past the stop");
    }
    report_account();
  }

  void close_bar(int i, int half_range_bp) {
    auto& s = slots_[static_cast<std::size_t>(i)];
    const decimal r = core::mul(s.mark, dec(half_range_bp) * dec("0.0001"), rounding::down);
    engine_.on_bar({{"venue", "sim"}, {"symbol", s.inst.symbol}, {"tf", "4h"}, {"open_ts", (now_ - 4h).to_iso8601()},
                    {"close_ts", now_.to_iso8601()}, {"open", str(s.mark)}, {"high", str(s.mark + r)}, {"low", str(s.mark - r)},
                    {"close", str(s.mark)}, {"volume", "10"}, {"closed", true}});
  }

  // Fills `q` more of the entry at the mark (a market order's fills, possibly several).
  void fill_entry(int i, decimal q) {
    auto& s = slots_[static_cast<std::size_t>(i)];
    if (!s.entry_working() || !q.is_positive()) return;
    if (q > s.entry_left()) q = s.entry_left();
    const decimal cum = s.entry->filled() + q;
    const auto r = s.entry->apply({oms::order_event_kind::fill, cum, s.mark});
    if (r != oms::apply_result::applied) throw std::logic_error("model: fill not applied");
    const bool first = !s.open();
    s.qty += q;
    s.cost += core::mul(core::mul(q, s.inst.contract_size, rounding::down), s.mark, rounding::half_even);
    if (first) {
      s.plan->entry_filled(q, s.mark, steady_of(now_));
      s.plan->stop_requested(steady_of(now_));
      s.plan->stop_confirmed("native");  // the stop is in force from the first fill
      if (s.plan->take_profit()) s.plan->take_profit_placed();
    }
    if (s.entry->status() == oms::order_status::partial) ++cov.partial_fills;
    log("fill " + s.inst.symbol + " " + str(q) + " @ " + str(s.mark) + " (" + oms::to_string(s.entry->status()) + ")");
    report_position(s, decimal::zero());
    report_account();
    cov.max_open = std::max<long>(cov.max_open, open_count());
  }

  // Closes the position at `px` (stop, take-profit, exit, kill switch) and cancels what is left
  // of its entry. The caller reports the account.
  void close(int i, decimal px, const std::string& why, bool stopped) {
    auto& s = slots_[static_cast<std::size_t>(i)];
    if (s.entry_working()) s.entry->apply({oms::order_event_kind::cancel, s.entry->filled(), {}});
    if (!s.open()) {
      s.plan.reset();
      log("entry cancelled (" + why + ")");
      return;
    }
    const decimal value = core::mul(core::mul(s.qty, s.inst.contract_size, rounding::down), px, rounding::half_even);
    const decimal pnl = s.dir == risk::side::buy ? value - s.cost : s.cost - value;
    if (stopped && -pnl > s.planned_risk) ++cov.loss_beyond_plan;
    wallet_ += pnl;
    s.plan->closing();
    s.plan->closed();
    log("close " + s.inst.symbol + " " + str(s.qty) + " @ " + str(px) + " (" + why + "), pnl " + str(pnl));
    s.qty = s.cost = decimal::zero();
    s.plan.reset();
    report_position(s, pnl);
  }

  void operator_cmd(int k) {
    if (k <= 1) {
      engine_.disable_autonomous(now_);
      autonomous_ = false;
      log("operator: autonomous disable");
    } else if (k <= 6) {
      engine_.enable_autonomous(now_);
      autonomous_ = true;
      log("operator: autonomous enable");
    } else if (k == 7) {
      engine_.trigger_kill_switch(now_, "operator");
      if (!kill_) ++cov.operator_kills;
      kill_ = true;
      log("operator: kill switch");
    } else {
      engine_.reset_kill_switch(now_);
      if (kill_) {  // the reset accepts the loss: drawdown counts from the equity now; autonomous stays off
        kill_ = kill_by_drawdown_ = false;
        autonomous_ = false;
        peak_ = last_equity_;
      }
      log("operator: kill switch reset");
    }
  }

  void after_step() {
    // Execution acts on the kill switch: everything closed at the mark, entries cancelled.
    if (engine_.state().must_flatten()) {
      bool any = false;
      for (int i = 0; i < n_symbols; ++i) {
        auto& s = slots_[static_cast<std::size_t>(i)];
        if (s.open() || s.entry_working()) {
          close(i, s.mark, "kill switch", false);
          any = true;
        }
      }
      if (any) report_account();
    }
    // (e) in every state: no more open positions than the limit.
    if (open_count() > cfg_.max_positions)
      fail("[position limit] " + std::to_string(open_count()) + " positions open, limit " + std::to_string(cfg_.max_positions));
  }

  // ---- signal -> risk -> execution ----
  void propose(const action& x) {
    const auto i = static_cast<std::size_t>(x.sym);
    if (!concurrent_)  // execution finishes (and reports) the entry in flight before the next decision
      for (int j = 0; j < n_symbols; ++j) fill_entry(j, slots_[static_cast<std::size_t>(j)].entry_left());
    auto& s = slots_[i];
    const bool buy = x.a % 2 == 0;
    const decimal tick = s.inst.tick_size;
    const decimal entry =
        core::round_to_step(core::mul(s.mark, decimal::one() + dec((x.a / 2) % 41 - 20) * dec("0.0001"), rounding::half_even), tick,
                            rounding::half_even);
    const decimal atr = engine_.atr(s.inst.symbol).value_or(core::mul(s.mark, dec("0.01"), rounding::down));
    decimal dist = core::round_to_step(core::mul(atr, dec(10 + x.b % 341) * dec("0.01"), rounding::half_even), tick, rounding::half_even);
    if (!dist.is_positive()) dist = tick;
    const decimal stop = buy ? entry - dist : entry + dist;
    if (!stop.is_positive()) return;
    json p{{"proposal_id", "p" + std::to_string(++proposals_)}, {"signal_id", "s" + std::to_string(proposals_)},
           {"strategy", "trend"}, {"venue", "sim"}, {"symbol", s.inst.symbol}, {"side", buy ? "buy" : "sell"},
           {"order_type", "market"}, {"entry_price", str(entry)}, {"stop_loss", str(stop)}, {"ts", now_.to_iso8601()}};
    const int r_multiple = x.c % 5;
    if (r_multiple > 0) p["take_profit"] = str(buy ? entry + dist * dec(r_multiple) : entry - dist * dec(r_multiple));
    const auto d = engine_.decide(p, now_);
    if (!d.approved) {
      ++cov.rejections;
      ++cov.reasons[d.body.value("reason_code", std::string("?"))];
      log("proposal " + std::string(buy ? "buy " : "sell ") + s.inst.symbol + " @ " + str(entry) + " stop " + str(stop) +
          ": rejected " + d.body.value("reason_code", std::string("?")));
      return;
    }
    ++cov.approvals;
    const decimal qty = decimal::parse(d.body.at("quantity").get<std::string>());
    const decimal price = decimal::parse(d.body.at("price").get<std::string>());
    const decimal lev = decimal::parse(d.body.at("leverage").get<std::string>());
    log("proposal " + std::string(buy ? "buy " : "sell ") + s.inst.symbol + " @ " + str(entry) + " stop " + str(stop) +
        ": APPROVED qty " + str(qty) + " leverage " + str(lev) + " risk " + d.body.at("risk_amount").get<std::string>() +
        " (equity " + str(equity()) + ")");
    check_approval(x.sym, qty, price, lev);

    // Execution: one position per symbol (it refuses an entry for a symbol already open).
    if (s.open() || s.entry_working()) {
      log("execution refuses: " + s.inst.symbol + " already open");
      return;
    }
    s.dir = buy ? risk::side::buy : risk::side::sell;
    s.leverage = lev;
    s.entry_price = price;
    s.planned_risk = decimal::parse(d.body.at("risk_amount").get<std::string>());
    s.entry.emplace(qty);
    s.entry->apply({oms::order_event_kind::send, {}, {}});
    s.entry->apply({oms::order_event_kind::ack, {}, {}});
    std::optional<decimal> tp;
    if (d.body.contains("take_profit")) tp = decimal::parse(d.body["take_profit"].get<std::string>());
    s.plan.emplace(decimal::parse(d.body.at("stop_loss").get<std::string>()), tp);
    // The first fill: none yet, part of it, or all of it (the rest comes with later fill steps).
    const int pct = std::min(100, (x.c / 5) % 150);
    fill_entry(x.sym, part_of(qty, pct));
  }

  // The invariants an approval must keep, on the state the decision was taken in. Each one is
  // what one check guarantees (README "Property test").
  void check_approval(int i, decimal qty, decimal price, decimal lev) {
    const auto& s = slots_[static_cast<std::size_t>(i)];
    const decimal e = equity();
    const decimal order_notional =
        core::notional(price, core::abs(core::mul(qty, s.inst.contract_size, rounding::down)), rounding::ceil);
    // Everything committed: open positions at the mark, plus what approved entries still have to fill.
    decimal total = order_notional;
    int committed = 0;
    for (const auto& o : slots_) {
      total += notional(o) + core::mul(core::mul(o.entry_left(), o.inst.contract_size, rounding::ceil), o.entry_price, rounding::ceil);
      committed += o.open() || o.entry_working() ? 1 : 0;
    }
    const decimal cap = risk::leverage_cap(cfg_, s.inst.max_leverage);
    // (a) LEVERAGE_LIMIT: total notional within equity x min(hard 5x, configured, venue).
    if (total > core::mul(e, cap, rounding::down) || total > core::mul(e, risk::hard::max_leverage, rounding::down) || lev > cap)
      fail("[leverage] total notional " + str(total) + " > equity " + str(e) + " x cap " + str(cap) + " (applied leverage " +
           str(lev) + ")");
    // (b) SYMBOL_EXPOSURE: the symbol's notional within max_symbol_exposure x equity x applied leverage.
    const decimal sym_total = order_notional + notional(s) +
                              core::mul(core::mul(s.entry_left(), s.inst.contract_size, rounding::ceil), s.entry_price, rounding::ceil);
    const decimal sym_cap = core::mul(core::mul(e, risk::applied_leverage(cfg_, s.inst.max_leverage), rounding::down),
                                      cfg_.max_symbol_exposure, rounding::down);
    if (sym_total > sym_cap)
      fail("[symbol exposure] " + s.inst.symbol + " notional " + str(sym_total) + " > cap " + str(sym_cap));
    // (c) DAILY_LOSS_LIMIT: the mark-to-market loss since the UTC day's open is below the limit ...
    const decimal daily_limit = core::mul(day_open_, cfg_.max_daily_loss, rounding::down);
    if (day_open_ - e >= daily_limit)
      fail("[daily loss] approved with loss " + str(day_open_ - e) + " since the UTC day open " + str(day_open_) + " >= " +
           str(daily_limit));
    // ... and once it was reached, nothing until the cooldown after the max daily loss has passed
    // (it covers the rest of that UTC day).
    for (const auto& h : daily_hits_)
      if (now_ - h <= cfg_.cooldown_after_daily_loss)
        fail("[daily loss cooldown] approved " + std::to_string((now_ - h) / 1min) + " min after the daily loss limit was reached at " +
             h.to_iso8601());
    // (d) DRAWDOWN_LIMIT: drawdown from the peak below the limit; and once reached, the kill
    // switch holds every entry until the operator resets it.
    const decimal dd_limit = core::mul(*peak_, cfg_.max_drawdown, rounding::down);
    if (*peak_ - e >= dd_limit) fail("[drawdown] approved with drawdown " + str(*peak_ - e) + " from peak " + str(*peak_) + " >= " + str(dd_limit));
    if (kill_ && kill_by_drawdown_) fail("[drawdown latch] approved after the drawdown limit latched the kill switch");
    // (e) POSITION_LIMIT: room for one more position.
    if (committed >= cfg_.max_positions)
      fail("[position limit] approved with " + std::to_string(committed) + " positions, limit " + std::to_string(cfg_.max_positions));
    // (f) TRADING_STATE: entries only while autonomous trading is on and no kill switch is latched.
    if (!autonomous_ || (kill_ && !kill_by_drawdown_))
      fail(std::string("[trading state] approved while ") + (!autonomous_ ? "autonomous trading is off" : "the operator's kill switch is on"));
  }

  risk::risk_config cfg_;
  bool concurrent_;
  timestamp now_;
  pt::risk_service::engine engine_;
  std::vector<slot> slots_;
  decimal wallet_ = dec(10000);
  int proposals_ = 0;
  // The model's references, from the reported equities.
  std::optional<std::int64_t> day_;
  std::optional<std::int64_t> hit_day_;
  decimal day_open_, last_equity_;
  std::optional<decimal> peak_;
  std::vector<timestamp> daily_hits_;
  bool autonomous_ = true;
  bool kill_ = false, kill_by_drawdown_ = false;
  std::optional<std::string> violation_;
  std::vector<std::string> trace_;
};

// ---- running the property --------------------------------------------------------------------

struct run_options {
  std::optional<reason_code> disabled;
  bool concurrent = false;
};

// The property: for any limits and any sequence of steps, no step breaks an invariant.
void property(const run_options& o) {
  const auto lp = *gen_limits().as("limits");
  const auto start_minute = *rc::gen::inRange(0, 24 * 60).as("start minute of the day");
  const auto steps = *rc::gen::scale(2.0, rc::gen::container<std::vector<action>>(gen_action())).as("steps");
  ++cov.cases;
  loop l(lp, o.concurrent, timestamp::parse_iso8601("2026-03-02T00:00:00Z") + std::chrono::minutes(start_minute));
  for (std::size_t n = 0; n < steps.size(); ++n) {
    const auto v = l.step(steps[n]);
    if (v) {
      std::ostringstream t;
      for (const auto& line : l.trace()) t << "    " << line << "\n";
      RC_LOG() << "trace:\n" << t.str();
      RC_FAIL(*v + " (step " + std::to_string(n) + ": " + to_string(steps[n].kind) + ")");
    }
  }
}

rc::detail::TestParams params(int max_success, bool shrink) {
  auto p = rc::detail::configuration().testParams;  // RC_PARAMS (seed) from the CTest environment
  p.maxSuccess = max_success;
  p.disableShrinking = !shrink;
  return p;
}

// For the runs that must fail: rapidcheck's own listener would end the run with "Some of your
// RapidCheck properties had failures" and a reproduce string for an expected failure.
class quiet_listener : public rc::detail::TestListener {
 public:
  void onTestCaseFinished(const rc::detail::CaseDescription&) override {}
  void onShrinkTried(const rc::detail::CaseDescription&, bool) override {}
  void onTestFinished(const rc::detail::TestMetadata&, const rc::detail::TestResult&) override {}
};

// Runs the property; the result and, on failure, the counterexample go to stderr.
rc::detail::TestResult run(const std::string& name, const run_options& o, const rc::detail::TestParams& p,
                           bool failure_expected = false) {
  pt::risk::testing::disable_check_scope off(o.disabled);
  cov = coverage{};
  rc::detail::TestMetadata meta;
  meta.id = meta.description = name;
  std::cerr << "\n- " << name << " (seed " << p.seed << ", " << p.maxSuccess << " cases)\n";
  quiet_listener quiet;
  const auto prop = rc::detail::toProperty([o] { property(o); });
  auto r = failure_expected ? rc::detail::checkProperty(prop, meta, p, quiet) : rc::detail::checkProperty(prop, meta, p);
  rc::detail::printResultMessage(r, std::cerr);
  std::cerr << "\n  " << cov.cases << " cases run: " << cov.approvals << " approved, " << cov.rejections << " rejected, "
            << cov.partial_fills << " partial fills, " << cov.stop_outs << " stop-outs (" << cov.gaps_through_stop
            << " gapped through, " << cov.loss_beyond_plan << " lost more than planned), " << cov.take_profits
            << " take-profits, " << cov.daily_hits << " daily-loss hits, " << cov.drawdown_kills << " drawdown kills, "
            << cov.operator_kills << " operator kills; most positions at once " << cov.max_open << "\n  rejections:";
  for (const auto& [code, n] : cov.reasons) std::cerr << " " << code << " " << n;
  std::cerr << std::endl;
  return r;
}

#ifndef PT_RISK_PROPERTY_DEFAULT_CASES
#define PT_RISK_PROPERTY_DEFAULT_CASES 1000  // 300 in the sanitizer build (CMakeLists.txt)
#endif

int cases_env(const char* var, int fallback) {
  if (const char* v = std::getenv(var)) return std::max(1, std::atoi(v));
  return fallback;
}

// Disabling `code` must produce a counterexample, and it must break the invariant `tag` names.
void require_caught(reason_code code, const std::string& tag) {
  const auto r = run("property with " + std::string(risk::to_string(code)) + " disabled", {code, false},
                     params(cases_env("PT_RISK_PROPERTY_DISABLED_CASES", 500), false), true);
  INFO("disabling " << risk::to_string(code) << " must break " << tag);
  REQUIRE(r.is<rc::detail::FailureResult>());
  const auto& f = r.get<rc::detail::FailureResult>();
  INFO(f.description);
  CHECK(f.description.find(tag) != std::string::npos);
}

}  // namespace

TEST_CASE("the risk loop keeps every limit in every state with every check on") {
  const auto r = run("property with every check on", {}, params(cases_env("PT_RISK_PROPERTY_CASES", PT_RISK_PROPERTY_DEFAULT_CASES), true));
  REQUIRE(r.is<rc::detail::SuccessResult>());
  // Not vacuous: the runs reached the states the invariants are about (floors for 300+ cases).
  if (cov.cases < 300) return;
  CHECK(cov.approvals > 100);
  CHECK(cov.partial_fills > 10);
  CHECK(cov.gaps_through_stop > 5);
  CHECK(cov.loss_beyond_plan > 5);
  CHECK(cov.daily_hits > 10);
  CHECK(cov.drawdown_kills > 5);
  CHECK(cov.max_open >= 2);
}

TEST_CASE("disabling LEVERAGE_LIMIT is caught") { require_caught(reason_code::leverage_limit, "[leverage]"); }
TEST_CASE("disabling SYMBOL_EXPOSURE is caught") { require_caught(reason_code::symbol_exposure, "[symbol exposure]"); }
TEST_CASE("disabling DAILY_LOSS_LIMIT is caught") { require_caught(reason_code::daily_loss_limit, "[daily loss"); }
TEST_CASE("disabling DRAWDOWN_LIMIT is caught") { require_caught(reason_code::drawdown_limit, "[drawdown"); }
TEST_CASE("disabling POSITION_LIMIT is caught") { require_caught(reason_code::position_limit, "[position limit]"); }
TEST_CASE("disabling TRADING_STATE is caught") { require_caught(reason_code::trading_state, "[trading state]"); }

// Hidden (not run by ctest): a proposal decided while an approved entry is still filling. The
// engine now holds an approved entry for risk.pending_entry_ttl (2 min of market time); this
// model lets a fill arrive any time later, so it still fails when an entry outlives the TTL
// (README "Property test", finding 3). run with: risk_property_tests "[finding]"
TEST_CASE("finding: approvals before the previous entry is reported", "[.][finding]") {
  const auto r = run("property with concurrent entries", {std::nullopt, true}, params(cases_env("PT_RISK_PROPERTY_CASES", 300), true));
  CHECK(r.is<rc::detail::SuccessResult>());
}
