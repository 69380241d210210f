// execution: the order manager. risk.decision.approved in (JetStream), market entry on the venue
// with the ledger intent appended and flushed before the send, then protection (Binance: a native
// STOP_MARKET closePosition on the Algo Service; Poloniex: the guardian), exits, the kill switch,
// exec.* out. One PostgreSQL advisory lock makes a second instance a standby. See README.md.
#include "bus/bus.hpp"
#include "connectors/binance_connector.hpp"
#include "connectors/make_connector.hpp"
#include "connectors/poloniex_connector.hpp"
#include "control/control.hpp"
#include "core/ids.hpp"
#include "core/log.hpp"
#include "core/trace.hpp"
#include "core/time.hpp"
#include "ledger/appender.hpp"
#include "oms/oms.hpp"
#include "oms/slicing.hpp"
#include "service/service.hpp"
#include "venue/rate_limiter.hpp"
#include "venue/self_check.hpp"
#include "venue/loopback.hpp"
#include "venue/signing.hpp"

#include <caf/all.hpp>
#include <pqxx/pqxx>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <map>
#include <memory>
#include <set>
#include <thread>

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pt::venue::order)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pt::venue::fill)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pt::venue::position)

namespace {

namespace pv = pt::venue;
namespace oms = pt::oms;
using json = nlohmann::json;
using pt::core::decimal;
using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

using order_atom = caf::atom_constant<caf::atom("ex_order")>;
using fill_atom = caf::atom_constant<caf::atom("ex_fill")>;
using pos_atom = caf::atom_constant<caf::atom("ex_pos")>;
using tick_atom = caf::atom_constant<caf::atom("ex_tick")>;
using lease_atom = caf::atom_constant<caf::atom("ex_lease")>;
using deadline_atom = caf::atom_constant<caf::atom("ex_dline")>;
using selfcheck_atom = caf::atom_constant<caf::atom("ex_scheck")>;
using slice_atom = caf::atom_constant<caf::atom("ex_slice")>;

// ---- configuration --------------------------------------------------------------------------
struct exec_config {
  std::string venue = "poloniex";
  std::string rest_url;  // "" = the live venue
  std::string ws_url;    // Poloniex: the private socket URL; Binance: the ws base URL
  std::string mode = "paper";
  std::vector<std::string> symbols;
  int leverage = 3;
  pv::margin_mode margin = pv::margin_mode::cross;
  pv::position_mode pos_mode = pv::position_mode::one_way;
  bool enforce_settings = true;
  std::string protection;  // native | guardian ("" = by venue)
  std::chrono::milliseconds protection_timeout{2000};
  std::chrono::milliseconds account_interval{5000};
  // exec.account only when asked on exec.account.sync (a lockstep replay's conductor asks after
  // each settled step). Every other report samples the venue at a moment that depends on
  // scheduling, and risk's peak, day-open equity and loss breakers would differ between replays.
  bool account_on_request = false;
  std::chrono::milliseconds fill_wait{5000};
  std::chrono::milliseconds lease_retry{1000};
  std::int64_t lease_key = 0x70746578656300;  // "ptexec\0": one per venue account in practice
  bool reconcile = true;
  // Slippage guard: an entry is refused when the mark moved more than this fraction away from
  // the decision's price (the decision is stale: its sizing and stop were for another market).
  decimal max_entry_deviation = decimal::parse("0.01");
  // Spread guard: an entry is refused when the book's spread ((ask - bid) / mid) is wider than
  // this fraction (seed 004 §10: 0.3 %). 0 = off.
  decimal max_spread = decimal::parse("0.003");
  // The guards' mark: the newest md.<venue>.<symbol>.mark received within mark_max_age (wall
  // clock), else one REST call. Live default 2 s: the venue streams marks about every second, and
  // a REST round trip to it is the slowest step of an entry. 0 = always REST (the paper default:
  // in a lockstep replay the REST answer is the step's final state, which keeps runs reproducible).
  std::chrono::milliseconds mark_max_age{0};
  // Shadow mode: decides everything and writes nothing to the venue (no order, cancel, leverage
  // or account setting); each would-be order is logged and reported as exec.order.rejected with
  // the reason "shadow mode". Reads (reconciliation, account, fills) still run.
  bool shadow = false;
  // The start-up self-check (libs/venue/self_check.hpp): clock skew, catalog, key permissions,
  // account settings, balance. A failed check holds new entries and is re-run every
  // self_check_retry until it passes. Always on in live mode. A venue that cannot tell a key's
  // permissions (Poloniex) holds live entries unless the operator accepts that here, having
  // checked in the venue's web UI that the key cannot withdraw.
  bool self_check = true;
  bool accept_unverified_key_permissions = false;
  std::chrono::milliseconds self_check_retry{60000};
  // Large entries in child orders (libs/oms/slicing.hpp): an entry whose notional at the decision's
  // price is at least slice_min_notional goes out as slice_count children over slice_duration
  // (twap: equal; vwap: by the hour-of-day volume of the last 7 days), or as IOC limit clips of
  // slice_display_pct of the entry (iceberg), capped at max_entry_deviation from that price.
  oms::slice_algo slice_algo = oms::slice_algo::none;
  decimal slice_min_notional = decimal::parse("100000");
  int slice_count = 5;
  std::chrono::milliseconds slice_duration{300000};
  decimal slice_display = decimal::parse("0.2");
  std::string api_key, api_secret;  // environment only
};

exec_config read_config(const pt::config::document& c) {
  exec_config m;
  c.require_only("execution", {"venue", "rest_url", "ws_url", "mode", "symbols", "leverage", "margin_mode",
                               "position_mode", "enforce_settings", "protection", "protection_timeout",
                               "account_interval", "account_publish", "fill_wait", "lease_retry", "lease_key", "reconcile",
                               "max_entry_deviation_pct", "shadow", "self_check", "accept_unverified_key_permissions",
                               "self_check_retry", "slice_algo", "slice_min_notional", "slice_count", "slice_duration",
                               "slice_display_pct", "mark_max_age", "max_spread_pct"});
  m.venue = c.get_enum("execution.venue", {"poloniex", "binance"}, m.venue);
  m.rest_url = c.get_string("execution.rest_url", "");
  m.ws_url = c.get_string("execution.ws_url", "");
  m.mode = c.get_enum("execution.mode", {"paper", "live"}, m.mode);
  if (!c.has("execution.symbols")) c.fail("execution.symbols", "required: the symbols to trade (venue spelling)");
  m.symbols = c.get_string_list("execution.symbols");
  if (m.symbols.empty()) c.fail("execution.symbols", "must not be empty");
  m.leverage = static_cast<int>(c.get_int("execution.leverage", 1, 5, m.leverage));  // 5x hard cap
  m.margin = c.get_enum("execution.margin_mode", {"cross", "isolated"}, "cross") == "cross" ? pv::margin_mode::cross
                                                                                               : pv::margin_mode::isolated;
  m.pos_mode = c.get_enum("execution.position_mode", {"one_way", "hedge"}, "one_way") == "one_way" ? pv::position_mode::one_way
                                                                                                   : pv::position_mode::hedge;
  if (m.pos_mode == pv::position_mode::hedge) c.fail("execution.position_mode", "hedge mode is not supported yet");
  m.enforce_settings = c.get_bool("execution.enforce_settings", m.enforce_settings);
  m.shadow = c.get_bool("execution.shadow", m.shadow);
  m.self_check = c.get_bool("execution.self_check", m.self_check);
  if (m.mode == "live" && !m.self_check) c.fail("execution.self_check", "cannot be turned off in live mode");
  m.accept_unverified_key_permissions = c.get_bool("execution.accept_unverified_key_permissions", false);
  m.self_check_retry = c.get_duration("execution.self_check_retry", 1s, 1h, m.self_check_retry);
  m.slice_algo = oms::parse_slice_algo(c.get_enum("execution.slice_algo", {"none", "twap", "vwap", "iceberg"}, "none"));
  auto positive_decimal = [&](const char* key, decimal lo, decimal hi, decimal fallback) {
    if (!c.has(key)) return fallback;
    decimal v;
    try {
      v = decimal::parse(c.get_string(key));
    } catch (const std::exception&) {
      c.fail(key, "not a decimal number (a string, e.g. \"20\")");
    }
    if (v < lo || v > hi) c.fail(key, "must be within " + lo.to_string() + " .. " + hi.to_string());
    return v;
  };
  m.slice_min_notional = positive_decimal("execution.slice_min_notional", decimal::parse("1"), decimal::parse("1000000000"),
                                          m.slice_min_notional);
  m.slice_count = static_cast<int>(c.get_int("execution.slice_count", 2, 100, m.slice_count));
  m.slice_duration = c.get_duration("execution.slice_duration", 0ms, 24h, m.slice_duration);
  m.slice_display = positive_decimal("execution.slice_display_pct", decimal::parse("1"), decimal::parse("100"),
                                     m.slice_display * decimal::parse("100")) /
                    decimal::parse("100");
  m.protection = c.get_enum("execution.protection", {"native", "guardian"}, m.venue == "binance" ? "native" : "guardian");
  if (m.venue == "poloniex" && m.protection == "native")
    c.fail("execution.protection", "poloniex has no stop orders over the API (exchanges.md A6): use guardian");
  m.protection_timeout = c.get_duration("execution.protection_timeout", 100ms, 60s, m.protection_timeout);
  m.account_interval = c.get_duration("execution.account_interval", 100ms, 1h, m.account_interval);
  m.account_on_request = c.get_enum("execution.account_publish", {"on_change", "on_request"}, "on_change") == "on_request";
  if (m.account_on_request && m.mode == "live")
    c.fail("execution.account_publish", "on_request is for lockstep replays: live, risk needs every account change");
  m.fill_wait = c.get_duration("execution.fill_wait", 100ms, 60s, m.fill_wait);
  m.lease_retry = c.get_duration("execution.lease_retry", 50ms, 1min, m.lease_retry);
  m.lease_key = c.get_int("execution.lease_key", 1, INT64_MAX, m.lease_key);
  m.reconcile = c.get_bool("execution.reconcile", m.reconcile);
  m.mark_max_age = c.get_duration("execution.mark_max_age", 0ms, 60s, m.mode == "live" ? 2000ms : 0ms);
  // A percent key ("1.0") as a fraction: above 0 (or 0 too when `zero_ok`) and at most 10 %.
  auto percent = [&](const char* key, bool zero_ok, const char* example, const char* range, decimal fallback) {
    if (!c.has(key)) return fallback;
    decimal pct;
    try {
      pct = decimal::parse(c.get_string(key));
    } catch (const std::exception&) {
      c.fail(key, std::string("not a decimal number (percent, e.g. ") + example + ")");
    }
    if (pct.is_negative() || (pct.is_zero() && !zero_ok) || pct > decimal::parse("10")) c.fail(key, range);
    return pct / decimal::parse("100");
  };
  m.max_spread = percent("execution.max_spread_pct", true, "\"0.3\"; \"0\" = off",
                         "must be within 0 (off) .. 10 (percent)", m.max_spread);
  m.max_entry_deviation = percent("execution.max_entry_deviation_pct", false, "\"1.0\"",
                                  "must be > 0 and <= 10 (percent)", m.max_entry_deviation);

  const auto keys = pt::connectors::keys_from_env(m.venue);
  m.api_key = keys.key;
  m.api_secret = keys.secret;
  const bool live_url = !pt::venue::is_paper_venue(m.rest_url, m.ws_url);
  const char* live_env = std::getenv("POLYTRADE_LIVE");
  const bool live_ok = m.mode == "live" && live_env && std::string(live_env) == "1";
  if (live_url && !live_ok)
    c.fail("execution.rest_url", "a venue URL that is not loopback (nor private with POLYTRADE_PAPER_PRIVATE_VENUE=1) is live trading: needs mode: live AND POLYTRADE_LIVE=1");
  if (m.mode == "live" && !live_ok) c.fail("execution.mode", "live needs POLYTRADE_LIVE=1 in the environment");
  if (m.api_key.empty() || m.api_secret.empty()) {
    if (m.mode == "live") c.fail("execution.mode", "live needs the venue's API key and secret in the environment");
    m.api_key = "venue-sim-key";  // venue-sim's default paper account
    m.api_secret = "venue-sim-secret";
  }
  return m;
}

// ---- small helpers --------------------------------------------------------------------------
std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}
std::int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}
std::string iso_now() { return pt::core::timestamp::from_millis(wall_ms()).to_iso8601(); }
std::string iso(std::int64_t ms) { return pt::core::timestamp::from_millis(ms).to_iso8601(); }
pv::side opposite(pv::side s) { return s == pv::side::buy ? pv::side::sell : pv::side::buy; }
// Whether `mark` is at or past the stop of a position entered on side `entry`.
bool stop_crossed(pv::side entry, decimal mark, decimal stop) { return entry == pv::side::buy ? mark <= stop : mark >= stop; }
const char* side_text(pv::side s) { return s == pv::side::buy ? "buy" : "sell"; }

