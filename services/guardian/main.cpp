// guardian: holds the protective stops of a venue without native stop orders (Poloniex v3), over its
// own venue connection. guardian.protect (JetStream, durable guardian-protect) arms and releases;
// the engine thread watches the mark (the venue's public stream, REST as fallback) and the venue's
// positions (REST, every poll_interval) and closes a crossed position with one reduce-only market
// order. The stop logic never waits on the bus or the ledger: reports go through an outbox that a
// publisher thread drains (kept in the state file until JetStream acks them). On Binance a fourth
// thread keeps the venue's countdownCancelAll dead-man switch armed for every watched symbol, over a
// connection of its own. See README.md.
#include "bus/bus.hpp"
#include "connectors/make_connector.hpp"
#include "core/ids.hpp"
#include "core/log.hpp"
#include "core/time.hpp"
#include "ledger/appender.hpp"
#include "ledger/config.hpp"
#include "protection_book.hpp"
#include "service/service.hpp"
#include "venue/loopback.hpp"

#include <caf/all.hpp>

#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

namespace {

namespace pg = pt::guardian;
namespace pv = pt::venue;
using namespace std::chrono_literals;

struct guardian_config {
  std::string venue = "poloniex";
  std::string mode = "paper";
  std::string rest_url;
  std::string ws_url;
  std::vector<std::string> symbols;
  std::chrono::milliseconds stale_after{5000};
  std::chrono::milliseconds poll_interval{1000};
  std::chrono::milliseconds status_interval{1000};
  // Paper (lockstep replay): a guardian.status right after each stream mark, with the venue time of
  // the newest mark per symbol and the symbols whose stop has triggered, so the conductor can wait
  // until the guardian has judged a step before moving the market on (a reproducible run).
  bool status_on_mark = false;
  std::string state_file = "guardian-state.json";
  bool ledger = false;
  // Binance only: the countdownCancelAll dead-man switch; 0 = off. Heartbeat every third of it.
  std::chrono::milliseconds deadman_countdown{60000};
};

std::int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}
std::string iso(std::int64_t ms) { return pt::core::timestamp::from_millis(ms).to_iso8601(); }