// The order a request would have been, reported rejected (refused here, by the venue, or held
// back by shadow mode).
pv::order rejected_order(const pv::order_request& r) {
  pv::order o;
  o.symbol = r.symbol;
  o.client_id = r.client_id;
  o.s = r.s;
  o.qty = r.qty;
  o.reduce_only = r.reduce_only;
  o.state = pv::order_state::rejected;
  return o;
}
std::string udec(decimal d) { return (d.is_negative() ? -d : d).to_string(); }

const char* exec_state(pv::order_state s) {
  switch (s) {
    case pv::order_state::pending_new: return "pending_new";
    case pv::order_state::open: return "new";
    case pv::order_state::partially_filled: return "partially_filled";
    case pv::order_state::filled: return "filled";
    case pv::order_state::cancelled: return "canceled";
    case pv::order_state::expired: return "expired";
    case pv::order_state::rejected: return "rejected";
  }
  return "new";
}

// One position this instance manages (one-way mode: at most one per symbol).
struct position_ctx {
  std::string symbol, decision_id, correlation_id, protection_id;
  pv::side side = pv::side::buy;  // the entry side
  decimal qty, entry_price, entry_fee;
  std::int64_t entry_ms = 0;
  oms::protection_plan plan;
  std::string stop_cid, tp_cid;
  int stop_version = 0, closes = 0;
  std::int64_t arm_seq = 0;
  steady::time_point filled_at{};
  explicit position_ctx(decimal stop, std::optional<decimal> tp) : plan(stop, tp) {}
};

// A sliced entry's children still to send (the first went out as the entry).
struct slice_job {
  json decision;  // whole: decision_view keeps a reference into it
  std::vector<oms::child_slice> plan;
  std::size_t next = 1;
  int tp_version = 0;
};

struct exec_state_t {
  std::map<std::string, std::shared_ptr<position_ctx>> positions;  // by symbol
  std::set<std::string> decisions_done, exits_done;
  bool leased = false, standby_logged = false, trading = false;
  bool kill_active = false;
  bool hold_entries = false;  // a critical reconciliation finding until ctl.reconciliation.ack
  std::string hold_reason;
  bool self_check_hold = false;  // the start-up self-check failed; re-run until it passes
  std::string self_check_reason;
  std::string self_check_codes;  // the failing checks' codes when the alert was raised
  // Entries found at the venue at start whose ack a killed instance never saw: (decision, order),
  // adopted and protected once the consumers exist (recover_entries), not waiting for redelivery.
  std::vector<std::pair<json, pv::order>> to_recover;
  std::map<std::string, slice_job> slicing;  // by symbol
  // Entry client ids with an intent in the ledger (read at start, added before each send); while
  // unknown (the ledger could not be read) every decision asks the venue first.
  std::set<std::string> intent_cids;
  bool intents_known = false;
  // The leverage this instance last set per symbol: an entry at the same leverage skips the call
  // (one or two REST round trips off the decision path). Forgotten on any failure.
  std::map<std::string, int> leverage_set;
};

// Holds the connector, the ledger and the bus, and does the blocking work on the actor's thread.
struct exec_context {
  exec_config cfg;
  std::string service;
  pt::bus::bus* bus = nullptr;
  std::shared_ptr<pv::venue> venue;
  pt::connectors::binance_connector* binance = nullptr;  // set for venue binance
  std::function<pv::instrument(const std::string&)> instrument_of;
  std::function<bool()> instruments_from_catalog;  // the connector fell back to the offline catalog
  std::unique_ptr<pt::ledger::appender> ledger;
  std::string db_url;
  std::unique_ptr<pqxx::connection> lease_conn;
  // Verifies ctl.* commands (POLYTRADE_CTL_TOKEN); without a token every command is refused.
  pt::control::verifier ctl = pt::control::verifier::from_env();

  // ---- ledger ----
  void append(pt::ledger::event_type t, const std::string& stream, const std::string& correlation, json payload,
              const std::string& key) {
    pt::ledger::event e;
    e.event_id = pt::core::uuid::from_seed("execution:" + key).to_string();
    e.type = t;
    e.stream_id = stream;
    e.correlation_id = correlation;
    e.payload = payload.dump();
    e.occurred_at_ns = wall_ms() * 1000000;
    ledger->append(std::move(e), 5s);
  }
  bool flush() { return ledger->flush(5s); }

  // ---- streamed marks (mark_max_age) ----
  struct streamed_mark {
    decimal mark;
    std::int64_t ts_ms = 0;
    steady::time_point at{};
  };
  std::map<std::string, streamed_mark> marks;  // by symbol
  void saw_mark(const json& b) {
    const auto symbol = b.at("symbol").get<std::string>();
    const auto ts = pt::core::timestamp::parse_iso8601(b.at("ts").get<std::string>()).nanos() / 1'000'000;
    auto& m = marks[symbol];
    if (ts < m.ts_ms) return;  // an older mark arriving late
    m = {decimal::parse(b.at("mark_price").get<std::string>()), ts, steady::now()};
  }
  // The mark the guards use, and where it came from.
  decimal guard_mark(const std::string& symbol, const char** source) {
    if (cfg.mark_max_age.count() > 0) {
      auto it = marks.find(symbol);
      if (it != marks.end() && it->second.mark.is_positive() && steady::now() - it->second.at <= cfg.mark_max_age) {
        *source = "streamed";
        return it->second.mark;
      }
    }
    *source = "rest";
    return venue->get_mark_price(symbol).mark;
  }

  // ---- decision-path tracing (libs/core/trace.hpp) ----
  // While a traced decision is handled: {"trace": {...}} with its stamps so far. The first order
  // placed meanwhile is the entry: it gets exec_durable and exec_sent, and its exec.order carries
  // the whole trace.
  json trace_body = json::object();
  std::string trace_cid;
  void trace_stamp(const char* stage) {
    if (!trace_body.empty() && trace_cid.empty()) pt::core::trace::stamp(trace_body, stage, pt::core::trace::now_ns());
  }
  // Holds a decision's trace while it is handled, and drops it however the handling ends, so no
  // later order (an exit, a stop) is stamped with it.
  struct trace_scope {
    exec_context& c;
    trace_scope(exec_context& ctx, const pt::bus::envelope& e) : c(ctx) {
      if (pt::core::trace::get(e.body, "md_recv") <= 0) return;
      pt::core::trace::carry(e.body, c.trace_body);
      pt::core::trace::stamp(c.trace_body, "exec_recv", e.received_ns);
    }
    ~trace_scope() {
      c.trace_body = json::object();
      c.trace_cid.clear();
    }
    trace_scope(const trace_scope&) = delete;
    trace_scope& operator=(const trace_scope&) = delete;
  };

  // ---- bus ----
  void publish(const std::string& subject, const json& body) {
    if (auto err = bus->publish(subject, body))
      pt::log::warn("publish failed", {{"subject", subject}, {"error", pt::bus::describe(err)}});
  }
  void js(const std::string& subject, const json& body, const std::string& msg_id) {
    auto r = bus->js_publish(subject, body, msg_id);
    if (!r) pt::log::error("js publish failed", {{"subject", subject}, {"error", pt::bus::describe(r.error())}});
  }
  // exec.fill, once per venue trade id: the stream and the REST backfill may both report it, the
  // Nats-Msg-Id (fill-<trade id>) lets JetStream drop the second.
  void fill_msg(const pv::fill& f) {
    if (f.trade_id.empty()) return;
    json j{{"fill_id", f.trade_id},
           {"order_id", f.client_id.empty() ? f.order_id : f.client_id},
           {"venue", cfg.venue},
           {"symbol", f.symbol},
           {"side", side_text(f.s)},
           {"price", udec(f.price)},
           {"qty", udec(f.qty)},
           {"fee", f.fee.to_string()},
           {"fee_asset", f.fee_asset.empty() ? "USDT" : f.fee_asset},
           {"liquidity", f.role == pv::liquidity::maker ? "maker" : "taker"},
           {"ts", iso(f.time > 0 ? f.time : wall_ms())}};
    try {
      js("exec.fill", j, "fill-" + f.trade_id);
    } catch (const std::exception& e) {
      pt::log::warn("fill not published", {{"error", e.what()}});
    }
  }
  // The fills of one order over REST: the private stream may have been down or not yet connected
  // when the order filled (it does not replay), and exec.fill must not miss one.
  // Matched by client id, or by venue order id where the venue's trade list has none (Binance).
  // `updated_ms` is the order's last update in venue time (market time under replay), 0 unknown.
  void backfill_fills(const std::string& symbol, const std::string& client_id, const std::string& order_id,
                      std::int64_t updated_ms) {
    saw_market_time(updated_ms);
    try {
      const std::optional<std::int64_t> since =
          updated_ms > 0 ? std::optional<std::int64_t>(updated_ms - 60000) : std::nullopt;
      for (auto f : venue->fills(symbol, since))
        if (f.client_id == client_id || (!order_id.empty() && f.order_id == order_id)) {
          f.client_id = client_id;
          fill_msg(f);
        }
    } catch (const std::exception& e) {
      pt::log::warn("fills not read over REST", {{"symbol", symbol}, {"client_id", client_id}, {"error", e.what()}});
    }
  }
  void alert(const std::string& code, const std::string& message, json details) {
    pt::log::error(message, {{"code", code}});
    publish("alerts.critical", {{"severity", "critical"},
                                {"source", service},
                                {"code", code},
                                {"message", message},
                                {"ts", iso_now()},
                                {"details", std::move(details)}});
  }
  void order_msg(const pv::order& o, const std::string& decision_id, const char* type, const std::string& reason = {}) {
    const std::string state = exec_state(o.state);
    json j{{"order_id", o.client_id},
           {"client_order_id", o.client_id},
           {"venue", cfg.venue},
           {"symbol", o.symbol},
           {"side", side_text(o.s)},
           {"type", type},
           {"state", state},
           {"quantity", udec(o.qty)},
           {"filled_qty", udec(o.filled_qty)},
           {"reduce_only", o.reduce_only},
           {"ts", iso_now()}};
    if (!o.order_id.empty()) j["venue_order_id"] = o.order_id;
    if (!decision_id.empty()) j["decision_id"] = decision_id;
    if (o.price.is_positive()) j["price"] = udec(o.price);
    if (o.avg_price.is_positive()) j["avg_price"] = udec(o.avg_price);
    if (!reason.empty()) j["reason"] = reason.substr(0, 200);
    if (!trace_cid.empty() && o.client_id == trace_cid) pt::core::trace::carry(trace_body, j);
    js("exec.order." + state, j, o.client_id + "-" + state + (state == "partially_filled" ? "-" + udec(o.filled_qty) : ""));
  }
  // The market clock: exec.account and exec.position carry it, because risk's UTC day, cooldowns
  // and loss streaks run on market time, as the strategies do (a wall-clock stamp against a
  // replayed year would never start a new day). Live, it is the wall clock. In paper, the newest
  // market time seen: a closed bar on md.<venue>.*.bar.* (core subscription) or a venue order /
  // fill time, whichever is newer; the wall clock before anything was seen.
  std::int64_t market_ms = 0;
  void saw_market_time(std::int64_t ms) { market_ms = std::max(market_ms, ms); }
  std::int64_t venue_now() const {
    if (cfg.mode == "live" || market_ms <= 0) return wall_ms();
    return market_ms;
  }
  void position_msg(const std::string& symbol, const char* side, decimal qty, decimal entry, decimal upnl, decimal rpnl,
                    const std::string& tag) {
    js("exec.position." + lower(symbol),
       {{"venue", cfg.venue},
        {"symbol", symbol},
        {"side", side},
        {"qty", udec(qty)},
        {"entry_price", udec(entry)},
        {"unrealized_pnl", upnl.to_string()},
        {"realized_pnl", rpnl.to_string()},
        {"ts", iso(venue_now())}},
       "pos-" + lower(symbol) + "-" + tag);
  }
  // Publishes exec.account; returns "" when it went out, else why not. `sync_id`: the
  // exec.account.sync request it answers (the only reports made with account_publish on_request).
  std::string account_msg(int open_positions, bool reconciled, const std::string& sync_id = "") {
    if (cfg.account_on_request && sync_id.empty()) return "account_publish is on_request";
    // Paper: nothing before the market clock is known. A first report stamped with the wall clock
    // would put risk's UTC day a year ahead of the replay, and later ones would never roll it.
    if (cfg.mode != "live" && market_ms <= 0) return "no market time seen yet";
    try {
      const auto bals = venue->balances();
      if (bals.empty()) return "the venue reported no balance";
      auto b = bals.front();
      for (const auto& x : bals)
        if (x.asset == "USDT") b = x;
      json m{{"venue", cfg.venue},
             {"equity", b.equity.to_string()},
             {"wallet_balance", b.wallet.to_string()},
             {"available", b.available.to_string()},
             {"unrealized_pnl", b.unrealised_pnl.to_string()},
             {"margin_used", udec(b.initial_margin)},
             {"open_positions", open_positions},
             {"reconciled", reconciled},
             {"ts", iso(venue_now())}};
      if (!sync_id.empty()) m["sync_id"] = sync_id;
      publish("exec.account", m);
      return "";
    } catch (const std::exception& e) {
      pt::log::warn("balance query failed", {{"error", e.what()}});
      return std::string("balance query failed: ") + e.what();
    }
  }

  // ---- venue ----
  decimal position_qty(const std::string& symbol) {
    decimal q;
    for (const auto& p : venue->positions())
      if (p.symbol == symbol) q += p.qty;
    return q;
  }
  // Polls the venue by client id until the order is final (or `wait` passes).
  std::optional<pv::order> settle(const std::string& symbol, const std::string& cid, std::chrono::milliseconds wait) {
    std::optional<pv::order> last;
    const auto until = steady::now() + wait;
    for (;;) {
      try {
        last = venue->query_order(symbol, cid);
      } catch (const pv::venue_error& e) {
        pt::log::warn("order query failed", {{"client_id", cid}, {"error", e.what()}});
      } catch (const pv::parse_error& e) {
        pt::log::warn("order query unreadable", {{"client_id", cid}, {"error", e.what()}});
      }
      if ((last && pv::is_final(last->state)) || steady::now() >= until) return last;
      std::this_thread::sleep_for(100ms);
    }
  }
  // Places with the intent in the ledger first; an ambiguous answer settles by client id.
  // nullopt: the venue refused it (logged, ledger and exec.order rejected written).
  // `extra` joins the intent's payload (an entry carries its whole decision, so a restart can
  // adopt and protect an entry whose ack it never saw).
  // Shadow mode's one gate: true (and a log line) when a venue write must not happen.
  bool shadow_blocks(const char* what, const json& detail) const {
    if (!cfg.shadow) return false;
    pt::log::info("shadow mode: not sent", {{"what", what}, {"detail", detail}});
    return true;
  }

  std::optional<pv::order> place(const pv::order_request& r, const std::string& decision_id, const std::string& correlation,
                                 const char* type, const json& extra = json::object()) {
    if (shadow_blocks("order", {{"client_order_id", r.client_id}, {"symbol", r.symbol}, {"side", side_text(r.s)},
                                {"quantity", udec(r.qty)}, {"reduce_only", r.reduce_only}, {"decision_id", decision_id}})) {
      order_msg(rejected_order(r), decision_id, type, "shadow mode: decided, not sent");
      return std::nullopt;
    }
    trace_stamp("exec_checked");
    json intent{{"phase", "intent"},
                {"client_order_id", r.client_id},
                {"decision_id", decision_id},
                {"symbol", r.symbol},
                {"side", side_text(r.s)},
                {"type", type},
                {"quantity", udec(r.qty)},
                {"reduce_only", r.reduce_only}};
    if (r.price) intent["price"] = udec(*r.price);
    for (const auto& [k, v] : extra.items()) intent[k] = v;
    append(pt::ledger::event_type::order_placed, r.client_id, correlation, intent, r.client_id + ":intent");
    if (!flush()) throw std::runtime_error("ledger flush timed out: the order is not sent");
    trace_stamp("exec_durable");
    trace_stamp("exec_sent");
    if (!trace_body.empty() && trace_cid.empty()) trace_cid = r.client_id;
    try {
      auto o = venue->place_order(r);
      if (o.client_id.empty()) o.client_id = r.client_id;
      if (o.symbol.empty()) o.symbol = r.symbol;
      return o;
    } catch (const pv::venue_error& e) {
      if (e.kind() == pv::outcome_class::ambiguous) {
        pt::log::warn("order outcome unknown: settling by client id", {{"client_id", r.client_id}, {"error", e.what()}});
        if (auto o = settle(r.symbol, r.client_id, cfg.fill_wait)) return o;
        throw std::runtime_error("order " + r.client_id + " outcome still unknown");  // kept in flight: never re-sent blind
      }
      append(pt::ledger::event_type::order_placed, r.client_id, correlation,
             {{"phase", "rejected"}, {"client_order_id", r.client_id}, {"reason", std::string(e.what()).substr(0, 300)}},
             r.client_id + ":rejected");
      order_msg(rejected_order(r), decision_id, type, e.what());
      pt::log::error("order refused by the venue", {{"client_id", r.client_id}, {"error", e.what()}});
      return std::nullopt;
    }
  }

  // Binance Algo Service (exchanges.md B7): conditional orders, through the connector.
  json algo_call(const std::string& method, const std::string& path, const pv::query_params& q, pv::request_kind kind) {
    if (method != "GET" && shadow_blocks("algo order", {{"method", method}, {"path", path}})) return json::object();
    return binance->algo_call(method, path, q, kind);
  }
  json place_algo(const std::string& symbol, pv::side close_side, const char* type, decimal trigger, const std::string& cid) {
    return algo_call("POST", "/fapi/v1/algoOrder",
                     {{"algoType", "CONDITIONAL"},
                      {"symbol", symbol},
                      {"side", close_side == pv::side::buy ? "BUY" : "SELL"},
                      {"type", type},
                      {"triggerPrice", trigger.to_string()},
                      {"closePosition", "true"},
                      {"workingType", "MARK_PRICE"},
                      {"clientAlgoId", cid}},
                     pv::request_kind::place_order);
  }
  void cancel_algo(const std::string& cid) {
    try {
      algo_call("DELETE", "/fapi/v1/algoOrder", {{"clientAlgoId", cid}}, pv::request_kind::idempotent_write);
    } catch (const std::exception& e) {
      pt::log::info("algo cancel: nothing to cancel", {{"client_id", cid}, {"error", e.what()}});
    }
  }

  // Rounds a trigger/limit price to the instrument's tick (nearest; a stop is not a resting order).
  decimal to_tick(const std::string& symbol, decimal p) {
    const auto inst = instrument_of(symbol);
    if (!inst.tick.is_positive()) return p;
    return pt::core::round_to_step(p, inst.tick, pt::core::rounding::half_even);
  }
};

json pos_payload(const position_ctx& p) {
  json j{{"decision_id", p.decision_id},
         {"symbol", p.symbol},
         {"side", p.side == pv::side::buy ? "long" : "short"},
         {"qty", udec(p.qty)},
         {"entry_price", udec(p.entry_price)},
         {"entry_ts", iso(p.entry_ms)},
         {"stop_price", udec(p.plan.stop_price())},
         {"protection_id", p.protection_id}};
  if (p.plan.take_profit()) j["take_profit"] = udec(*p.plan.take_profit());
  return j;
}

using actor_t = caf::stateful_actor<exec_state_t>*;

// ---- protection -----------------------------------------------------------------------------
void confirm_protection(exec_context& c, position_ctx& p, const std::string& by) {
  if (p.plan.phase() != oms::plan_phase::unprotected && p.plan.phase() != oms::plan_phase::protected_) return;
  p.plan.stop_confirmed(by);
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(steady::now() - p.filled_at).count();
  c.append(pt::ledger::event_type::position_updated, "pos-" + p.symbol, p.correlation_id,
           {{"protection", "confirmed"}, {"by", by}, {"stop_price", udec(p.plan.stop_price())}, {"decision_id", p.decision_id},
            {"protection_id", p.protection_id}, {"after_ms", ms}},
           p.decision_id + ":protected:" + std::to_string(p.stop_version));
  c.flush();
  pt::log::info("position protected", {{"symbol", p.symbol}, {"by", by}, {"stop", p.plan.stop_price().to_string()}, {"after_ms", ms}});
}

void guardian_msg(exec_context& c, const position_ctx& p, const char* action, const std::string& msg_id) {
  json j{{"protection_id", p.protection_id},
         {"correlation_id", p.correlation_id},
         {"venue", c.cfg.venue},
         {"symbol", p.symbol},
         {"action", action},
         {"position_side", p.side == pv::side::buy ? "long" : "short"},
         {"stop_price", udec(p.plan.stop_price())},
         {"stop_version", p.stop_version},
         {"ts", iso_now()}};
  if (p.plan.take_profit()) j["take_profit"] = udec(*p.plan.take_profit());
  c.js("guardian.protect", j, msg_id);
}

// A native (algo) leg reported on exec.order like any order: type stop_market or take_profit,
// the whole position's quantity (closePosition), state new when the venue took it, else rejected.
void algo_leg_msg(exec_context& c, const position_ctx& p, const std::string& cid, const char* type, decimal trigger,
                  bool accepted, const std::string& reason = {}) {
  if (c.cfg.shadow) return;  // nothing went to the venue
  pv::order o;
  o.symbol = p.symbol;
  o.client_id = cid;
  o.s = opposite(p.side);
  o.qty = p.qty;
  o.price = trigger;
  o.reduce_only = true;
  o.state = accepted ? pv::order_state::open : pv::order_state::rejected;
  c.order_msg(o, p.decision_id, type, reason);
}

// Sends the stop (and take-profit). Native: confirmed by the venue's ack here; guardian: by the
// guardian.protection armed message later (a deadline checks it).
void start_protection(actor_t self, exec_context& c, position_ctx& p) {
  p.plan.stop_requested(steady::now());
  const auto close_side = opposite(p.side);
  if (c.cfg.protection == "native") {
    const decimal stop = c.to_tick(p.symbol, p.plan.stop_price());
    try {
      c.place_algo(p.symbol, close_side, "STOP_MARKET", stop, p.stop_cid);
      confirm_protection(c, p, "native");
      algo_leg_msg(c, p, p.stop_cid, "stop_market", stop, true);
    } catch (const std::exception& e) {
      pt::log::error("native stop refused", {{"symbol", p.symbol}, {"error", e.what()}});
      algo_leg_msg(c, p, p.stop_cid, "stop_market", stop, false, e.what());
    }
    if (p.plan.take_profit()) {
      const decimal tp = c.to_tick(p.symbol, *p.plan.take_profit());
      try {
        c.place_algo(p.symbol, close_side, "TAKE_PROFIT_MARKET", tp, p.tp_cid);
        p.plan.take_profit_placed();
        algo_leg_msg(c, p, p.tp_cid, "take_profit", tp, true);
      } catch (const std::exception& e) {
        pt::log::warn("native take-profit refused", {{"symbol", p.symbol}, {"error", e.what()}});
        algo_leg_msg(c, p, p.tp_cid, "take_profit", tp, false, e.what());
      }
    }
  } else {
    guardian_msg(c, p, "arm", p.protection_id + "-arm");
    if (p.plan.take_profit()) {
      pv::order_request r;
      r.symbol = p.symbol;
      r.client_id = p.tp_cid;
      r.s = close_side;
      r.type = pv::order_type::limit;
      r.qty = p.qty;
      r.price = c.to_tick(p.symbol, *p.plan.take_profit());
      r.reduce_only = true;
      try {
        if (auto o = c.place(r, p.decision_id, p.correlation_id, "take_profit")) {
          c.order_msg(*o, p.decision_id, "take_profit");
          p.plan.take_profit_placed();
        }
      } catch (const std::exception& e) {
        pt::log::warn("take-profit not placed", {{"symbol", p.symbol}, {"error", e.what()}});
      }
    }
  }
  if (!p.plan.is_protected())
    self->delayed_send(self, c.cfg.protection_timeout, deadline_atom::value, p.symbol, p.decision_id);
}