std::string env_or_empty(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

guardian_config read_config(const pt::config::document& c) {
  guardian_config g;
  c.require_only("guardian", {"venue", "mode", "rest_url", "ws_url", "symbols", "stale_after", "poll_interval",
                              "status_interval", "state_file", "deadman_countdown", "status_on_mark"});
  g.venue = c.get_enum("guardian.venue", {"poloniex", "binance"}, g.venue);
  g.mode = c.get_enum("guardian.mode", {"paper", "live"}, g.mode);
  g.rest_url = c.get_string("guardian.rest_url", "");
  g.ws_url = c.get_string("guardian.ws_url", "");
  if (c.has("guardian.symbols")) g.symbols = c.get_string_list("guardian.symbols");
  g.stale_after = c.get_duration("guardian.stale_after", 100ms, 1h, g.stale_after);
  g.poll_interval = c.get_duration("guardian.poll_interval", 100ms, 1min, g.poll_interval);
  g.status_interval = c.get_duration("guardian.status_interval", 100ms, 1min, g.status_interval);
  g.status_on_mark = c.get_bool("guardian.status_on_mark", g.status_on_mark);
  g.state_file = c.get_string("guardian.state_file", g.state_file);
  if (c.has("guardian.deadman_countdown")) {
    const std::string raw = c.get_string("guardian.deadman_countdown");
    if (raw == "off" || raw == "false") {
      g.deadman_countdown = 0ms;
    } else {
      g.deadman_countdown = c.get_duration("guardian.deadman_countdown", 0ms, 1h);
      if (g.deadman_countdown != 0ms && g.deadman_countdown < 1s)
        c.fail("guardian.deadman_countdown", "must be 0/off or at least 1s, got '" + raw + "'");
    }
  }
  if (g.state_file.empty()) c.fail("guardian.state_file", "must not be empty");
  const bool live_url = !pt::venue::is_paper_venue(g.rest_url, g.ws_url);
  if (live_url && !(g.mode == "live" && env_or_empty("POLYTRADE_LIVE") == "1"))
    c.fail("guardian.rest_url", "a venue URL that is not loopback (nor private with POLYTRADE_PAPER_PRIVATE_VENUE=1) needs guardian.mode: live and POLYTRADE_LIVE=1");
  g.ledger = c.has("ledger.url");
  if (g.ledger) (void)pt::ledger::config::from(c);  // validates ledger.* now (exit 2 on a typo)
  return g;
}

pt::connectors::connector make_connection(const guardian_config& g) {
  pt::connectors::connector_options o;  // its own connection: public mark stream, REST orders
  o.venue = g.venue;
  o.rest_url = g.rest_url;
  o.ws_url = g.ws_url;
  const auto keys = pt::connectors::keys_from_env(g.venue);
  o.api_key = keys.key;
  o.api_secret = keys.secret;
  if (g.mode != "live" && (o.api_key.empty() || o.api_secret.empty())) {
    o.api_key = "venue-sim-key";  // venue-sim's default paper account, as execution does
    o.api_secret = "venue-sim-secret";
  }
  o.timeout = 5s;
  return pt::connectors::make_connector(o);
}

// Everything the threads share. `mu` guards the book and the persisted version.
struct guardian {
  guardian_config cfg;
  pt::config::document doc;
  pt::bus::bus* bus = nullptr;
  std::shared_ptr<pv::venue> venue;

  std::mutex mu;
  pg::protection_book book{"poloniex"};
  std::uint64_t persisted = 0;

  // Binance's countdownCancelAll dead-man switch: a connection of its own, so a slow heartbeat never
  // holds up a closing order (a REST session serialises its requests).
  pt::connectors::connector deadman;

  std::atomic<bool> stopping{false};
  std::mutex wake_mu;
  std::condition_variable wake;
  std::thread engine_thread, publisher_thread, ledger_thread, deadman_thread;

  // The ledger is optional at start: connected in the background, events buffered meanwhile.
  std::mutex ledger_mu;
  std::unique_ptr<pt::ledger::appender> ledger;
  std::vector<pt::ledger::event> ledger_pending;
  std::map<std::string, std::int64_t> retry_at;  // protection id -> wall ms of the next order try (engine only)

  // Caller holds mu. Throws when the file cannot be written.
  void persist_locked() {
    if (book.version() == persisted) return;
    pg::write_file_atomic(cfg.state_file, book.to_json().dump(2));
    persisted = book.version();
  }

  void load_state() {
    if (!std::filesystem::exists(cfg.state_file)) return;
    std::ifstream in(cfg.state_file);
    std::stringstream ss;
    ss << in.rdbuf();
    auto j = nlohmann::json::parse(ss.str(), nullptr, false);
    if (j.is_discarded()) throw pg::state_error("guardian state: " + cfg.state_file + " is not JSON");
    std::lock_guard lock(mu);
    book.from_json(j);
    persisted = book.version();
    pt::log::info("state restored", {{"file", cfg.state_file}, {"armed", book.protections().size()},
                                     {"unsent_reports", book.outbox().size()}, {"killswitch", book.killswitch()}});
  }

  void poke() { wake.notify_all(); }

  void append_ledger(pt::ledger::event e) {
    std::lock_guard lock(ledger_mu);
    if (!cfg.ledger) return;
    if (!ledger) {
      ledger_pending.push_back(std::move(e));
      return;
    }
    try {
      ledger->append(std::move(e), 200ms);
    } catch (const std::exception& x) {
      pt::log::error("ledger append failed", {{"error", x.what()}});
    }
  }

  void ledger_loop() {
    while (!stopping) {
      try {
        auto a = std::make_unique<pt::ledger::appender>(pt::ledger::config::from(doc));
        std::lock_guard lock(ledger_mu);
        ledger = std::move(a);
        for (auto& e : ledger_pending) ledger->append(std::move(e), 1s);
        ledger_pending.clear();
        pt::log::info("ledger connected");
        return;
      } catch (const std::exception& e) {
        pt::log::warn("ledger unavailable; protecting without it, retrying", {{"error", e.what()}});
      }
      std::unique_lock lk(wake_mu);
      wake.wait_for(lk, 5s, [&] { return stopping.load(); });
    }
  }

  void stop_triggered_event(const pg::protection& p, const pg::close_request& c) {
    pt::ledger::event e;
    e.event_id = pt::core::uuid::from_seed("guardian-stop:" + p.id).to_string();
    e.type = pt::ledger::event_type::stop_triggered;
    e.stream_id = "pos-" + p.symbol;
    e.correlation_id = p.correlation_id;
    e.occurred_at_ns = wall_ms() * 1000000;
    nlohmann::json body{{"protection_id", p.id},   {"venue", cfg.venue},         {"symbol", p.symbol},
                        {"position_side", pg::to_string(p.side)}, {"stop_price", p.stop.to_string()},
                        {"reason", p.reason},      {"mark_price", p.trigger_mark.to_string()},
                        {"client_id", c.client_id}, {"qty", c.qty.to_string()}};
    if (p.take_profit) body["take_profit"] = p.take_profit->to_string();
    e.payload = body.dump();
    append_ledger(std::move(e));
  }

  // One closing order (blocking REST). Never throws.
  void execute(const pg::close_request& c) {
    using oc = pg::protection_book::order_outcome;
    auto outcome = oc::unknown;
    bool recheck = false;
    {
      std::lock_guard lock(mu);
      auto it = book.protections().find(c.protection_id);
      if (it == book.protections().end()) return;
      recheck = it->second.order_live;
    }
    try {
      std::optional<pv::order> found;
      if (c.query_first) found = venue->query_order(c.symbol, c.client_id);
      if (found) {
        const bool dead = pv::is_final(found->state) && (recheck || found->state != pv::order_state::filled);
        outcome = dead ? oc::dead : oc::live;
        pt::log::info("closing order found by client id",
                      {{"protection_id", c.protection_id}, {"client_id", c.client_id}, {"state", pv::to_string(found->state)}});
      } else if (recheck) {
        outcome = oc::dead;  // the venue lost it: next attempt
      } else {
        pv::order_request r;
        r.symbol = c.symbol;
        r.client_id = c.client_id;
        r.s = c.side == pg::pos_side::long_side ? pv::side::sell : pv::side::buy;
        r.type = pv::order_type::market;
        r.tif = pv::time_in_force::gtc;
        r.qty = c.qty;
        r.reduce_only = true;
        pt::log::warn("closing position", {{"protection_id", c.protection_id}, {"symbol", c.symbol},
                                           {"qty", c.qty.to_string()}, {"client_id", c.client_id}, {"attempt", c.attempt}});
        auto o = venue->place_order(r);
        const bool dead = o.state == pv::order_state::rejected ||
                          ((o.state == pv::order_state::cancelled || o.state == pv::order_state::expired) && o.filled_qty.is_zero());
        outcome = dead ? oc::dead : oc::live;
        pt::log::info("closing order answered", {{"protection_id", c.protection_id}, {"state", pv::to_string(o.state)}});
      }
    } catch (const pv::venue_error& e) {
      outcome = e.kind() == pv::outcome_class::reject ? oc::dead : oc::unknown;
      pt::log::warn("closing order failed", {{"protection_id", c.protection_id}, {"error", e.what()}});
    } catch (const std::exception& e) {
      outcome = oc::unknown;
      pt::log::warn("closing order failed", {{"protection_id", c.protection_id}, {"error", e.what()}});
    }
    std::optional<pg::protection> became_live;
    {
      std::lock_guard lock(mu);
      auto it = book.protections().find(c.protection_id);
      if (it == book.protections().end()) return;
      const bool was_live = it->second.order_live;
      book.order_result(c.protection_id, outcome);
      if (outcome == oc::live && !was_live) became_live = book.protections().at(c.protection_id);
      try {
        persist_locked();
      } catch (const std::exception& e) {
        pt::log::error("state file not written", {{"error", e.what()}});
      }
    }
    if (outcome != oc::live) retry_at[c.protection_id] = wall_ms() + cfg.poll_interval.count();
    if (became_live) stop_triggered_event(*became_live, c);
  }

  void poll(std::int64_t now) {
    std::set<std::string> armed, watch;
    {
      std::lock_guard lock(mu);
      armed = book.armed_symbols();
    }
    watch = armed;
    watch.insert(cfg.symbols.begin(), cfg.symbols.end());
    if (!armed.empty()) {
      try {
        auto ps = venue->positions();
        std::map<std::string, pv::decimal> qty;
        for (const auto& p : ps) qty[p.symbol] += p.qty;
        const auto t = wall_ms();
        std::lock_guard lock(mu);
        for (const auto& s : armed)
          for (const auto& p : book.on_position(s, qty.count(s) ? qty[s] : pv::decimal::zero(), t))
            pt::log::info("protection closed", {{"protection_id", p.id}, {"symbol", p.symbol}, {"phase", p.ph == pg::phase::triggered ? "triggered" : "armed"}});
      } catch (const std::exception& e) {
        pt::log::warn("positions poll failed", {{"error", e.what()}});
      }
    }
    // REST mark where the stream has been quiet for a poll interval (or never spoke).
    for (const auto& s : watch) {
      std::optional<std::int64_t> age;
      {
        std::lock_guard lock(mu);
        age = book.mark_age_ms(s, now);
      }
      if (age && *age < cfg.poll_interval.count()) continue;
      try {
        auto m = venue->get_mark_price(s);
        on_mark(s, m.mark);
      } catch (const std::exception& e) {
        pt::log::warn("REST mark failed", {{"symbol", s}, {"error", e.what()}});
      }
    }
  }

  // `venue_ms`: the mark's own time (market time under a replay); 0 from a REST poll.
  void on_mark(const std::string& symbol, pv::decimal mark, std::int64_t venue_ms = 0) {
    std::vector<std::string> hit;
    {
      std::lock_guard lock(mu);
      hit = book.on_mark(symbol, mark, wall_ms());
      if (venue_ms > 0) mark_times[symbol] = std::max(mark_times[symbol], venue_ms);
    }
    for (const auto& id : hit) pt::log::warn("protection triggered", {{"protection_id", id}, {"symbol", symbol}, {"mark", mark.to_string()}});
    if (!hit.empty()) poke();
    if (cfg.status_on_mark && venue_ms > 0) publish_status(wall_ms());
  }
  std::map<std::string, std::int64_t> mark_times;  // guarded by mu: newest stream mark's venue time

  void publish_status(std::int64_t now) {
    pg::status_view s;
    {
      std::lock_guard lock(mu);
      s = book.status(now, cfg.stale_after.count(), cfg.symbols);
    }
    nlohmann::json j{{"venue", cfg.venue}, {"mark_fresh", s.mark_fresh}, {"armed", s.armed}, {"ts", iso(now)}};
    {
      std::lock_guard lock(mu);
      nlohmann::json times = nlohmann::json::object();
      for (const auto& [sym, t] : mark_times) times[sym] = t;
      j["mark_times"] = std::move(times);
      nlohmann::json triggered = nlohmann::json::array();
      for (const auto& [id, p] : book.protections())
        if (p.ph != pg::phase::armed) triggered.push_back(p.symbol);
      j["triggered"] = std::move(triggered);
    }
    if (s.stale_symbols.size() > 256) s.stale_symbols.resize(256);
    j["stale_symbols"] = s.stale_symbols;
    (void)bus->publish("guardian.status", j);  // core: newest wins; a failure is counted by the bus
  }

  void engine_loop() {
    std::int64_t next_poll = 0, next_status = 0;
    while (!stopping) {
      try {
        auto now = wall_ms();
        if (now >= next_poll) {
          next_poll = now + cfg.poll_interval.count();
          poll(now);
        }
        std::vector<pg::close_request> due;
        {
          std::lock_guard lock(mu);
          due = book.due_closes();
        }
        now = wall_ms();
        for (const auto& c : due) {
          auto r = retry_at.find(c.protection_id);
          if (r != retry_at.end() && now < r->second) continue;
          execute(c);
        }
        {
          std::lock_guard lock(mu);
          try {
            persist_locked();
          } catch (const std::exception& e) {
            pt::log::error("state file not written", {{"error", e.what()}});
          }
        }
        if (now >= next_status) {
          next_status = now + cfg.status_interval.count();
          publish_status(now);
        }
      } catch (const std::exception& e) {
        pt::log::error("guardian loop error", {{"error", e.what()}});
      }
      std::unique_lock lk(wake_mu);
      wake.wait_for(lk, 50ms, [&] { return stopping.load(); });
    }
  }

  void publisher_loop() {
    auto backoff = 200ms;
    while (!stopping) {
      std::optional<pg::report> r;
      {
        std::lock_guard lock(mu);
        if (!book.outbox().empty()) r = book.outbox().front();
      }
      if (!r) {
        std::unique_lock lk(wake_mu);
        wake.wait_for(lk, 100ms, [&] { return stopping.load(); });
        continue;
      }
      auto ack = bus->js_publish("guardian.protection", r->body, r->msg_id);
      if (ack || pt::bus::is(ack.error(), pt::bus::errc::schema_violation)) {
        if (!ack) pt::log::error("report dropped: schema", {{"msg_id", r->msg_id}, {"error", pt::bus::describe(ack.error())}});
        std::lock_guard lock(mu);
        book.pop_report(r->msg_id);
        backoff = 200ms;
        continue;
      }
      pt::log::warn("guardian.protection not published; will retry", {{"msg_id", r->msg_id}, {"error", pt::bus::describe(ack.error())}});
      std::unique_lock lk(wake_mu);
      wake.wait_for(lk, backoff, [&] { return stopping.load(); });
      backoff = std::min<std::chrono::milliseconds>(backoff * 2, 5s);
    }
  }

  // Keeps Binance's countdownCancelAll armed for every watched symbol (configured + armed): arms at
  // start, re-arms every third of the countdown (the call is the heartbeat), stops the timer of a
  // symbol no longer watched. If this process dies, the venue cancels the symbol's open regular
  // orders (entries, limit take-profits) one countdown after the last heartbeat; conditional
  // (Algo Service) stops are not among them in venue-sim (README: what it cancels). A failed call
  // is a warning (and alerts.warning, at most once a heartbeat per symbol) and is retried; it never
  // touches the protection itself. Clean stops leave the timers running: a stopped guardian holds
  // nothing either.
  void deadman_loop() {
    const auto countdown = cfg.deadman_countdown;
    const std::int64_t beat = countdown.count() / 3;
    std::map<std::string, std::int64_t> next_at;     // symbol -> wall ms of its next call
    std::map<std::string, std::int64_t> alerted_at;  // symbol -> wall ms of its last alert
    std::set<std::string> at_venue;                  // symbols whose timer we armed
    std::set<std::string> failing;
    while (!stopping) {
      std::set<std::string> want(cfg.symbols.begin(), cfg.symbols.end());
      {
        std::lock_guard lock(mu);
        for (const auto& s : book.armed_symbols()) want.insert(s);
      }
      for (const auto& s : want) {
        if (stopping) break;
        if (auto it = next_at.find(s); it != next_at.end() && wall_ms() < it->second) continue;
        try {
          (void)deadman.binance->countdown_cancel_all(s, countdown);
          if (!at_venue.count(s) || failing.count(s))
            pt::log::info("dead-man countdown armed", {{"symbol", s}, {"countdown_ms", countdown.count()}, {"heartbeat_ms", beat}});
          at_venue.insert(s);
          failing.erase(s);
          next_at[s] = wall_ms() + beat;
        } catch (const std::exception& e) {
          const auto* ve = dynamic_cast<const pv::venue_error*>(&e);
          // A reject (unknown symbol, bad key) will not mend in a second; a transport error might.
          const std::int64_t retry = ve && ve->kind() == pv::outcome_class::reject ? beat : std::min<std::int64_t>(beat, 1000);
          failing.insert(s);
          next_at[s] = wall_ms() + retry;
          nlohmann::json details{{"venue", cfg.venue}, {"symbol", s}, {"countdown_ms", countdown.count()},
                                 {"error", e.what()}, {"retry_ms", retry}};
          if (ve && ve->code()) details["venue_code"] = *ve->code();
          pt::log::warn("dead-man countdown not armed; protection goes on",
                        {{"symbol", s}, {"countdown_ms", countdown.count()}, {"error", e.what()},
                         {"venue_code", details.value("venue_code", nlohmann::json())}, {"retry_ms", retry}});
          const auto now = wall_ms();
          if (auto a = alerted_at.find(s); a == alerted_at.end() || now - a->second >= beat) {
            alerted_at[s] = now;
            (void)bus->publish("alerts.warning",
                               {{"severity", "warning"},
                                {"source", "guardian"},
                                {"code", "GUARDIAN_DEADMAN_NOT_ARMED"},
                                {"message", "countdownCancelAll for " + s + " failed; retrying (protection unaffected)"},
                                {"ts", iso(now)},
                                {"details", details}});
          }
        }
      }
      // A symbol no longer watched: stop its timer, else it would cancel that symbol's orders later.
      for (auto it = at_venue.begin(); it != at_venue.end() && !stopping;) {
        if (want.count(*it)) {
          ++it;
          continue;
        }
        try {
          (void)deadman.binance->countdown_cancel_all(*it, 0ms);
          pt::log::info("dead-man countdown stopped: symbol no longer watched", {{"symbol", *it}});
          next_at.erase(*it);
          failing.erase(*it);
          it = at_venue.erase(it);
        } catch (const std::exception& e) {
          pt::log::warn("dead-man countdown not stopped; will retry", {{"symbol", *it}, {"error", e.what()}});
          ++it;
        }
      }
      std::int64_t sleep_ms = beat;
      const auto now = wall_ms();
      for (const auto& s : want)
        if (auto it = next_at.find(s); it != next_at.end()) sleep_ms = std::min(sleep_ms, std::max<std::int64_t>(it->second - now, 0));
      for (const auto& s : at_venue)
        if (!want.count(s)) sleep_ms = std::min<std::int64_t>(sleep_ms, 1000);  // a stop to retry
      std::unique_lock lk(wake_mu);
      // A poke (a new arm, a trigger) wakes it early, so a newly armed symbol gets its timer at once.
      wake.wait_for(lk, std::chrono::milliseconds(sleep_ms), [&] { return stopping.load(); });
    }
  }

  // guardian.protect / risk.killswitch from JetStream: apply, persist, then ack.
  void on_envelope(const pt::bus::envelope& e) {
    const auto now = wall_ms();
    try {
      std::unique_lock lock(mu);
      if (e.subject == "risk.killswitch") {
        const bool active = e.body.at("active").get<bool>();
        if (active != book.killswitch()) pt::log::warn(active ? "kill switch active: no new protections" : "kill switch reset");
        book.set_killswitch(active);
      } else if (e.subject == "guardian.protect") {
        const auto& b = e.body;
        const std::string id = b.at("protection_id").get<std::string>();
        if (b.at("action").get<std::string>() == "release") {
          const bool had = book.release(id, now);
          pt::log::info(had ? "protection released" : "release of an unknown protection", {{"protection_id", id}});
        } else {
          pg::arm_request r;
          r.protection_id = id;
          r.correlation_id = b.value("correlation_id", "");
          r.venue = b.at("venue").get<std::string>();
          r.symbol = b.at("symbol").get<std::string>();
          if (b.contains("position_side"))
            r.side = b.at("position_side").get<std::string>() == "long" ? pg::pos_side::long_side : pg::pos_side::short_side;
          if (b.contains("stop_price")) r.stop = pv::decimal::parse(b.at("stop_price").get<std::string>());
          if (b.contains("take_profit")) r.take_profit = pv::decimal::parse(b.at("take_profit").get<std::string>());
          if (b.contains("stop_version")) r.stop_version = b.at("stop_version").get<std::int64_t>();
          std::string why;
          switch (book.arm(r, now, &why)) {
            case pg::arm_result::armed:
              pt::log::info("protection armed", {{"protection_id", id}, {"symbol", r.symbol}, {"stop", r.stop->to_string()}});
              break;
            case pg::arm_result::moved:
              pt::log::info("protection stop moved", {{"protection_id", id}, {"symbol", r.symbol}, {"stop", r.stop->to_string()}});
              break;
            case pg::arm_result::move_refused:
              pt::log::warn("stop move refused", {{"protection_id", id}, {"reason", why}});
              break;
            case pg::arm_result::refused:
              pt::log::warn("protection refused", {{"protection_id", id}, {"reason", why}});
              break;
            default:
              pt::log::info("arm redelivered: nothing to do", {{"protection_id", id}});
          }
        }
      }
      persist_locked();
      lock.unlock();
      poke();
      (void)e.ack();
    } catch (const std::exception& x) {
      // Not persisted: leave it unacked so JetStream redelivers.
      pt::log::error("request not applied", {{"subject", e.subject}, {"error", x.what()}});
      (void)e.nak();
    }
  }
};

}  // namespace