// ---- closing --------------------------------------------------------------------------------
// Pnl of a closed position from the venue's own fills after the entry (REST, not the stream).
std::pair<decimal, decimal> realized(exec_context& c, const position_ctx& p, decimal exit_avg) {
  decimal fees = p.entry_fee, px_qty, q;
  try {
    for (const auto& f : c.venue->fills(p.symbol, p.entry_ms)) {
      if (f.s == p.side) continue;
      fees += f.fee;
      px_qty += f.price * f.qty;
      q += f.qty;
    }
  } catch (const std::exception& e) {
    pt::log::warn("fills query failed", {{"symbol", p.symbol}, {"error", e.what()}});
  }
  const decimal exit_px = q.is_positive() ? px_qty / q : exit_avg;
  const decimal cs = c.instrument_of(p.symbol).contract_size;
  decimal pnl = (exit_px - p.entry_price) * p.qty * cs;
  if (p.side == pv::side::sell) pnl = -pnl;
  return {pnl - fees, fees};
}

void cancel_protection_legs(exec_context& c, position_ctx& p) {
  if (c.cfg.protection == "native") {
    c.cancel_algo(p.stop_cid);
    c.cancel_algo(p.tp_cid);
  } else {
    try {
      if (p.plan.take_profit_in_place() && !c.shadow_blocks("cancel", {{"client_id", p.tp_cid}})) {
        auto o = c.venue->cancel_order(p.symbol, p.tp_cid);
        c.order_msg(o, p.decision_id, "take_profit");
      }
    } catch (const std::exception& e) {
      pt::log::info("take-profit cancel: nothing to cancel", {{"symbol", p.symbol}, {"error", e.what()}});
    }
    guardian_msg(c, p, "release", p.protection_id + "-release");
  }
}

void position_closed(actor_t self, exec_context& c, position_ctx& p, const std::string& why, decimal exit_avg) {
  auto [pnl, fees] = realized(c, p, exit_avg);
  p.plan.closed();
  c.append(pt::ledger::event_type::position_closed, "pos-" + p.symbol, p.correlation_id,
           {{"decision_id", p.decision_id}, {"reason", why}, {"realized_pnl", pnl.to_string()}, {"fees", fees.to_string()},
            {"qty", udec(p.qty)}, {"entry_price", udec(p.entry_price)}},
           p.decision_id + ":closed");
  c.flush();
  c.position_msg(p.symbol, "flat", decimal{}, decimal{}, decimal{}, pnl, p.decision_id + "-closed");
  pt::log::info("position closed", {{"symbol", p.symbol}, {"reason", why}, {"pnl", pnl.to_string()}});
  self->state.positions.erase(p.symbol);
  c.account_msg(static_cast<int>(self->state.positions.size()), !self->state.hold_entries);
}

// Closes reduce-only at market with the client id of leg `<prefix>-N`.
void flatten(actor_t self, exec_context& c, std::shared_ptr<position_ctx> keep, const std::string& prefix, const std::string& why) {
  auto& p = *keep;
  p.plan.closing();
  cancel_protection_legs(c, p);
  decimal venue_qty;
  try {
    venue_qty = c.position_qty(p.symbol);
  } catch (const std::exception& e) {
    pt::log::error("positions query failed: close not sent", {{"symbol", p.symbol}, {"error", e.what()}});
    return;
  }
  decimal exit_avg;
  if (!venue_qty.is_zero()) {
    pv::order_request r;
    r.symbol = p.symbol;
    r.client_id = oms::client_order_id(p.decision_id, prefix + "-" + std::to_string(++p.closes));
    r.s = venue_qty.is_positive() ? pv::side::sell : pv::side::buy;
    r.type = pv::order_type::market;
    r.qty = venue_qty.is_negative() ? -venue_qty : venue_qty;
    r.reduce_only = true;
    try {
      auto o = c.place(r, p.decision_id, p.correlation_id, "market");
      if (!o) return;
      if (!pv::is_final(o->state)) o = c.settle(p.symbol, r.client_id, c.cfg.fill_wait).value_or(*o);
      c.order_msg(*o, p.decision_id, "market");
      c.append(pt::ledger::event_type::order_filled, r.client_id, p.correlation_id,
               {{"client_order_id", r.client_id}, {"filled_qty", udec(o->filled_qty)}, {"avg_price", udec(o->avg_price)},
                {"fee", o->fee.to_string()}, {"reason", why}},
               r.client_id + ":filled");
      exit_avg = o->avg_price;
      c.backfill_fills(p.symbol, r.client_id, o->order_id, o->update_time);
    } catch (const std::exception& e) {
      c.alert("EXEC_CLOSE_FAILED", "closing " + p.symbol + " failed: " + e.what(), {{"symbol", p.symbol}});
      return;
    }
  }
  position_closed(self, c, p, why, exit_avg);
}

// ---- entries --------------------------------------------------------------------------------
// An approved decision, read once (risk.decision.approved; the entry intent carries it too).
// Throws (json or decimal errors) for a decision without the fields an entry needs.
struct decision_view {
  const json& raw;  // kept whole in the entry intent, for crash recovery
  std::string id, symbol, correlation, venue, cid;
  pv::side side = pv::side::buy;
  decimal qty, stop;
  std::optional<decimal> tp, price, leverage;

  explicit decision_view(const json& b)
      : raw(b),
        id(b.at("decision_id").get<std::string>()),
        symbol(b.at("symbol").get<std::string>()),
        correlation(b.at("correlation_id").get<std::string>()),
        venue(b.at("venue").get<std::string>()),
        cid(oms::client_order_id(id, "entry")),
        side(b.at("side").get<std::string>() == "buy" ? pv::side::buy : pv::side::sell),
        qty(decimal::parse(b.at("quantity").get<std::string>())),
        stop(decimal::parse(b.at("stop_loss").get<std::string>())) {
    auto opt = [&](const char* k) -> std::optional<decimal> {
      if (b.contains(k) && b[k].is_string()) return decimal::parse(b[k].get<std::string>());
      return std::nullopt;
    };
    tp = opt("take_profit");
    price = opt("price");
    leverage = opt("leverage");
  }
};

bool entry_sent(actor_t self, exec_context& c, const decision_view& d, pv::order sent);
// The slippage and stop guard before an entry is sent: "" to go ahead, else why not. The
// mark must be within max_entry_deviation of the decision's price and still on the profit side
// of the stop (an entry past its own stop would be closed at a loss at once).
std::string entry_guard(exec_context& c, const decision_view& d) {
  // Spread guard (seed 004 §10: abort when the spread is over 0.3 %): a wide book means a market
  // entry pays far more than the decision assumed, or the book is broken.
  if (c.cfg.max_spread.is_positive()) {
    pv::order_book b;
    try {
      b = c.venue->book(d.symbol, 5);
    } catch (const std::exception& e) {
      return std::string("order book not known (") + e.what() + "): entry not sent blind";
    }
    if (b.bids.empty() || b.asks.empty()) return "order book empty on one side: entry not sent";
    const decimal bid = b.bids.front().price, ask = b.asks.front().price;
    if (!bid.is_positive() || ask <= bid) return "order book crossed or empty (bid " + bid.to_string() + ", ask " + ask.to_string() + "): entry not sent";
    const decimal spread = (ask - bid) * decimal::parse("2") / (ask + bid);
    if (spread > c.cfg.max_spread)
      return "spread guard: bid " + bid.to_string() + " ask " + ask.to_string() + " is a spread of " +
             (spread * decimal::parse("100")).to_string(4, pt::core::rounding::half_even) + " %, over " +
             (c.cfg.max_spread * decimal::parse("100")).to_string() + " %";
  }
  if (!d.price || !d.price->is_positive()) return "";  // no reference price: market entry as decided
  const decimal ref = *d.price;
  decimal mark;
  const char* source = "rest";
  try {
    mark = c.guard_mark(d.symbol, &source);
  } catch (const std::exception& e) {
    return std::string("mark price not known (") + e.what() + "): entry not sent blind";
  }
  if (!mark.is_positive()) return "mark price not known: entry not sent blind";
  const decimal moved = (mark > ref ? mark - ref : ref - mark) / ref;
  if (moved > c.cfg.max_entry_deviation)
    return "slippage guard: mark " + mark.to_string() + " (" + source + ") is " +
           (moved * decimal::parse("100")).to_string(3, pt::core::rounding::half_even) + " % from the decision's price " + ref.to_string();
  if (stop_crossed(d.side, mark, d.stop))
    return "stop guard: mark " + mark.to_string() + " (" + source + ") is already past the stop " + d.stop.to_string();
  return "";
}

// The children of an entry, or none when it goes out whole (slicing off, or under the notional).
// VWAP weights: per child, the mean 1h volume at that hour of day over the last 7 days (one
// klines call); unknown volume falls back to TWAP.
std::vector<oms::child_slice> plan_slices(exec_context& c, const decision_view& d) {
  if (c.cfg.slice_algo == oms::slice_algo::none) return {};
  const auto inst = c.instrument_of(d.symbol);
  decimal px = d.price.value_or(decimal{});
  if (!px.is_positive()) px = c.venue->get_mark_price(d.symbol).mark;
  if (d.qty * inst.contract_size * px < c.cfg.slice_min_notional) return {};
  const int k = c.cfg.slice_count;
  switch (c.cfg.slice_algo) {
    case oms::slice_algo::twap: return oms::plan_twap(d.qty, inst.lot, inst.min_qty, k, c.cfg.slice_duration);
    case oms::slice_algo::vwap: {
      const auto bucket = c.cfg.slice_duration / k;
      std::vector<decimal> weights(static_cast<std::size_t>(k));
      try {
        pv::kline_query q;
        q.symbol = d.symbol;
        q.interval = "1h";
        q.end = c.venue_now();
        q.limit = 168;
        std::map<std::int64_t, std::pair<decimal, std::int64_t>> by_hour;  // hour -> (sum, n)
        for (const auto& bar : c.venue->klines(q)) {
          auto& [sum, n] = by_hour[(bar.open_time / 3'600'000) % 24];
          sum += bar.volume;
          ++n;
        }
        for (int i = 0; i < k; ++i) {
          const auto hour = ((c.venue_now() + bucket.count() * i) / 3'600'000) % 24;
          if (auto it = by_hour.find(hour); it != by_hour.end() && it->second.second > 0)
            weights[static_cast<std::size_t>(i)] = it->second.first / decimal::from_integer(it->second.second);
        }
      } catch (const std::exception& e) {
        pt::log::warn("vwap: no volume profile, slicing evenly", {{"symbol", d.symbol}, {"error", e.what()}});
      }
      return oms::plan_vwap(d.qty, inst.lot, inst.min_qty, weights, bucket);
    }
    case oms::slice_algo::iceberg:
      return oms::plan_iceberg(d.qty, inst.lot, inst.min_qty, d.qty * c.cfg.slice_display);
    case oms::slice_algo::none: break;
  }
  return {};
}

// An entry order, whole or one child of a sliced entry: market; an iceberg clip with a reference
// price is an IOC limit at the slippage cap (it never rests, so the book never shows more than
// one clip).
pv::order_request child_request(exec_context& c, const decision_view& d, const oms::child_slice& child, const std::string& cid,
                                std::optional<decimal> ref) {
  pv::order_request r;
  r.symbol = d.symbol;
  r.client_id = cid;
  r.s = d.side;
  r.type = pv::order_type::market;
  r.qty = child.qty;
  r.mode = c.cfg.margin;
  if (c.cfg.slice_algo == oms::slice_algo::iceberg && ref && ref->is_positive()) {
    const auto tick = c.instrument_of(d.symbol).tick;
    const bool buy = d.side == pv::side::buy;
    const decimal cap = *ref * (buy ? decimal::one() + c.cfg.max_entry_deviation : decimal::one() - c.cfg.max_entry_deviation);
    r.type = pv::order_type::limit;
    r.tif = pv::time_in_force::ioc;
    r.price = tick.is_positive() ? pt::core::round_to_step(cap, tick, buy ? pt::core::rounding::floor : pt::core::rounding::ceil) : cap;
  }
  return r;
}

// Returns true when the envelope may be acked (the effect is durable or the decision is refused).
// deliveries: JetStream's count for this message (1 = first delivery).
bool on_decision(actor_t self, exec_context& c, const json& b, std::uint64_t deliveries) {
  auto& st = self->state;
  const decision_view d(b);
  if (st.decisions_done.count(d.id)) {
    pt::log::info("decision already handled", {{"decision_id", d.id}});
    return true;
  }
  if (d.venue != c.cfg.venue || std::find(c.cfg.symbols.begin(), c.cfg.symbols.end(), d.symbol) == c.cfg.symbols.end()) {
    pt::log::warn("decision for another venue or symbol: ignored", {{"decision_id", d.id}, {"symbol", d.symbol}});
    return true;
  }

  // The venue is consulted first when the order could be there already: a redelivery (a crash
  // between the send and the ack), or a client id with an intent in the ledger (a decision
  // published again). A first delivery of a decision this ledger never sent skips the round trip:
  // every send appends its intent first, and the intents were read at start.
  std::optional<pv::order> o;
  if (deliveries != 1 || !st.intents_known || st.intent_cids.count(d.cid)) o = c.venue->query_order(d.symbol, d.cid);
  if (!o) {
    pv::order_request r = child_request(c, d, {0, d.qty, std::chrono::milliseconds(0)}, d.cid, std::nullopt);  // whole, at market
    std::string refuse;
    if (st.kill_active) refuse = "kill switch active";
    else if (st.hold_entries) refuse = "entries held by reconciliation: " + st.hold_reason;
    else if (st.self_check_hold) refuse = "entries held: the self-check failed: " + st.self_check_reason;
    else if (st.positions.count(d.symbol)) refuse = "a position in " + d.symbol + " is already open";
    else refuse = entry_guard(c, d);
    if (!refuse.empty()) {
      pt::log::warn("decision refused", {{"decision_id", d.id}, {"reason", refuse}});
      c.order_msg(rejected_order(r), d.id, "market", refuse);
      st.decisions_done.insert(d.id);
      return true;
    }
    if (c.cfg.enforce_settings && d.leverage) {
      const int lev = std::clamp(static_cast<int>(d.leverage->to_double()), 1, c.cfg.leverage);
      const auto known = st.leverage_set.find(d.symbol);
      if ((known == st.leverage_set.end() || known->second != lev) && !c.shadow_blocks("leverage", {{"symbol", d.symbol}})) try {
          st.leverage_set.erase(d.symbol);
          c.venue->set_leverage(d.symbol, lev, c.cfg.margin);
          st.leverage_set[d.symbol] = lev;
        } catch (const std::exception& e) {
          pt::log::warn("leverage not set", {{"symbol", d.symbol}, {"error", e.what()}});
        }
    }
    std::vector<oms::child_slice> plan;
    try {
      plan = plan_slices(c, d);
    } catch (const std::exception& e) {
      pt::log::warn("slicing not planned: the entry goes out whole", {{"decision_id", d.id}, {"error", e.what()}});
    }
    if (plan.size() > 1) {
      r = child_request(c, d, plan[0], d.cid, d.price);
      pt::log::info("sliced entry", {{"decision_id", d.id}, {"algo", oms::to_string(c.cfg.slice_algo)}, {"children", plan.size()},
                                     {"first", udec(plan[0].qty)}, {"total", udec(d.qty)}});
    }
    st.intent_cids.insert(d.cid);
    o = c.place(r, d.id, d.correlation, r.type == pv::order_type::market ? "market" : "limit",
                {{"leg", "entry"}, {"decision", pt::core::trace::without(d.raw)}, {"child", 0}, {"children", std::max<std::size_t>(plan.size(), 1)}});
    if (!o) {
      st.decisions_done.insert(d.id);
      return true;
    }
    if (plan.size() > 1) {
      decision_view first = d;
      first.qty = plan[0].qty;
      const bool done = entry_sent(self, c, first, *o);
      auto pit = st.positions.find(d.symbol);
      if (pit != st.positions.end() && pit->second->decision_id == d.id) {
        st.slicing[d.symbol] = slice_job{d.raw, plan, 1, 0};
        const auto wait = plan[1].at - plan[0].at;
        self->delayed_send(self, std::max(wait, std::chrono::milliseconds(0)), slice_atom::value, d.symbol, d.id);
      } else {
        pt::log::warn("sliced entry: the first child opened no position; the rest is not sent", {{"decision_id", d.id}});
      }
      return done;
    }
  } else {
    pt::log::warn("entry already at the venue: adopting it, not sending again", {{"client_id", d.cid}, {"decision_id", d.id}});
    // Managed already, or long gone (closed before a restart): nothing more to do for it.
    if (st.positions.count(d.symbol) || c.position_qty(d.symbol).is_zero()) {
      st.decisions_done.insert(d.id);
      return true;
    }
  }
  return entry_sent(self, c, d, *o);
}

// After the entry is at the venue (acked now, or found by client id after a crash): the ack in
// the ledger, the fill verified over REST, the position opened and protected.
bool entry_sent(actor_t self, exec_context& c, const decision_view& d, pv::order sent) {
  auto& st = self->state;
  const auto& decision_id = d.id;
  const auto& symbol = d.symbol;
  const auto& correlation = d.correlation;
  const auto& cid = d.cid;
  const auto side = d.side;
  const decimal qty = d.qty;
  std::optional<pv::order> o = sent;
  c.append(pt::ledger::event_type::order_placed, cid, correlation,
           {{"phase", "acked"}, {"client_order_id", cid}, {"venue_order_id", o->order_id}, {"decision_id", decision_id}},
           cid + ":acked");
  pv::order acked = *o;
  acked.state = pv::order_state::open;
  c.order_msg(acked, decision_id, "market");

  // The fill, verified over REST by client id (the stream may have told it already).
  oms::order_machine m(qty);
  m.apply({oms::order_event_kind::send, {}, {}});
  if (!pv::is_final(o->state)) o = c.settle(symbol, cid, c.cfg.fill_wait).value_or(*o);
  else if (auto q = c.venue->query_order(symbol, cid)) o = *q;
  if (o->filled_qty.is_positive()) m.apply({oms::order_event_kind::fill, o->filled_qty, o->avg_price});
  if (!o->filled_qty.is_positive()) {
    c.order_msg(*o, decision_id, "market", "entry not filled");
    pt::log::error("entry not filled", {{"client_id", cid}, {"state", pv::to_string(o->state)}});
    st.decisions_done.insert(decision_id);
    return true;
  }
  c.order_msg(*o, decision_id, "market");
  c.backfill_fills(symbol, cid, o->order_id, o->update_time);
  c.append(pt::ledger::event_type::order_filled, cid, correlation,
           {{"client_order_id", cid}, {"filled_qty", udec(o->filled_qty)}, {"avg_price", udec(o->avg_price)},
            {"fee", o->fee.to_string()}, {"state", oms::to_string(m.status())}},
           cid + ":filled");

  auto p = std::make_shared<position_ctx>(d.stop, d.tp);
  p->symbol = symbol;
  p->decision_id = decision_id;
  p->correlation_id = correlation;
  p->protection_id = "prot-" + cid;
  p->side = side;
  p->qty = o->filled_qty;
  p->entry_price = o->avg_price;
  p->entry_fee = o->fee;
  p->entry_ms = o->update_time > 0 ? o->update_time : wall_ms();
  p->stop_cid = oms::client_order_id(decision_id, "stop");
  p->tp_cid = oms::client_order_id(decision_id, "tp");
  p->filled_at = steady::now();
  p->plan.entry_filled(p->qty, p->entry_price, p->filled_at);
  st.positions[symbol] = p;
  c.append(pt::ledger::event_type::position_opened, "pos-" + symbol, correlation, pos_payload(*p), decision_id + ":opened");
  c.flush();
  c.position_msg(symbol, side == pv::side::buy ? "long" : "short", p->qty, p->entry_price, decimal{}, decimal{},
                 decision_id + "-opened");
  start_protection(self, c, *p);
  c.account_msg(static_cast<int>(st.positions.size()), !st.hold_entries);
  st.decisions_done.insert(decision_id);
  return true;
}


// The next child of a sliced entry. The slicing stops, keeping what filled (protected as the
// position grows: the stop is position-wide on both venues), when the position is gone (stop,
// exit, kill switch), the kill switch is on, the slippage guard refuses, or a child fills nothing.
// After a restart the remaining children are not sent: the position stays at what filled.
void on_slice(actor_t self, exec_context& c, const std::string& symbol, const std::string& decision_id) {
  auto& st = self->state;
  auto jit = st.slicing.find(symbol);
  if (jit == st.slicing.end()) return;
  slice_job& job = jit->second;
  const decision_view d(job.decision);
  if (d.id != decision_id) return;
  auto stop = [&](const std::string& why) {
    pt::log::info("sliced entry ended", {{"decision_id", d.id}, {"why", why}, {"children_sent", job.next}, {"children", job.plan.size()}});
    st.slicing.erase(jit);
  };
  auto pit = st.positions.find(symbol);
  if (pit == st.positions.end() || pit->second->decision_id != d.id) return stop("the position is no longer open");
  if (st.kill_active) return stop("kill switch active");
  auto p = pit->second;
  // Only onto a protected position: not before its stop is confirmed (wait a little), never while
  // it is being closed.
  if (p->plan.phase() != oms::plan_phase::protected_ && p->plan.phase() != oms::plan_phase::unprotected)
    return stop("the position is being closed");
  if (!p->plan.is_protected()) {
    self->delayed_send(self, std::chrono::milliseconds(200), slice_atom::value, symbol, d.id);
    return;
  }
  // The venue must still hold exactly this position: a stop or take-profit may have filled before
  // its report arrived here, and a child must never open a new, unprotected position.
  const decimal expected = p->side == pv::side::buy ? p->qty : -p->qty;
  if (const decimal held = c.position_qty(symbol); held != expected)
    return stop("the venue holds " + held.to_string() + ", not the position's " + expected.to_string());
  const oms::child_slice child = job.plan[job.next];
  const std::string cid = oms::client_order_id(d.id, "entry-" + std::to_string(child.index));
  const std::optional<decimal> ref = d.price ? d.price : std::optional<decimal>(p->entry_price);
  const auto r = child_request(c, d, child, cid, ref);
  const char* type = r.type == pv::order_type::market ? "market" : "limit";
  std::optional<pv::order> o = c.venue->query_order(symbol, cid);
  if (!o) {
    // The guard against the stop in force (it may have trailed) and, without a decision price,
    // against the position's entry price.
    decision_view now = d;
    now.stop = p->plan.stop_price();
    if (!now.price) now.price = p->entry_price;
    if (const auto refuse = entry_guard(c, now); !refuse.empty()) {
      c.order_msg(rejected_order(r), d.id, type, refuse);
      return stop(refuse);
    }
    o = c.place(r, d.id, d.correlation, type, {{"leg", "entry"}, {"child", child.index}, {"children", job.plan.size()}});
    if (!o) return stop("the child was not sent");
  }
  if (!pv::is_final(o->state)) o = c.settle(symbol, cid, c.cfg.fill_wait).value_or(*o);
  if (!o->filled_qty.is_positive()) {
    c.order_msg(*o, d.id, type, "child not filled");
    return stop("a child filled nothing");
  }
  c.order_msg(*o, d.id, type);
  c.backfill_fills(symbol, cid, o->order_id, o->update_time);
  c.append(pt::ledger::event_type::order_filled, cid, d.correlation,
           {{"client_order_id", cid}, {"filled_qty", udec(o->filled_qty)}, {"avg_price", udec(o->avg_price)},
            {"fee", o->fee.to_string()}, {"child", child.index}},
           cid + ":filled");
  const decimal q0 = p->qty, q1 = o->filled_qty;
  p->entry_price = (p->entry_price * q0 + o->avg_price * q1) / (q0 + q1);
  p->qty = q0 + q1;
  p->entry_fee += o->fee;
  c.append(pt::ledger::event_type::position_updated, "pos-" + symbol, d.correlation,
           {{"added", udec(q1)}, {"qty", udec(p->qty)}, {"entry_price", udec(p->entry_price)}, {"decision_id", d.id},
            {"child", child.index}},
           d.id + ":added:" + std::to_string(child.index));
  c.flush();
  c.position_msg(symbol, p->side == pv::side::buy ? "long" : "short", p->qty, p->entry_price, decimal{}, decimal{},
                 d.id + "-added-" + std::to_string(child.index));
  // The stop may have filled while the child was out: then the child opened a position of its
  // own. Said loudly; check_flat and reconciliation settle the rest.
  if (const decimal held = c.position_qty(symbol); held != (p->side == pv::side::buy ? p->qty : -p->qty)) {
    c.alert("EXEC_SLICE_MISMATCH", "after a child of " + d.id + " the venue holds " + held.to_string() + " " + symbol +
                                       ", the position is " + p->qty.to_string(),
            {{"symbol", symbol}, {"decision_id", d.id}});
    return stop("the venue position differs after a child");
  }
  // Guardian venues: the take-profit is a reduce-only limit of the position's size; replace it.
  if (c.cfg.protection != "native" && p->plan.take_profit() && p->plan.take_profit_in_place() &&
      !c.shadow_blocks("cancel", {{"client_id", p->tp_cid}})) {
    try {
      c.venue->cancel_order(symbol, p->tp_cid);
    } catch (const std::exception& e) {
      pt::log::warn("take-profit not cancelled for resizing", {{"symbol", symbol}, {"error", e.what()}});
    }
    p->tp_cid = oms::client_order_id(d.id, "tp-" + std::to_string(++job.tp_version));
    pv::order_request tp;
    tp.symbol = symbol;
    tp.client_id = p->tp_cid;
    tp.s = opposite(p->side);
    tp.type = pv::order_type::limit;
    tp.qty = p->qty;
    tp.price = c.to_tick(symbol, *p->plan.take_profit());
    tp.reduce_only = true;
    try {
      if (auto placed = c.place(tp, d.id, d.correlation, "take_profit")) c.order_msg(*placed, d.id, "take_profit");
    } catch (const std::exception& e) {
      pt::log::warn("take-profit not replaced", {{"symbol", symbol}, {"error", e.what()}});
    }
  }
  ++job.next;
  if (job.next >= job.plan.size()) return stop("complete");
  const auto wait = job.plan[job.next].at - child.at;
  self->delayed_send(self, std::max(wait, std::chrono::milliseconds(0)), slice_atom::value, symbol, d.id);
}