int main(int argc, char** argv) {
  guardian_config cfg;
  pt::config::document doc;
  pt::service::options opt;
  opt.default_name = "guardian";
  opt.summary = "holds the protective stops of venues without native stop orders";
  opt.configure = [&](const pt::service::context& ctx) {
    cfg = read_config(ctx.config);
    doc = ctx.config;
  };
  return pt::service::run(argc, argv, opt, [&](pt::service::runtime& rt) {
    auto g = std::make_shared<guardian>();
    g->cfg = cfg;
    g->doc = doc;
    g->bus = &rt.bus();
    g->book = pg::protection_book(cfg.venue);
    try {
      g->load_state();
    } catch (const std::exception& e) {
      throw pt::service::startup_error(pt::service::exit_bad_config, e.what());
    }
    g->venue = make_connection(cfg).venue;
    if (cfg.venue == "binance" && cfg.deadman_countdown > 0ms) g->deadman = make_connection(cfg);

    if (auto err = rt.bus().ensure_fleet_streams())
      throw pt::service::startup_error(pt::service::exit_failure, "JetStream streams: " + pt::bus::describe(err));

    // Threads first: protection runs whatever the bus does next.
    g->engine_thread = std::thread([g] { g->engine_loop(); });
    g->publisher_thread = std::thread([g] { g->publisher_loop(); });
    if (cfg.ledger) g->ledger_thread = std::thread([g] { g->ledger_loop(); });
    else pt::log::warn("no ledger configured: StopTriggered is not recorded");
    if (g->deadman.binance) g->deadman_thread = std::thread([g] { g->deadman_loop(); });
    else if (cfg.venue == "binance") pt::log::warn("dead-man countdown off (guardian.deadman_countdown)");

    // The state goes in as a spawn argument: CAF 0.17 aborts under UBSan on a capturing lambda
    // that takes only `self` (it dereferences the empty argument tuple).
    auto consumer = rt.system().spawn<caf::detached>(
        [](caf::event_based_actor*, std::shared_ptr<guardian> st) -> caf::behavior {
          return {[st](const pt::bus::envelope& e) { st->on_envelope(e); }};
        },
        g);
    rt.manage(consumer);
    pt::bus::consumer_config pc;
    pc.stream = "GUARDIAN";
    pc.durable = "guardian-protect";
    pc.filter_subject = "guardian.protect";
    if (auto s = rt.bus().js_consume(pc, consumer); !s)
      throw pt::service::startup_error(pt::service::exit_failure, "guardian.protect consumer: " + pt::bus::describe(s.error()));
    pt::bus::consumer_config kc;
    kc.stream = "RISK";
    kc.durable = "guardian-killswitch";
    kc.filter_subject = "risk.killswitch";
    if (auto s = rt.bus().js_consume(kc, consumer); !s)
      throw pt::service::startup_error(pt::service::exit_failure, "risk.killswitch consumer: " + pt::bus::describe(s.error()));

    pv::stream_events ev;
    ev.on_connection = [](const std::string& stream, bool up) {
      pt::log::info(up ? "stream connected" : "stream disconnected", {{"stream", stream}});
    };
    ev.on_error = [](const std::string& what) { pt::log::warn("stream error", {{"error", what}}); };
    g->venue->set_stream_events(ev);
    std::set<std::string> syms(cfg.symbols.begin(), cfg.symbols.end());
    {
      std::lock_guard lock(g->mu);
      for (const auto& s : g->book.armed_symbols()) syms.insert(s);
    }
    if (!syms.empty()) {
      pv::public_subscription sub;
      sub.symbols.assign(syms.begin(), syms.end());
      sub.mark_price = true;
      pv::public_handlers h;
      std::weak_ptr<guardian> wg = g;
      h.on_mark_price = [wg](const pv::mark_price& m) {
        if (auto gg = wg.lock()) gg->on_mark(m.symbol, m.mark, m.time);
      };
      g->venue->subscribe_public(sub, h);
    }
    rt.on_stop([g] {
      g->stopping = true;
      g->poke();
      g->venue->close_streams();
      for (auto* t : {&g->engine_thread, &g->publisher_thread, &g->ledger_thread, &g->deadman_thread})
        if (t->joinable()) t->join();
      std::lock_guard lock(g->mu);
      try {
        g->persist_locked();
      } catch (const std::exception& e) {
        pt::log::error("state file not written", {{"error", e.what()}});
      }
      std::lock_guard ll(g->ledger_mu);
      if (g->ledger) g->ledger->stop(3s);
    });
    pt::log::info("guardian started", {{"venue", cfg.venue}, {"symbols", cfg.symbols}, {"state_file", cfg.state_file},
                                       {"deadman_countdown_ms", g->deadman.binance ? cfg.deadman_countdown.count() : 0}});
  });
}