void on_exit(actor_t self, exec_context& c, const json& b) {
  auto& st = self->state;
  const auto exit_id = b.at("exit_id").get<std::string>();
  if (st.exits_done.count(exit_id)) return;
  const auto symbol = b.at("symbol").get<std::string>();
  auto it = st.positions.find(symbol);
  if (it == st.positions.end()) {
    pt::log::warn("exit for a symbol without a managed position", {{"exit_id", exit_id}, {"symbol", symbol}});
    st.exits_done.insert(exit_id);
    return;
  }
  auto p = it->second;
  if (b.at("kind") == "close") {
    flatten(self, c, p, "exit", "exit:" + b.at("reason").get<std::string>());
  } else if (b.contains("new_stop")) {
    const decimal ns = decimal::parse(b["new_stop"].get<std::string>());
    p->plan.stop_moved(ns);
    ++p->stop_version;
    if (c.cfg.protection == "native") {
      // A stop moved past the market is a stop that has been hit: the venue would refuse the order
      // ("would immediately trigger", Binance -2021) and leave the old, wider stop in force. Close
      // now instead, as the guardian does on Poloniex when a moved stop is already crossed.
      try {
        const char* source = "rest";
        const decimal mark = c.guard_mark(symbol, &source);
        if (mark.is_positive() && stop_crossed(p->side, mark, ns)) {
          pt::log::info("moved stop already crossed: closing", {{"symbol", symbol}, {"stop", ns.to_string()}, {"mark", mark.to_string()}});
          flatten(self, c, p, "exit", "stop_moved_past_mark");
          st.exits_done.insert(exit_id);
          return;
        }
      } catch (const std::exception& e) {
        pt::log::warn("mark not known before moving the stop: placing it anyway", {{"symbol", symbol}, {"error", e.what()}});
      }
      const auto old = p->stop_cid;
      const auto cid = oms::client_order_id(p->decision_id, "stop-" + std::to_string(p->stop_version));
      const decimal at = c.to_tick(symbol, ns);
      try {
        c.place_algo(symbol, opposite(p->side), "STOP_MARKET", at, cid);
        p->stop_cid = cid;
        c.cancel_algo(old);  // the new one is in force first: never a moment without a stop
        confirm_protection(c, *p, "native");
        algo_leg_msg(c, *p, cid, "stop_market", at, true);
      } catch (const std::exception& e) {
        c.alert("EXEC_STOP_MOVE_FAILED", "moving the stop of " + symbol + " failed: " + e.what(), {{"symbol", symbol}});
        algo_leg_msg(c, *p, cid, "stop_market", at, false, e.what());
      }
    } else {
      guardian_msg(c, *p, "arm", p->protection_id + "-arm-" + std::to_string(p->stop_version));
    }
  }
  st.exits_done.insert(exit_id);
}

void on_killswitch(actor_t self, exec_context& c, const json& b) {
  auto& st = self->state;
  const bool active = b.at("active").get<bool>();
  if (!active) {
    if (st.kill_active) pt::log::info("kill switch reset: entries allowed again");
    st.kill_active = false;
    return;
  }
  st.kill_active = true;
  pt::log::warn("kill switch active: cancelling every order, closing every position");
  for (auto keep : std::vector<std::shared_ptr<position_ctx>>([&] {
         std::vector<std::shared_ptr<position_ctx>> v;
         for (auto& [s, p] : st.positions) v.push_back(p);
         return v;
       }()))
    flatten(self, c, keep, "flat", "kill_switch");
  for (const auto& symbol : c.cfg.symbols) {
    try {
      for (const auto& o : c.venue->open_orders(symbol))
        if (!c.shadow_blocks("cancel", {{"client_id", o.client_id}})) c.venue->cancel_order(symbol, o.client_id);
      if (c.binance) c.algo_call("DELETE", "/fapi/v1/algoOpenOrders", {{"symbol", symbol}}, pv::request_kind::idempotent_write);
      const decimal q = c.position_qty(symbol);
      if (!q.is_zero()) {  // a position nobody here manages: close it too
        pv::order_request r;
        r.symbol = symbol;
        r.client_id = oms::client_order_id("kill-" + symbol + "-" + b.at("ts").get<std::string>(), "flat-1");
        r.s = q.is_positive() ? pv::side::sell : pv::side::buy;
        r.type = pv::order_type::market;
        r.qty = q.is_negative() ? -q : q;
        r.reduce_only = true;
        if (auto o = c.place(r, "", "killswitch", "market")) c.order_msg(*o, "", "market", "kill switch");
      }
    } catch (const std::exception& e) {
      c.alert("EXEC_KILLSWITCH_INCOMPLETE", "kill switch on " + symbol + ": " + e.what(), {{"symbol", symbol}});
    }
  }
  c.account_msg(static_cast<int>(st.positions.size()), !st.hold_entries);
}

// exec.account.sync: publish the account now, then answer (the report first: a conductor that
// has the answer knows the report is on its way, ordered before anything published later).
void on_account_sync(actor_t self, exec_context& c, const pt::bus::envelope& e) {
  const auto id = e.body.at("request_id").get<std::string>();
  const auto why_not = c.account_msg(static_cast<int>(self->state.positions.size()), !self->state.hold_entries, id);
  json r{{"request_id", id}, {"published", why_not.empty()}};
  if (why_not.empty()) r["ts"] = iso(c.venue_now());
  else r["reason"] = why_not.substr(0, 256);
  if (e.is_request())
    if (auto err = c.bus->reply(e, r)) pt::log::warn("exec.account.sync reply failed", {{"error", pt::bus::describe(err)}});
}

void on_guardian(actor_t self, exec_context& c, const json& b) {
  const auto symbol = b.at("symbol").get<std::string>();
  auto it = self->state.positions.find(symbol);
  if (it == self->state.positions.end() || it->second->protection_id != b.at("protection_id").get<std::string>()) return;
  auto p = it->second;
  const auto state = b.at("state").get<std::string>();
  if (state == "armed") {
    if (b.contains("stop_price") && decimal::parse(b["stop_price"].get<std::string>()) != p->plan.stop_price()) return;  // an older arm
    confirm_protection(c, *p, "guardian");
  } else if (state == "triggered" || state == "closed") {
    // The guardian closed it: settle from the venue.
    try {
      if (c.position_qty(symbol).is_zero()) {
        cancel_protection_legs(c, *p);
        position_closed(self, c, *p, "stop", decimal{});
      }
    } catch (const std::exception& e) {
      pt::log::warn("position check failed", {{"symbol", symbol}, {"error", e.what()}});
    }
  } else if (state == "failed") {
    c.alert("EXEC_GUARDIAN_FAILED", "guardian failed to protect " + symbol, {{"symbol", symbol}});
  }
}

// A position of ours went flat on the venue (stop or take-profit filled): settle it.
// ctl.reconciliation.ack: only a signed, fresh, unreplayed command lifts the hold. Every command,
// accepted or refused, is audited (without its signature) before the answer.
void on_reconciliation_ack(actor_t self, exec_context& c, const pt::bus::envelope& e) {
  const auto v = c.ctl.verify(e.subject, e.body, pt::core::timestamp::from_millis(wall_ms()));
  const bool was = self->state.hold_entries;
  std::string message;
  if (!v) {
    message = "refused: " + v.reason;
  } else {
    self->state.hold_entries = false;
    message = was ? "reconciliation acknowledged: entries allowed" : "nothing was held";
  }
  const std::string request_id = e.body.value("request_id", "");
  c.append(pt::ledger::event_type::control_command_received, "ctl", request_id,
           {{"subject", e.subject}, {"accepted", v.ok}, {"message", message}, {"command", pt::control::redact(e.body)}},
           "ctl:" + (request_id.empty() ? std::to_string(wall_ms()) : request_id) + (v.ok ? "" : ":refused:" + std::to_string(wall_ms())));
  c.flush();  // the audit is durable before the answer
  pt::log::info(v.ok ? "control command accepted" : "control command refused", {{"subject", e.subject}, {"message", message}});
  if (e.is_request())
    c.bus->reply(e, {{"request_id", request_id.empty() ? std::string("x") : request_id},
                     {"ok", v.ok},
                     {"message", message},
                     {"ts", iso_now()}});
}

void check_flat(actor_t self, exec_context& c, const std::string& symbol, const char* why) {
  auto it = self->state.positions.find(symbol);
  if (it == self->state.positions.end()) return;
  auto p = it->second;
  if (p->plan.phase() == oms::plan_phase::closing || p->plan.phase() == oms::plan_phase::awaiting_entry) return;
  try {
    if (!c.position_qty(symbol).is_zero()) return;
  } catch (const std::exception&) {
    return;
  }
  p->plan.closing();
  cancel_protection_legs(c, *p);
  position_closed(self, c, *p, why, decimal{});
}

// ---- start-up: reconciliation ---------------------------------------------------------------
struct ledger_view {
  bool open = false, protected_ = false;
  json opened;
  json in_flight_entry;  // the newest entry intent (its decision) without a PositionOpened, or null
};

// Also fills `entry_intents`: every entry client id with an intent in the ledger (same snapshot).
std::map<std::string, ledger_view> read_ledger_view(exec_context& c, std::set<std::string>& entry_intents) {
  std::map<std::string, ledger_view> out;
  pqxx::connection conn(c.db_url);
  pqxx::work tx(conn);
  for (const auto& row : tx.exec("SELECT DISTINCT payload->>'client_order_id' FROM events WHERE type = 'OrderPlaced' "
                                 "AND payload->>'phase' = 'intent' AND payload->>'leg' = 'entry'"))
    if (!row[0].is_null()) entry_intents.insert(row[0].as<std::string>());
  for (const auto& symbol : c.cfg.symbols) {
    auto& v = out[symbol];
    for (const auto& row : tx.exec_params("SELECT type, payload::text FROM events WHERE stream_id = $1 ORDER BY seq",
                                          "pos-" + symbol)) {
      const auto type = row[0].as<std::string>();
      if (type == "PositionOpened") {
        v.open = true;
        v.protected_ = false;
        v.opened = json::parse(row[1].as<std::string>(), nullptr, false);
      } else if (type == "PositionClosed") {
        v.open = false;
        v.protected_ = false;
      } else if (type == "PositionUpdated") {
        const auto j = json::parse(row[1].as<std::string>(), nullptr, false);
        if (j.is_object() && j.value("protection", "") == "confirmed") v.protected_ = true;
      }
    }
    // The newest entry intent for the symbol; in flight when its decision never opened a position.
    const auto intent = tx.exec_params(
        "SELECT payload::text FROM events WHERE type = 'OrderPlaced' AND payload->>'phase' = 'intent' "
        "AND payload->>'leg' = 'entry' AND payload->>'symbol' = $1 ORDER BY seq DESC LIMIT 1",
        symbol);
    if (!intent.empty()) {
      auto j = json::parse(intent[0][0].as<std::string>(), nullptr, false);
      if (j.is_object() && j.contains("decision") && j["decision"].is_object()) {
        const auto opened = tx.exec_params(
            "SELECT 1 FROM events WHERE stream_id = $1 AND type = 'PositionOpened' AND payload->>'decision_id' = $2 LIMIT 1",
            "pos-" + symbol, j.value("decision_id", ""));
        if (opened.empty()) v.in_flight_entry = j["decision"];
      }
    }
  }
  return out;
}

void reconcile(actor_t self, exec_context& c) {
  auto& st = self->state;
  const std::string run_id = "recon-" + std::to_string(wall_ms());
  json findings = json::array();
  bool critical = false;
  std::string critical_text;
  auto finding = [&](const std::string& kind, const std::string& symbol, const std::string& detail, bool crit,
                     std::optional<decimal> ours = {}, std::optional<decimal> theirs = {}) {
    json f{{"kind", kind}, {"symbol", symbol}, {"detail", detail}};
    if (ours) f["ours"] = ours->to_string();
    if (theirs) f["venue"] = theirs->to_string();
    findings.push_back(f);
    c.append(pt::ledger::event_type::manual_intervention_detected, "recon", run_id, f, run_id + ":" + std::to_string(findings.size()));
    if (crit) {
      critical = true;
      critical_text = kind + " " + symbol;
    }
  };
  std::string status = "ok";
  try {
    const auto view = read_ledger_view(c, st.intent_cids);
    st.intents_known = true;
    for (const auto& symbol : c.cfg.symbols) {
      const auto& v = view.at(symbol);
      const decimal q = c.position_qty(symbol);
      std::optional<pv::order> crashed_entry;
      if (!q.is_zero() && !v.open && v.in_flight_entry.is_object()) {
        const auto cid = oms::client_order_id(v.in_flight_entry.value("decision_id", ""), "entry");
        crashed_entry = c.venue->query_order(symbol, cid);
        if (crashed_entry && !crashed_entry->filled_qty.is_positive()) crashed_entry.reset();
      }
      if (crashed_entry) {
        // Not a manual intervention: this service sent it and died before the ack.
        pt::log::warn("an entry sent before a crash is filled at the venue: adopting and protecting it",
                      {{"symbol", symbol}, {"client_id", crashed_entry->client_id}});
        st.to_recover.emplace_back(v.in_flight_entry, *crashed_entry);
      } else if (!q.is_zero() && !v.open) {
        finding("unknown_position", symbol, "the venue holds a position the ledger does not know", true, decimal{}, q);
      } else if (q.is_zero() && v.open) {
        finding("position_gone", symbol, "the ledger has an open position; the venue is flat", false, std::nullopt, q);
      } else if (!q.is_zero() && v.open) {
        bool prot = v.protected_;
        if (c.binance) {  // the native stop must still be there
          prot = false;
          const auto algos = c.algo_call("GET", "/fapi/v1/openAlgoOrders", {{"symbol", symbol}}, pv::request_kind::query);
          for (const auto& a : algos.is_array() ? algos : json::array())
            if (a.value("orderType", a.value("type", "")) == "STOP_MARKET") prot = true;
        }
        if (!prot) finding("unprotected_position", symbol, "an open position without a confirmed stop", true, std::nullopt, q);
        // Managed again: exits and the kill switch find it.
        const auto& o = v.opened;
        if (o.is_object() && o.contains("stop_price")) {
          std::optional<decimal> tp;
          if (o.contains("take_profit")) tp = decimal::parse(o["take_profit"].get<std::string>());
          auto p = std::make_shared<position_ctx>(decimal::parse(o["stop_price"].get<std::string>()), tp);
          p->symbol = symbol;
          p->decision_id = o.value("decision_id", "");
          p->protection_id = o.value("protection_id", "");
          p->correlation_id = p->decision_id;
          p->side = o.value("side", "long") == "long" ? pv::side::buy : pv::side::sell;
          p->qty = q.is_negative() ? -q : q;
          p->entry_price = decimal::parse(o.value("entry_price", "0"));
          p->stop_cid = oms::client_order_id(p->decision_id, "stop");
          p->tp_cid = oms::client_order_id(p->decision_id, "tp");
          p->filled_at = steady::now();
          p->plan.entry_filled(p->qty, p->entry_price, p->filled_at);
          p->plan.stop_requested(p->filled_at);
          if (prot) p->plan.stop_confirmed(c.binance ? "native" : "guardian");
          if (tp) p->plan.take_profit_placed();
          st.positions[symbol] = p;
          st.decisions_done.insert(p->decision_id);
        }
      }
      for (const auto& o : c.venue->open_orders(symbol))
        if (o.client_id.rfind("pt", 0) != 0)
          finding("foreign_order", symbol, "an open order not placed by polytrade: " + o.client_id, false);
    }
    if (!findings.empty()) status = "mismatch";
  } catch (const std::exception& e) {
    status = "failed";
    critical = true;
    critical_text = std::string("reconciliation failed: ") + e.what();
    findings.push_back({{"kind", "failed"}, {"detail", critical_text.substr(0, 200)}});
  }
  c.append(pt::ledger::event_type::reconciliation_completed, "recon", run_id,
           {{"run_id", run_id}, {"status", status}, {"findings", findings}, {"critical", critical}}, run_id + ":done");
  c.flush();
  c.js("exec.reconciliation", {{"run_id", run_id}, {"venue", c.cfg.venue}, {"status", status}, {"findings", findings}, {"ts", iso_now()}},
       run_id);
  if (critical) {
    st.hold_entries = true;
    st.hold_reason = critical_text;
    c.alert("EXEC_RECONCILIATION_HOLD", "new entries held until ctl.reconciliation.ack: " + critical_text, {{"run_id", run_id}});
  }
  pt::log::info("reconciliation done", {{"status", status}, {"findings", findings.size()}, {"hold", critical}});
}

// The entries reconcile() found in flight: opened and protected now, before any decision is read
// (the redelivered decision then finds it handled).
void recover_entries(actor_t self, exec_context& c) {
  auto list = std::move(self->state.to_recover);
  self->state.to_recover.clear();
  for (auto& [decision, order] : list) {
    try {
      entry_sent(self, c, decision_view(decision), order);
    } catch (const std::exception& e) {
      c.alert("EXEC_RECOVERY_FAILED", "an entry found after a crash was not adopted: " + std::string(e.what()),
              {{"symbol", order.symbol}, {"client_id", order.client_id}});
    }
  }
}

// The checks against the venue with this configuration's expectations; the service at start and
// `--self-check` both use it. Paper accepts what the venue cannot verify; live only when configured.
struct self_check_outcome {
  pv::self_check_report report;
  bool accept = false;                // unverifiable results accepted
  std::vector<std::string> blocking;  // what holds entries (empty: pass)
};
self_check_outcome check_venue(exec_context& c) {
  pv::self_check_expectations x;
  x.symbols = c.cfg.symbols;
  x.leverage = c.cfg.leverage;
  x.margin = c.cfg.margin;
  x.pos_mode = c.cfg.pos_mode;
  x.skew = c.cfg.venue == "binance" ? pv::clock_skew_config::for_binance() : pv::clock_skew_config::for_poloniex();
  const auto facts = pv::gather(*c.venue, x, [] { return pt::core::timestamp::from_nanos(wall_ms() * 1'000'000); },
                                c.instruments_from_catalog);
  self_check_outcome o;
  o.report = pv::evaluate(facts, x);
  o.accept = c.cfg.accept_unverified_key_permissions || c.cfg.mode != "live";
  o.blocking = o.report.blocking(o.accept);
  return o;
}

// The start-up self-check: every check on the ledger (SelfCheckCompleted) and in the log; a
// blocking result holds new entries (exits, stops and the kill switch still run) and is re-run
// every self_check_retry.
void run_self_check(actor_t self, exec_context& c) {
  const auto [report, accept, blocking] = check_venue(c);
  for (const auto& r : report.checks) {
    if (r.status == pv::check_status::pass)
      pt::log::info("self-check", {{"check", r.code}, {"status", pv::to_string(r.status)}, {"detail", r.detail}});
    else
      pt::log::warn("self-check", {{"check", r.code}, {"status", pv::to_string(r.status)}, {"detail", r.detail}});
  }
  const std::string run_id = "selfcheck-" + std::to_string(wall_ms());
  c.append(pt::ledger::event_type::self_check_completed, "selfcheck", run_id,
           {{"run_id", run_id}, {"venue", c.cfg.venue}, {"mode", c.cfg.mode}, {"passed", blocking.empty()},
            {"unverifiable_accepted", accept}, {"checks", report.to_json()}},
           run_id);
  if (!c.flush()) pt::log::warn("self-check result not yet on the ledger (it stays queued)");
  auto& st = self->state;
  if (blocking.empty()) {
    if (st.self_check_hold) pt::log::info("self-check passed: entries allowed again");
    st.self_check_hold = false;
    st.self_check_reason.clear();
    return;
  }
  std::string reason, codes;
  for (const auto& b : blocking) reason += (reason.empty() ? "" : "; ") + b;
  for (const auto& r : report.checks)
    if (r.status == pv::check_status::fail || r.status == pv::check_status::unverifiable) codes += r.code + " ";
  if (c.cfg.shadow) {
    // Shadow mode sends nothing, so there is nothing to hold; its settings are not enforced either,
    // so a settings difference is expected. Reported, not held: the decisions stay visible.
    pt::log::warn("self-check failed; shadow mode sends nothing, so entries are not held", {{"reason", reason}});
    return;
  }
  // One alert per set of failing checks, not one per re-run (details such as the offset change).
  if (!st.self_check_hold || codes != st.self_check_codes)
    c.alert("EXEC_SELF_CHECK_FAILED", "new entries held: the self-check failed: " + reason,
            {{"run_id", run_id}, {"checks", report.to_json()}});
  st.self_check_hold = true;
  st.self_check_reason = reason;
  st.self_check_codes = codes;
  self->delayed_send(self, c.cfg.self_check_retry, selfcheck_atom::value);
}

// ---- the actor ------------------------------------------------------------------------------
void start_trading(actor_t self, exec_context& c) {
  if (c.cfg.enforce_settings && !c.shadow_blocks("account settings", {{"symbols", c.cfg.symbols}})) {
    try {
      c.venue->set_position_mode(c.cfg.pos_mode);
    } catch (const std::exception& e) {
      pt::log::warn("position mode not set", {{"error", e.what()}});
    }
    for (const auto& s : c.cfg.symbols) try {
        c.venue->set_leverage(s, c.cfg.leverage, c.cfg.margin);
        self->state.leverage_set[s] = c.cfg.leverage;
      } catch (const std::exception& e) {
        pt::log::warn("leverage / margin mode not set", {{"symbol", s}, {"error", e.what()}});
      }
  }
  if (auto err = c.bus->ensure_fleet_streams()) throw std::runtime_error("streams: " + pt::bus::describe(err));
  if (c.cfg.self_check) run_self_check(self, c);
  if (c.cfg.reconcile) reconcile(self, c);
  const caf::actor me = caf::actor_cast<caf::actor>(self);
  auto consume = [&](const char* stream, const char* durable, const char* subject, bool deliver_new) {
    pt::bus::consumer_config cc;
    cc.stream = stream;
    cc.durable = durable;
    cc.filter_subject = subject;
    cc.ack_wait = 60s;
    cc.deliver_new = deliver_new;
    auto r = c.bus->js_consume(cc, me);
    if (!r) throw std::runtime_error(std::string("consumer ") + durable + ": " + pt::bus::describe(r.error()));
  };
  consume("GUARDIAN", "execution-guardian", "guardian.protection", true);
  consume("RISK", "execution-killswitch", "risk.killswitch", false);
  consume("TRADE", "execution-exits", "trade.exit", false);
  consume("RISK", "execution-decisions", "risk.decision.approved", false);
  if (c.cfg.mode != "live")
    if (auto md = c.bus->subscribe("md." + c.cfg.venue + ".*.bar.*", me); !md)
      pt::log::warn("market data not subscribed: messages carry the wall clock", {{"error", pt::bus::describe(md.error())}});
  if (c.cfg.mark_max_age.count() > 0)
    if (auto md = c.bus->subscribe("md." + c.cfg.venue + ".*.mark", me); !md)
      pt::log::warn("marks not subscribed: the guards ask the venue", {{"error", pt::bus::describe(md.error())}});
  auto sub = c.bus->subscribe("ctl.reconciliation.ack", me);
  if (!sub) pt::log::warn("ctl.reconciliation.ack not subscribed", {{"error", pt::bus::describe(sub.error())}});
  if (auto as = c.bus->subscribe("exec.account.sync", me); !as)
    pt::log::warn("exec.account.sync not subscribed", {{"error", pt::bus::describe(as.error())}});
  recover_entries(self, c);
  self->state.trading = true;
  c.account_msg(static_cast<int>(self->state.positions.size()), !self->state.hold_entries);
  pt::log::info("trading", {{"venue", c.cfg.venue}, {"symbols", c.cfg.symbols}, {"protection", c.cfg.protection}, {"shadow", c.cfg.shadow}});
}

caf::behavior exec_actor(actor_t self, std::shared_ptr<exec_context> ctx) {
  self->send(self, lease_atom::value);
  self->set_down_handler([](const caf::down_msg&) {});
  return {
      [=](lease_atom) {
        auto& st = self->state;
        try {
          if (!ctx->lease_conn) ctx->lease_conn = std::make_unique<pqxx::connection>(ctx->db_url);
          pqxx::nontransaction tx(*ctx->lease_conn);
          st.leased = tx.exec_params1("SELECT pg_try_advisory_lock($1)", ctx->cfg.lease_key)[0].as<bool>();
        } catch (const std::exception& e) {
          ctx->lease_conn.reset();
          pt::log::warn("lease: PostgreSQL not reachable", {{"error", e.what()}});
        }
        if (!st.leased) {
          if (!st.standby_logged) pt::log::warn("standby: another execution instance holds the lease; not trading");
          st.standby_logged = true;
          self->delayed_send(self, ctx->cfg.lease_retry, lease_atom::value);
          return;
        }
        pt::log::info("lease acquired: this instance trades", {{"lease_key", ctx->cfg.lease_key}});
        try {
          start_trading(self, *ctx);
        } catch (const std::exception& e) {
          pt::log::error("start failed", {{"error", e.what()}});
          self->quit(caf::make_error(caf::sec::runtime_error, e.what()));
          return;
        }
        self->send(self, tick_atom::value);
      },
      [=](slice_atom, const std::string& symbol, const std::string& decision_id) {
        try {
          on_slice(self, *ctx, symbol, decision_id);
        } catch (const std::exception& e) {
          pt::log::error("sliced entry stopped by an error", {{"symbol", symbol}, {"decision_id", decision_id}, {"error", e.what()}});
          self->state.slicing.erase(symbol);
        }
      },
      [=](selfcheck_atom) {
        try {
          if (self->state.self_check_hold) run_self_check(self, *ctx);
        } catch (const std::exception& e) {
          pt::log::error("self-check re-run failed; trying again later", {{"error", e.what()}});
          self->delayed_send(self, ctx->cfg.self_check_retry, selfcheck_atom::value);
        }
      },
      [=](tick_atom) {
        self->delayed_send(self, ctx->cfg.account_interval, tick_atom::value);
        ctx->account_msg(static_cast<int>(self->state.positions.size()), !self->state.hold_entries);
        std::vector<std::string> held;
        for (auto& [s, p] : self->state.positions) held.push_back(s);
        for (const auto& s : held) check_flat(self, *ctx, s, "stop_or_take_profit");
      },
      [=](deadline_atom, const std::string& symbol, const std::string& decision_id) {
        auto it = self->state.positions.find(symbol);
        if (it == self->state.positions.end() || it->second->decision_id != decision_id) return;
        auto p = it->second;
        if (!p->plan.protection_overdue(steady::now(), ctx->cfg.protection_timeout)) return;
        ctx->alert("EXEC_PROTECTION_TIMEOUT",
                   "no protection confirmed for " + symbol + " within " + std::to_string(ctx->cfg.protection_timeout.count()) +
                       " ms: closing the position",
                   {{"symbol", symbol}, {"decision_id", decision_id}});
        flatten(self, *ctx, p, "flat", "protection_timeout");
      },
      [=](order_atom, const pv::order& o) {
        ctx->saw_market_time(o.update_time);
        auto it = self->state.positions.find(o.symbol);
        if (it != self->state.positions.end() && o.client_id == it->second->tp_cid && o.state == pv::order_state::filled)
          check_flat(self, *ctx, o.symbol, "take_profit");
      },
      [=](fill_atom, const pv::fill& f) {
        ctx->saw_market_time(f.time);
        ctx->fill_msg(f);
      },
      [=](pos_atom, const pv::position& p) {
        if (p.qty.is_zero()) check_flat(self, *ctx, p.symbol, "stop_or_take_profit");
      },
      [=](const pt::bus::envelope& e) {
        bool ack = true;
        try {
          if (e.subject.rfind("md.", 0) == 0) {
            if (e.subject.size() > 5 && e.subject.compare(e.subject.size() - 5, 5, ".mark") == 0) ctx->saw_mark(e.body);
            else if (e.body.value("closed", false) && e.body.contains("close_ts"))
              ctx->saw_market_time(pt::core::timestamp::parse_iso8601(e.body["close_ts"].get<std::string>()).nanos() / 1'000'000);
          } else if (e.subject == "risk.decision.approved") {
            const exec_context::trace_scope traced(*ctx, e);
            ack = on_decision(self, *ctx, e.body, e.deliveries);
          }
          else if (e.subject == "trade.exit") on_exit(self, *ctx, e.body);
          else if (e.subject == "risk.killswitch") on_killswitch(self, *ctx, e.body);
          else if (e.subject == "guardian.protection") on_guardian(self, *ctx, e.body);
          else if (e.subject == "ctl.reconciliation.ack") on_reconciliation_ack(self, *ctx, e);
          else if (e.subject == "exec.account.sync") on_account_sync(self, *ctx, e);
        } catch (const std::exception& ex) {
          pt::log::error("message not processed", {{"subject", e.subject}, {"error", ex.what()}});
          ack = false;
        }
        if (e.needs_ack()) {
          if (ack) e.ack();
          else e.nak();
        }
      },
  };
}

std::shared_ptr<pv::venue> make_venue(exec_context& c) {
  pt::connectors::connector_options o;
  o.venue = c.cfg.venue;
  o.rest_url = c.cfg.rest_url;
  o.ws_url = c.cfg.ws_url;
  o.ws_private = true;
  o.api_key = c.cfg.api_key;
  o.api_secret = c.cfg.api_secret;
  auto made = pt::connectors::make_connector(o);
  c.binance = made.binance;
  c.instrument_of = [made](const std::string& s) { return made.instrument_of(s); };
  c.instruments_from_catalog = [made] {
    return made.binance ? made.binance->instruments_from_catalog() : made.poloniex->instruments_from_catalog();
  };
  return made.venue;
}

// `execution --config FILE --self-check`: the start-up self-check alone, for an operator before
// going live. It reads only: no NATS, no ledger, no order, no account setting changed (so a
// leverage or margin mode that execution would enforce at start shows as a difference here).
// Prints one line per check and the report as JSON; exit 0 when nothing blocks, 1 otherwise.
int self_check_only(const exec_config& cfg) {
  exec_context c;
  c.cfg = cfg;
  try {
    c.venue = make_venue(c);
  } catch (const std::exception& e) {
    std::printf("self-check: cannot reach the venue: %s\n", e.what());
    return 1;
  }
  const auto [report, accept, blocking] = check_venue(c);
  std::printf("self-check of %s (%s mode, %s):\n", cfg.venue.c_str(), cfg.mode.c_str(), cfg.rest_url.empty() ? "the venue's address" : cfg.rest_url.c_str());
  for (const auto& r : report.checks)
    std::printf("  %-16s %-13s %s\n", r.code.c_str(), pv::to_string(r.status), r.detail.c_str());
  std::printf("%s\n", json{{"passed", blocking.empty()}, {"unverifiable_accepted", accept}, {"checks", report.to_json()}}.dump().c_str());
  if (blocking.empty()) {
    std::printf("result: PASS\n");
    return 0;
  }
  for (const auto& b : blocking) std::printf("blocking: %s\n", b.c_str());
  std::printf("result: FAIL (execution would hold new entries)\n");
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  exec_config cfg;
  pt::ledger::config lcfg;
  pt::service::options opt;
  opt.default_name = "execution";
  opt.summary = "risk.decision.approved -> venue orders with protection; exec.* out";
  opt.flags = {"--self-check"};
  opt.configure = [&](const pt::service::context& ctx) {
    cfg = read_config(ctx.config);
    if (ctx.flag("--self-check")) {
      const int rc = self_check_only(cfg);
      std::fflush(stdout);
      std::exit(rc);
    }
    lcfg = pt::ledger::config::from(ctx.config);
    if (lcfg.url.empty()) ctx.config.fail("ledger.url", "required (or DATABASE_URL): execution writes its intents first");
  };
  return pt::service::run(argc, argv, opt, [&](pt::service::runtime& rt) {
    auto ctx = std::make_shared<exec_context>();
    ctx->cfg = cfg;
    ctx->service = rt.ctx().name;
    ctx->bus = &rt.bus();
    ctx->db_url = lcfg.url;
    try {
      ctx->ledger = std::make_unique<pt::ledger::appender>(lcfg);
    } catch (const std::exception& e) {
      throw pt::service::startup_error(pt::service::exit_ledger_unreachable, e.what());
    }
    ctx->venue = make_venue(*ctx);
    auto actor = rt.system().spawn<caf::detached>(exec_actor, ctx);
    rt.manage(actor);
    auto venue = ctx->venue;
    rt.on_stop([venue, ctx] {
      venue->close_streams();
      ctx->ledger->stop(5s);
    });
    pv::stream_events ev;
    ev.on_connection = [](const std::string& stream, bool up) {
      pt::log::info(up ? "stream connected" : "stream disconnected", {{"stream", stream}});
    };
    ev.on_error = [](const std::string& what) { pt::log::warn("stream error", {{"error", what}}); };
    venue->set_stream_events(ev);
    const caf::actor a = actor;
    pv::private_handlers h;
    h.on_order = [a](const pv::order& o) { caf::anon_send(a, order_atom::value, o); };
    h.on_fill = [a](const pv::fill& f) { caf::anon_send(a, fill_atom::value, f); };
    h.on_position = [a](const pv::position& p) { caf::anon_send(a, pos_atom::value, p); };
    venue->subscribe_private(h);
  });
}
