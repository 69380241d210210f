// paperrun: the main job's conductor. venue-sim runs in lockstep (market time moves only when told);
// paperrun steps it one base bar at a time, lets the fleet settle after each step (no message on
// the decision path for `quiet`), prints a one-screen summary every `summary_every`, and at the
// end checks what issue 4 asks of the run — trades > 0, every entry protected within 2 s (from the
// ledger), equity equal to venue-sim's balance — prints the final report, writes it as JSON and
// exits 0 only when every check passed.
#include "audit.hpp"

#include "bus/bus.hpp"
#include "connectors/http_client.hpp"
#include "core/log.hpp"
#include "core/trace.hpp"
#include "core/time.hpp"
#include "ledger/config.hpp"
#include "ledger/event.hpp"
#include "ledger/store.hpp"
#include "service/service.hpp"
#include "venue/symbols.hpp"

#include <caf/all.hpp>
#include <nlohmann/json.hpp>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <algorithm>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>
#include <unistd.h>

namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using pt::core::decimal;
using steady = std::chrono::steady_clock;

struct run_config {
  std::string control_url = "http://127.0.0.1:18090";
  std::string protocol = "poloniex";
  std::string venue = "poloniex";
  std::vector<std::string> symbols;
  std::string step = "1h";  // one base bar: the timeframe venue-sim replays and marketdata's base
  std::int64_t steps = 0;  // 0 = until the replay is exhausted
  std::chrono::milliseconds quiet{25};
  std::chrono::milliseconds settle_timeout{5000};
  std::chrono::milliseconds start_timeout{120000};
  std::int64_t summary_every = 48;  // steps
  std::vector<std::string> services{"marketdata", "signal", "risk", "execution", "guardian"};
  // marketdata's timeframes: a step is not settled until every symbol's bar of each timeframe
  // that closes at the step's end has arrived (empty: none awaited).
  std::vector<std::string> timeframes;
  std::string report_file;
  std::chrono::milliseconds protection_limit{2000};
  bool wait_guardian_marks = false;  // see fleet_view::wait_guardian_marks
  // After each settled step, ask execution for exec.account (exec.account.sync) and wait until
  // risk's metrics include it: risk then samples the account at the same market time in every
  // replay (execution.account_publish on_request stops every other report).
  bool sync_account = false;
};

// Everything the collector actor learns from the bus; read by the stepping thread under the mutex.
struct fleet_view {
  std::mutex mu;
  steady::time_point last_decision_msg = steady::now();  // signal / trade / risk.decision / exec / guardian
  std::uint64_t decision_msgs = 0;
  std::map<std::string, std::int64_t> newest_bar_close;  // symbol -> close ms of its newest base bar
  std::map<std::string, steady::time_point> heartbeats;  // service -> last seen
  std::map<std::string, std::string> heartbeat_status;
  std::optional<json> account;  // the last exec.account
  std::optional<json> metrics;  // the last risk.metrics
  std::string metrics_account_sync_id;  // account_sync_id of the newest risk.metrics that had one
  std::uint64_t account_syncs = 0, account_sync_failures = 0;
  std::map<std::string, json> positions;  // symbol -> last exec.position
  std::uint64_t proposals = 0, approved = 0, rejected = 0, exits = 0, fills = 0, entries = 0, closes = 0;
  std::map<std::string, std::string> breakers;  // name -> state
  bool kill_switch = false;
  // Work the fleet has started and not finished: a step waits for these (settle), so a decision
  // taken on a bar is sent, filled and protected before the market moves on. Quiet alone is not
  // enough: execution's REST calls to the venue are silent on the bus.
  std::set<std::string> pending_proposals;   // proposal_id without a risk decision yet
  std::set<std::string> pending_decisions;   // approved decision_id without a final entry order state
  // The same pairs seen in the other order: each subject has its own delivery thread in nats.c,
  // so a decision can arrive before its proposal, an order's final state before its decision (a
  // whole-year run under load once waited out settle_timeout on a proposal already decided).
  std::set<std::string> decided;          // proposal ids with a risk decision
  std::set<std::string> decisions_final;  // decision ids whose entry order reached a final state
  std::set<std::string> armed_early;      // symbols the guardian armed before their exec.position open arrived
  std::set<std::string> unprotected;         // symbols opened and not yet armed by the guardian
  std::set<std::string> closing;             // symbols with a trade.exit close (or a guardian trigger) not yet flat
  std::map<std::string, decimal> moving;  // guardian venues: symbol -> a moved stop not yet armed
  // wait_guardian_marks: the step is not settled until the guardian has judged the step's last
  // mark of every traded symbol (guardian.status mark_times >= venue-sim's last_event_ms). Without
  // it a stop could trigger after the market moved on, and two runs could close at other prices.
  bool wait_guardian_marks = false;
  std::vector<std::string> guardian_symbols;
  std::int64_t step_last_event_ms = 0;
  std::map<std::string, std::int64_t> guardian_marks;  // symbol -> newest mark time the guardian judged
  std::uint64_t settle_timeouts = 0;
  // Decision-path latency, from the step request (venue-sim then sends the bar that may complete a
  // decision) to each stage's message arriving here; only while a step is settling.
  bool stepping = false;
  bool step_bar_seen = false;
  steady::time_point step_started;
  std::vector<double> lat_bar, lat_proposal, lat_decision, lat_order;
  // Decisions whose take-profit execution has not reported yet (a limit order on Poloniex, an
  // algo order on Binance). It goes out after the stop, so the stop alone could end the step
  // before it reaches the venue; placed during the next step's replay, it would fill at another
  // price (seen once under load: the same trade closed at +146.99 and at +140.52 in two runs).
  std::map<std::string, std::string> awaiting_tp;  // decision_id -> symbol
  // Decisions whose take-profit was reported or whose entry was refused. Streams are ordered
  // only within themselves: the EXEC report can arrive here before the RISK decision.
  std::set<std::string> tp_done;
  // signal's acknowledgement of each bar (signal.processed): a step is not over until signal has
  // handled every bar it produced (any timeframe) and what it published for them has arrived here.
  // Without it a trailed stop published a little late fell into the next step.
  bool wait_signal = false;
  std::set<std::string> bars_unacked;     // symbol|tf|close_ts seen on md, no ack yet
  // Bars the step must produce (symbol|tf|close ms), not seen yet. marketdata publishes a step's
  // timeframes one after another; under load the 4h bar once came after the step had looked
  // settled, and the entry it led to filled at the next step's prices.
  std::set<std::string> bars_expected;
  std::set<std::string> acked_early;      // acks that came before their bar
  std::set<std::string> ids_expected;     // proposal / exit ids an ack named, not yet seen
  std::set<std::string> ids_seen;         // proposal / exit ids seen before an ack named them
  std::set<std::string> order_seen;  // decision ids whose entry order was timed
  std::vector<json> traces;          // traced entry orders (exec.order with trace.exec_sent)
  void sample(std::vector<double>& into) const {
    if (stepping) into.push_back(std::chrono::duration<double, std::milli>(steady::now() - step_started).count());
  }
  [[nodiscard]] std::size_t in_flight() const {
    std::size_t lagging = 0;
    if (wait_guardian_marks && step_last_event_ms > 0)
      for (const auto& s : guardian_symbols) {
        const auto it = guardian_marks.find(s);
        if (it == guardian_marks.end() || it->second < step_last_event_ms) ++lagging;
      }
    return pending_proposals.size() + pending_decisions.size() + unprotected.size() + closing.size() + moving.size() +
           awaiting_tp.size() + bars_unacked.size() + bars_expected.size() + ids_expected.size() + lagging;
  }
};

// A bar's identity in md.bar and in signal.processed: symbol|tf|close_ts.
std::string bar_key(const json& b) { return b.value("symbol", "") + "|" + b.value("tf", "") + "|" + b.value("close_ts", ""); }

caf::behavior collector(caf::event_based_actor*, std::shared_ptr<fleet_view> v, std::string base_tf, bool guardian_protects) {
  return {[=](const pt::bus::envelope& e) {
    if (e.needs_ack()) (void)e.ack();
    const auto& s = e.subject;
    std::lock_guard lock(v->mu);
    auto starts = [&](const char* p) { return s.rfind(p, 0) == 0; };
    if (starts("health.heartbeat.")) {
      const auto svc = s.substr(std::string("health.heartbeat.").size());
      v->heartbeats[svc] = steady::now();
      v->heartbeat_status[svc] = e.body.value("status", "");
      return;
    }
    if (s == "signal.processed") {
      const auto key = bar_key(e.body);
      if (v->bars_unacked.erase(key) == 0 && v->stepping) v->acked_early.insert(key);
      if (e.body.contains("published") && e.body["published"].is_array())
        for (const auto& id : e.body["published"])
          if (id.is_string() && v->ids_seen.erase(id.get<std::string>()) == 0) v->ids_expected.insert(id.get<std::string>());
      return;
    }
    if (starts("md.")) {
      if (e.body.value("closed", false) && !e.body.value("backfilled", false) && e.body.contains("close_ts") &&
          !v->bars_expected.empty())
        v->bars_expected.erase(e.body.value("symbol", "") + "|" + e.body.value("tf", "") + "|" +
                               std::to_string(pt::core::timestamp::parse_iso8601(e.body["close_ts"].get<std::string>()).nanos() / 1'000'000));
      if (v->wait_signal && v->stepping && e.body.value("closed", false) && !e.body.value("backfilled", false)) {
        const auto key = bar_key(e.body);
        if (v->acked_early.erase(key) == 0) v->bars_unacked.insert(key);
      }
      if (e.body.value("tf", "") == base_tf && e.body.value("closed", false) && !v->step_bar_seen) {
        v->sample(v->lat_bar);
        v->step_bar_seen = true;
      }
      if (e.body.value("tf", "") == base_tf && e.body.value("closed", false))
        v->newest_bar_close[e.body.value("symbol", "")] =
            pt::core::timestamp::parse_iso8601(e.body.value("close_ts", "1970-01-01T00:00:00Z")).nanos() / 1'000'000;
      return;
    }
    if (s == "exec.account") {
      v->account = e.body;
      return;
    }
    if (s == "risk.metrics") {
      v->metrics = e.body;
      if (e.body.contains("account_sync_id") && e.body["account_sync_id"].is_string())
        v->metrics_account_sync_id = e.body["account_sync_id"].get<std::string>();
      return;
    }
    if (s == "guardian.status") {
      if (e.body.contains("mark_times") && e.body["mark_times"].is_object())
        for (const auto& [sym, t] : e.body["mark_times"].items())
          if (t.is_number_integer()) v->guardian_marks[sym] = std::max(v->guardian_marks[sym], t.get<std::int64_t>());
      // A stop that triggered on this step's mark: a close in flight, waited for like any other.
      if (e.body.contains("triggered") && e.body["triggered"].is_array())
        for (const auto& sym : e.body["triggered"])
          if (sym.is_string()) {
            const auto it = v->positions.find(sym.get<std::string>());
            if (it != v->positions.end() && it->second.value("side", "flat") != "flat") v->closing.insert(sym.get<std::string>());
          }
      return;
    }
    v->last_decision_msg = steady::now();
    ++v->decision_msgs;
    const auto& b = e.body;
    auto position_open = [&](const std::string& sym) {
      const auto it = v->positions.find(sym);
      return it != v->positions.end() && it->second.value("side", "flat") != "flat";
    };
    auto seen_id = [&](const std::string& id) {
      if (v->ids_expected.erase(id) == 0) v->ids_seen.insert(id);
    };
    if (s == "trade.proposed") {
      seen_id(b.value("proposal_id", ""));
      ++v->proposals;
      v->sample(v->lat_proposal);
      if (!v->decided.count(b.value("proposal_id", ""))) v->pending_proposals.insert(b.value("proposal_id", ""));
    } else if (s == "trade.exit") {
      seen_id(b.value("exit_id", ""));
      ++v->exits;
      const auto sym = b.value("symbol", "");
      if (position_open(sym) && b.value("kind", "") == "close") v->closing.insert(sym);
      // A trailed stop: the step waits for the guardian's armed at the new stop (Poloniex) or for
      // execution's report of the new native stop order (Binance, exec.order stop_market).
      if (position_open(sym) && b.contains("new_stop") && b["new_stop"].is_string())
        if (auto ns = decimal::try_parse(b["new_stop"].get<std::string>())) v->moving[sym] = *ns;
    } else if (s == "risk.decision.approved") {
      ++v->approved;
      v->sample(v->lat_decision);
      v->pending_proposals.erase(b.value("proposal_id", ""));
      v->decided.insert(b.value("proposal_id", ""));
      v->armed_early.erase(b.value("symbol", ""));  // an arm seen before this approval was the last position's
      if (!v->decisions_final.count(b.value("decision_id", ""))) v->pending_decisions.insert(b.value("decision_id", ""));
      if (b.contains("take_profit") && !v->tp_done.count(b.value("decision_id", "")))
        v->awaiting_tp[b.value("decision_id", "")] = b.value("symbol", "");
    } else if (s == "risk.decision.rejected") {
      ++v->rejected;
      v->sample(v->lat_decision);
      v->pending_proposals.erase(b.value("proposal_id", ""));
      v->decided.insert(b.value("proposal_id", ""));
    } else if (s == "exec.fill") {
      ++v->fills;
    } else if (starts("exec.order.")) {
      const auto state = b.value("state", "");
      // The first report of a decision's order is its entry, published once the venue answered
      // (so the figure includes venue-sim's answer: an upper bound of "the request left").
      const auto did = b.value("decision_id", "");
      if (!did.empty() && state != "rejected" && v->order_seen.insert(did).second) {
        v->sample(v->lat_order);
        if (pt::core::trace::get(b, "exec_sent") > 0) v->traces.push_back({{"trace", b["trace"]}});
      }
      if ((state == "filled" || state == "rejected" || state == "canceled" || state == "expired") && !did.empty()) {
        v->pending_decisions.erase(did);
        v->decisions_final.insert(did);
      }
      if (!guardian_protects && b.value("type", "") == "stop_market") v->moving.erase(b.value("symbol", ""));
      // The take-profit reported (placed or refused), or the entry refused: nothing more to wait for.
      if (b.value("type", "") == "take_profit" || state == "rejected") {
        v->awaiting_tp.erase(did);
        v->tp_done.insert(did);
      }
    } else if (s == "guardian.protection") {
      // A trigger is a close in flight; an arm ends an entry's wait. (A moved stop is not waited
      // for: execution does not re-arm on every move_stop, so there is no message to wait on.)
      const auto state = b.value("state", "");
      const auto sym = b.value("symbol", "");
      if (state == "armed" || state == "failed") {
        v->unprotected.erase(sym);
        if (!position_open(sym)) v->armed_early.insert(sym);
      }
      // The guardian's answer to the move: armed at the new stop, or armed with the stop kept
      // (a refused move), or the protection ended.
      if (auto m = v->moving.find(sym); m != v->moving.end() && (state == "failed" || state == "closed" || state == "released" ||
                                                                 (state == "armed" && (b.value("stop_price", "") == m->second.to_string() ||
                                                                                       b.value("detail", "").rfind("move refused", 0) == 0))))
        v->moving.erase(m);
      // Only while the position is still open: a venue-side take-profit may have made it flat
      // first, and the guardian's late report must not hold the run.
      if (state == "triggered" && position_open(sym)) v->closing.insert(sym);
      if (state == "closed" || state == "failed" || state == "released") v->closing.erase(sym);
    } else if (s == "risk.killswitch") {
      v->kill_switch = b.value("active", false);
    } else if (starts("risk.breaker.")) {
      v->breakers[b.value("name", s)] = b.value("state", "");
    } else if (starts("exec.position.")) {
      const auto sym = b.value("symbol", "");
      const bool was_open = position_open(sym);
      const bool is_open = b.value("side", "flat") != "flat";
      if (!was_open && is_open) {
        ++v->entries;
        if (guardian_protects && v->armed_early.erase(sym) == 0) v->unprotected.insert(sym);
      }
      if (was_open && !is_open) ++v->closes;
      if (!is_open) {
        v->unprotected.erase(sym);
        if (was_open) v->armed_early.erase(sym);
        v->closing.erase(sym);
        v->moving.erase(sym);
        for (auto it = v->awaiting_tp.begin(); it != v->awaiting_tp.end();)
          it = it->second == sym ? v->awaiting_tp.erase(it) : std::next(it);
      }
      v->positions[sym] = b;
    }
  }};
}

run_config read_config(const pt::config::document& c) {
  run_config r;
  c.require_only("paperrun", {"control_url", "protocol", "venue", "symbols", "step", "steps", "quiet", "settle_timeout",
                              "start_timeout", "summary_every", "services", "report_file", "protection_limit",
                              "wait_guardian_marks", "sync_account", "timeframes"});
  r.control_url = c.get_string("paperrun.control_url", r.control_url);
  r.protocol = c.get_enum("paperrun.protocol", {"poloniex", "binance"}, r.protocol);
  r.venue = c.get_string("paperrun.venue", r.protocol);
  if (!c.has("paperrun.symbols")) c.fail("paperrun.symbols", "required: the symbols the fleet trades (venue spelling)");
  r.symbols = c.get_string_list("paperrun.symbols");
  if (r.symbols.empty()) c.fail("paperrun.symbols", "must not be empty");
  r.step = c.get_string("paperrun.step", r.step);
  try {
    (void)pt::venue::parse_timeframe(r.step);
  } catch (const std::exception& e) {
    c.fail("paperrun.step", e.what());
  }
  r.steps = c.get_int("paperrun.steps", 0, 10'000'000, r.steps);
  r.quiet = c.get_duration("paperrun.quiet", 1ms, 10s, r.quiet);
  r.settle_timeout = c.get_duration("paperrun.settle_timeout", 10ms, 10min, r.settle_timeout);
  r.start_timeout = c.get_duration("paperrun.start_timeout", 1s, 30min, r.start_timeout);
  r.summary_every = c.get_int("paperrun.summary_every", 1, 1'000'000, r.summary_every);
  if (c.has("paperrun.services")) r.services = c.get_string_list("paperrun.services");
  r.report_file = c.get_string("paperrun.report_file", "");
  r.protection_limit = c.get_duration("paperrun.protection_limit", 1ms, 60s, r.protection_limit);
  r.wait_guardian_marks = c.get_bool("paperrun.wait_guardian_marks", r.wait_guardian_marks);
  r.sync_account = c.get_bool("paperrun.sync_account", r.sync_account);
  if (c.has("paperrun.timeframes")) r.timeframes = c.get_string_list("paperrun.timeframes");
  for (const auto& tf : r.timeframes) try {
      (void)pt::venue::parse_timeframe(tf);
    } catch (const std::exception& e) {
      c.fail("paperrun.timeframes", e.what());
    }
  return r;
}

std::string market_time(const json& sim_status) {
  if (!sim_status.contains("market_time_ms")) return "?";
  return pt::core::timestamp::from_millis(sim_status["market_time_ms"].get<std::int64_t>()).to_iso8601().substr(0, 16) + "Z";
}

class conductor {
 public:
  conductor(run_config cfg, std::shared_ptr<fleet_view> v, std::string ledger_url, pt::bus::bus& bus)
      : cfg_(std::move(cfg)), view_(std::move(v)), ledger_url_(std::move(ledger_url)), bus_(bus) {}

  // The whole run; returns the process exit code.
  int run(const std::atomic<bool>& stopping) {
    if (!wait_for_fleet(stopping)) return 1;
    settle();
    sync_account();
    auto status = control("GET", "/sim/status", "");
    pt::log::info("fleet up; stepping venue-sim", {{"market_time", market_time(status)}, {"steps", cfg_.steps}});
    const auto started = steady::now();
    std::int64_t done = 0;
    const auto step_ms = pt::venue::duration_of(pt::venue::parse_timeframe(cfg_.step)).count();
    sample_rss(rss_idle_);
    std::int64_t market_ms = status.value("market_time_ms", std::int64_t{0});
    while (!stopping && (cfg_.steps == 0 || done < cfg_.steps)) {
      {
        std::lock_guard lock(view_->mu);
        if (market_ms > 0)
          for (const auto& tf : cfg_.timeframes) {
            const auto tf_ms = pt::venue::duration_of(pt::venue::parse_timeframe(tf)).count();
            if ((market_ms + step_ms) % tf_ms != 0) continue;
            for (const auto& sym : cfg_.symbols) view_->bars_expected.insert(sym + "|" + tf + "|" + std::to_string(market_ms + step_ms));
          }
        view_->stepping = true;
        view_->step_bar_seen = false;
        view_->step_started = steady::now();
      }
      auto st = control("POST", "/sim/clock", json{{"step_ms", step_ms}}.dump());
      market_ms = st.value("market_time_ms", std::int64_t{0});
      if (st.value("replay_exhausted", false)) {
        std::lock_guard lock(view_->mu);
        view_->bars_expected.clear();  // no more bars will come
      }
      {
        std::lock_guard lock(view_->mu);
        view_->step_last_event_ms = st.value("last_event_ms", std::int64_t{0});
      }
      ++done;
      settle();
      sync_account();
      {
        std::lock_guard lock(view_->mu);
        view_->stepping = false;
      }
      if (done % cfg_.summary_every == 0) sample_rss(rss_busy_);
      if (done % cfg_.summary_every == 0) print_summary(done, st, started);
      if (st.value("replay_exhausted", false)) break;
    }
    sample_rss(rss_busy_);
    if (!cfg_.sync_account) std::this_thread::sleep_for(cfg_.settle_timeout);  // the last exec.account after the last fills
    settle();
    sync_account();
    return final_report(done, started);
  }

 private:
  // VmRSS (KiB) of the fleet's processes in this session, by name; `into` keeps each one's max.
  // Idle: the fleet up and settled before the first step; busy: the max over the run's summaries.
  static void sample_rss(std::map<std::string, long>& into) {
    static const std::set<std::string> names{"marketdata", "signal", "risk", "execution", "guardian", "supervisor",
                                             "venue-sim", "paperrun", "nats-server"};
    const pid_t sid = ::getsid(0);
    std::error_code ec;
    for (const auto& d : std::filesystem::directory_iterator("/proc", ec)) {
      const auto pid = d.path().filename().string();
      if (pid.empty() || pid.find_first_not_of("0123456789") != std::string::npos) continue;
      std::ifstream stat(d.path() / "stat");
      std::string line;
      if (!std::getline(stat, line)) continue;
      const auto open = line.find('('), close = line.rfind(')');
      if (open == std::string::npos || close == std::string::npos) continue;
      const auto comm = line.substr(open + 1, close - open - 1);
      if (!names.count(comm)) continue;
      std::istringstream rest(line.substr(close + 2));
      std::string state;
      long ppid = 0, pgrp = 0, session = 0;
      rest >> state >> ppid >> pgrp >> session;
      if (session != sid) continue;  // another run or a test on this machine
      std::ifstream st(d.path() / "status");
      std::stringstream text;
      text << st.rdbuf();
      if (const auto kib = pt::paperrun::rss_kib_of_status(text.str())) into[comm] = std::max(into[comm], *kib);
    }
  }

  json control(const std::string& method, const std::string& path, const std::string& body) {
    pt::connectors::http_request rq;
    rq.method = method;
    rq.url = cfg_.control_url + path;
    rq.body = body;
    if (!body.empty()) rq.content_type = "application/json";
    rq.timeout = 60s;
    auto res = http_.send(rq);
    if (res.transport != pt::venue::transport_error::none || res.status != 200)
      throw std::runtime_error("venue-sim control " + path + ": " +
                               (res.transport_detail.empty() ? "HTTP " + std::to_string(res.status) : res.transport_detail));
    return json::parse(res.body);
  }

  bool wait_for_fleet(const std::atomic<bool>& stopping) {
    const auto deadline = steady::now() + cfg_.start_timeout;
    while (!stopping && steady::now() < deadline) {
      std::vector<std::string> missing;
      {
        std::lock_guard lock(view_->mu);
        for (const auto& s : cfg_.services)
          if (!view_->heartbeats.count(s) || steady::now() - view_->heartbeats[s] > 3s) missing.push_back(s);
        if (missing.empty()) return true;
      }
      std::this_thread::sleep_for(200ms);
    }
    pt::log::error("the fleet did not come up (a heartbeat of every service)",
                   {{"timeout_ms", cfg_.start_timeout.count()}});
    return false;
  }

  // exec.account.sync, then wait until risk.metrics names it (risk has taken the account in).
  // A failure is counted with the settle timeouts: the run goes on, less exact.
  void sync_account() {
    if (!cfg_.sync_account) return;
    const auto id = "paperrun-" + std::to_string(run_nonce_) + "-" + std::to_string(++syncs_);
    auto failed = [&](const std::string& why) {
      std::lock_guard lock(view_->mu);
      ++view_->account_sync_failures;
      pt::log::warn("exec.account.sync failed; stepping on", {{"request_id", id}, {"reason", why}});
    };
    auto r = bus_.request("exec.account.sync", json{{"request_id", id}, {"requested_by", "paperrun"}}, cfg_.settle_timeout);
    if (!r) return failed(pt::bus::describe(r.error()));
    if (!r->body.value("published", false)) {
      // Before the first bar execution knows no market time: nothing to sample yet.
      pt::log::debug("exec.account.sync: nothing published", {{"request_id", id}, {"reason", r->body.value("reason", "")}});
      return;
    }
    const auto deadline = steady::now() + cfg_.settle_timeout;
    while (steady::now() < deadline) {
      {
        std::lock_guard lock(view_->mu);
        if (view_->metrics_account_sync_id == id) {
          ++view_->account_syncs;
          return;
        }
      }
      std::this_thread::sleep_for(1ms);
    }
    failed("risk.metrics did not include the account within settle_timeout");
  }

  // Returns when no work is in flight (fleet_view::in_flight) and nothing happened on the decision
  // path for `quiet`; or after settle_timeout, counted and logged (the run goes on, less exact).
  void settle() {
    const auto deadline = steady::now() + cfg_.settle_timeout;
    std::this_thread::sleep_for(cfg_.quiet);
    while (steady::now() < deadline) {
      steady::time_point last;
      std::size_t busy = 0;
      {
        std::lock_guard lock(view_->mu);
        last = view_->last_decision_msg;
        busy = view_->in_flight();
      }
      if (busy == 0 && steady::now() - last >= cfg_.quiet) return;
      std::this_thread::sleep_for(cfg_.quiet / 4 + 1ms);
    }
    std::lock_guard lock(view_->mu);
    ++view_->settle_timeouts;
    pt::log::warn("the fleet did not settle within settle_timeout; stepping on",
                  {{"proposals", view_->pending_proposals.size()}, {"decisions", view_->pending_decisions.size()},
                   {"unprotected", view_->unprotected.size()}, {"closing", view_->closing.size()}, {"moving", view_->moving.size()},
                   {"awaiting_take_profit", view_->awaiting_tp.size()}, {"bars_not_acked_by_signal", view_->bars_unacked.size()},
                   {"bars_not_published", view_->bars_expected.size()},
                   {"published_not_seen", view_->ids_expected.size()}});
    // What is still pending then is forgotten: one lost message must not slow every later step.
    view_->pending_proposals.clear();
    view_->pending_decisions.clear();
    view_->unprotected.clear();
    view_->moving.clear();
    view_->closing.clear();
    view_->awaiting_tp.clear();
    view_->bars_unacked.clear();
    view_->bars_expected.clear();
    view_->acked_early.clear();
    view_->ids_expected.clear();
  }

  void print_summary(std::int64_t step, const json& st, steady::time_point started) {
    std::lock_guard lock(view_->mu);
    const auto secs = std::chrono::duration<double>(steady::now() - started).count();
    std::string out;
    char line[512];
    std::snprintf(line, sizeof line, "=== paper run  step %lld%s  market %s  wall %.0f s (%.1f steps/s)\n",
                  static_cast<long long>(step), cfg_.steps ? (" / " + std::to_string(cfg_.steps)).c_str() : "",
                  market_time(st).c_str(), secs, secs > 0 ? static_cast<double>(step) / secs : 0.0);
    out += line;
    if (view_->account)
      std::snprintf(line, sizeof line, "equity %s  wallet %s  available %s\n", view_->account->value("equity", "?").c_str(),
                    view_->account->value("wallet_balance", "?").c_str(), view_->account->value("available", "?").c_str());
    else
      std::snprintf(line, sizeof line, "equity: no exec.account yet\n");
    out += line;
    if (view_->metrics)
      std::snprintf(line, sizeof line, "drawdown %s %%  daily pnl %s  state %s  VaR99 hist %s / param %s\n",
                    view_->metrics->value("drawdown_pct", "?").c_str(), view_->metrics->value("daily_pnl", "?").c_str(),
                    view_->metrics->value("state", "?").c_str(), view_->metrics->value("var_historical_99", "-").c_str(),
                    view_->metrics->value("var_parametric_99", "-").c_str());
    else
      std::snprintf(line, sizeof line, "risk: no risk.metrics yet\n");
    out += line;
    std::snprintf(line, sizeof line, "proposals %llu  approved %llu  rejected %llu  entries %llu  closes %llu  fills %llu  exits %llu%s\n",
                  static_cast<unsigned long long>(view_->proposals), static_cast<unsigned long long>(view_->approved),
                  static_cast<unsigned long long>(view_->rejected), static_cast<unsigned long long>(view_->entries),
                  static_cast<unsigned long long>(view_->closes), static_cast<unsigned long long>(view_->fills),
                  static_cast<unsigned long long>(view_->exits), view_->kill_switch ? "  KILL SWITCH" : "");
    out += line;
    for (const auto& [sym, p] : view_->positions)
      if (p.value("side", "flat") != "flat") {
        std::snprintf(line, sizeof line, "  open %-16s %-5s qty %s entry %s upnl %s\n", sym.c_str(), p.value("side", "").c_str(),
                      p.value("qty", "").c_str(), p.value("entry_price", "").c_str(), p.value("unrealized_pnl", "").c_str());
        out += line;
      }
    out += "bars:";
    for (const auto& sym : cfg_.symbols) {
      const auto it = view_->newest_bar_close.find(sym);
      out += " " + sym + (it == view_->newest_bar_close.end() ? " none" : " to " + pt::core::timestamp::from_millis(it->second).to_iso8601().substr(0, 16));
    }
    out += "\n";
    for (const auto& [name, state] : view_->breakers) out += "  breaker " + name + ": " + state + "\n";
    out += "services:";
    for (const auto& s : cfg_.services) {
      const auto it = view_->heartbeats.find(s);
      const auto age = it == view_->heartbeats.end() ? -1 : std::chrono::duration_cast<std::chrono::milliseconds>(steady::now() - it->second).count();
      out += " " + s + (age < 0 ? "=never" : age > 3000 ? "=STALE" : "=" + view_->heartbeat_status[s]);
    }
    out += "\n";
    std::fputs(out.c_str(), stdout);
    std::fflush(stdout);
  }

  int final_report(std::int64_t steps, steady::time_point started) {
    const double secs = std::chrono::duration<double>(steady::now() - started).count();
    json report{{"steps", steps}, {"wall_seconds", secs}, {"protocol", cfg_.protocol}};
    auto status = control("GET", "/sim/status", "");
    report["market_time"] = market_time(status);
    // Ground truth: venue-sim's account.
    auto accounts = control("GET", "/sim/accounts?protocol=" + cfg_.protocol, "");
    decimal venue_equity;
    int venue_positions = 0;
    if (accounts.is_array() && !accounts.empty()) {
      venue_equity = decimal::parse(accounts[0].value("equity", "0"));
      venue_positions = static_cast<int>(accounts[0].value("positions", json::array()).size());
      report["venue"] = {{"equity", accounts[0].value("equity", "")}, {"wallet", accounts[0].value("wallet", "")},
                         {"positions", venue_positions},
                         {"open_orders", accounts[0].value("open_orders", json::array()).size()}};
    }
    std::optional<decimal> fleet_equity;
    {
      std::lock_guard lock(view_->mu);
      if (view_->account) fleet_equity = decimal::parse(view_->account->value("equity", "0"));
      report["fleet"] = {{"proposals", view_->proposals}, {"approved", view_->approved}, {"rejected", view_->rejected},
                         {"entries", view_->entries}, {"closes", view_->closes}, {"fills", view_->fills}, {"exits", view_->exits},
                         {"settle_timeouts", view_->settle_timeouts}, {"account_syncs", view_->account_syncs},
                         {"account_sync_failures", view_->account_sync_failures}};
      if (view_->metrics) report["risk"] = *view_->metrics;
    }
    // The ledger: every entry protected in time.
    std::vector<pt::paperrun::ledger_row> rows;
    try {
      pt::ledger::store store(ledger_url_, {.migrate = false});
      store.replay(1, [&](const pt::ledger::event& e) {
        using t = pt::ledger::event_type;
        if (e.type != t::position_opened && e.type != t::position_updated && e.type != t::position_closed) return;
        rows.push_back({e.seq, std::string(pt::ledger::to_string(e.type)), e.stream_id, e.payload, e.recorded_at_ns});
      });
    } catch (const std::exception& e) {
      pt::log::error("cannot read the ledger for the report", {{"error", e.what()}});
    }
    const auto audit = pt::paperrun::audit_protection(rows, cfg_.protection_limit);
    report["protection"] = {{"entries", audit.entries}, {"protected_in_time", audit.protected_in_time},
                            {"late", audit.late}, {"never", audit.never}, {"p50_ms", audit.p50_latency_ms},
                            {"max_ms", audit.max_latency_ms}, {"problems", audit.problems}};
    const auto eq = fleet_equity ? pt::paperrun::compare_equity(*fleet_equity, venue_equity) : pt::paperrun::equity_check{};
    report["equity"] = {{"fleet", fleet_equity ? fleet_equity->to_string() : "none"}, {"venue", venue_equity.to_string()},
                        {"diff", eq.diff.to_string()}, {"equal", eq.ok}};
    json latency = json::object();
    {
      std::lock_guard lock(view_->mu);
      const std::pair<const char*, const std::vector<double>*> stages[] = {
          {"md_bar", &view_->lat_bar}, {"proposal", &view_->lat_proposal},
          {"risk_decision", &view_->lat_decision}, {"entry_order", &view_->lat_order}};
      for (const auto& [name, v] : stages) {
        const auto l = pt::paperrun::summarize_latency(*v);
        latency[name] = {{"n", l.n}, {"p50_ms", l.p50}, {"p99_ms", l.p99}, {"p999_ms", l.p999}, {"max_ms", l.max}};
      }
    }
    report["latency_from_step"] = latency;
    std::vector<pt::paperrun::hop_latency> hops;
    {
      std::lock_guard lock(view_->mu);
      hops = pt::paperrun::summarize_traces(view_->traces);
    }
    json traced = json::array();
    for (const auto& h : hops)
      traced.push_back({{"from", h.from}, {"to", h.to}, {"n", h.l.n}, {"p50_ms", h.l.p50}, {"p99_ms", h.l.p99},
                        {"p999_ms", h.l.p999}, {"max_ms", h.l.max}});
    report["decision_latency"] = traced;
    json rss = json::object();
    for (const auto& [name, kib] : rss_busy_) rss[name] = {{"idle_kib", rss_idle_.count(name) ? rss_idle_.at(name) : 0}, {"busy_max_kib", kib}};
    report["rss"] = rss;
    const bool trades_ok = audit.entries > 0;
    report["checks"] = {{"trades", trades_ok}, {"protected_within_limit", audit.ok()}, {"equity_equal", eq.ok}};
    const bool all_ok = trades_ok && audit.ok() && eq.ok;
    report["ok"] = all_ok;

    std::printf("\n=== final report (%lld steps, %.1f s wall, market %s)\n", static_cast<long long>(steps), secs,
                report["market_time"].get<std::string>().c_str());
    std::printf("trades (entries in the ledger): %d   %s\n", audit.entries, trades_ok ? "ok" : "FAIL: no trade");
    std::printf("protected within %lld ms: %d of %d (p50 %.0f ms, max %.0f ms)   %s\n",
                static_cast<long long>(cfg_.protection_limit.count()), audit.protected_in_time, audit.entries,
                audit.p50_latency_ms, audit.max_latency_ms, audit.ok() ? "ok" : "FAIL");
    for (const auto& p : audit.problems) std::printf("  %s\n", p.c_str());
    std::printf("equity: fleet %s, venue-sim %s   %s\n", report["equity"]["fleet"].get<std::string>().c_str(),
                venue_equity.to_string().c_str(), eq.ok ? "equal" : "FAIL: differ");
    // The trades' outcome, from the ledger's PositionClosed events (realized PnL after fees).
    decimal realized;
    int wins = 0, losses = 0;
    for (const auto& r : rows)
      if (r.type == "PositionClosed") {
        const auto j = json::parse(r.payload, nullptr, false);
        if (!j.is_object() || !j.contains("realized_pnl")) continue;
        const auto pnl = decimal::parse(j["realized_pnl"].get<std::string>());
        realized += pnl;
        (pnl.is_positive() ? wins : losses) += 1;
      }
    report["trades"] = {{"closed", wins + losses}, {"wins", wins}, {"losses", losses}, {"realized_pnl", realized.to_string()}};
    std::printf("closed trades %d (%d won, %d lost), realized PnL after fees %s; settle timeouts %llu\n", wins + losses, wins,
                losses, realized.to_string().c_str(), static_cast<unsigned long long>(report["fleet"]["settle_timeouts"].get<std::uint64_t>()));
    std::printf("%s\n", report["fleet"].dump().c_str());
    std::printf("latency from the step request (ms):        n      p50      p99    p99.9      max\n");
    for (const auto& [name, l] : latency.items())
      std::printf("  %-38s %6llu %8.2f %8.2f %8.2f %8.2f\n", name.c_str(), static_cast<unsigned long long>(l["n"].get<std::size_t>()),
                  l["p50_ms"].get<double>(), l["p99_ms"].get<double>(), l["p999_ms"].get<double>(), l["max_ms"].get<double>());
    if (!hops.empty()) {
      std::printf("decision latency, traced (ms; md frame at marketdata -> entry request leaving execution):\n");
      for (const auto& h : hops)
        std::printf("  %-38s %6llu %8.3f %8.3f %8.3f %8.3f\n", (h.from + " -> " + h.to).c_str(),
                    static_cast<unsigned long long>(h.l.n), h.l.p50, h.l.p99, h.l.p999, h.l.max);
    }
    std::printf("RSS KiB (idle before the first step / max while stepping):");
    for (const auto& [name, r] : rss.items())
      std::printf(" %s %ld/%ld", name.c_str(), r["idle_kib"].get<long>(), r["busy_max_kib"].get<long>());
    std::printf("\n");
    std::printf("result: %s\n", all_ok ? "PASS" : "FAIL");
    std::fflush(stdout);
    if (!cfg_.report_file.empty()) std::ofstream(cfg_.report_file) << report.dump(2) << "\n";
    return all_ok ? 0 : 1;
  }

  run_config cfg_;
  std::map<std::string, long> rss_idle_, rss_busy_;
  std::shared_ptr<fleet_view> view_;
  std::string ledger_url_;
  pt::bus::bus& bus_;
  // exec.account.sync request ids: unique per run, so an earlier run's id in risk's metrics never
  // passes for this run's.
  std::int64_t run_nonce_ = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  std::uint64_t syncs_ = 0;
  pt::connectors::http_client http_;
};

}  // namespace

int main(int argc, char** argv) {
  run_config cfg;
  std::string ledger_url;
  pt::service::options opt;
  opt.default_name = "paperrun";
  opt.config_required = true;
  opt.summary = "steps venue-sim in lockstep through the replay while the fleet paper-trades; prints the summary and the final report";
  opt.configure = [&](const pt::service::context& ctx) {
    cfg = read_config(ctx.config);
    ledger_url = pt::ledger::config::from(ctx.config).url;
    if (ledger_url.empty()) ctx.config.fail("ledger.url", "required (or DATABASE_URL): the report reads the ledger");
  };
  auto stopping = std::make_shared<std::atomic<bool>>(false);
  std::thread worker;
  const int rc = pt::service::run(argc, argv, opt, [&](pt::service::runtime& rt) {
    auto view = std::make_shared<fleet_view>();
    view->wait_guardian_marks = cfg.wait_guardian_marks && cfg.protocol == "poloniex";
    view->guardian_symbols = cfg.symbols;
    view->wait_signal = std::find(cfg.services.begin(), cfg.services.end(), "signal") != cfg.services.end();
    auto actor = rt.system().spawn(collector, view, cfg.step, cfg.protocol == "poloniex");
    rt.manage(actor);
    if (auto err = rt.bus().ensure_fleet_streams()) throw std::runtime_error("jetstream: " + pt::bus::describe(err));
    for (const auto& s : {"health.heartbeat.*", "exec.account", "risk.metrics", "signal.*.*", "signal.processed", "guardian.status"})
      if (auto sub = rt.bus().subscribe(s, actor); !sub) throw std::runtime_error(std::string("subscribe ") + s);
    if (auto sub = rt.bus().subscribe("md." + cfg.venue + ".*.bar.*", actor); !sub)  // every timeframe: signal acks each
      throw std::runtime_error("subscribe bars");
    // The JetStream event path, read as plain subscriptions (no durable: the conductor only watches).
    for (const auto& s : {"trade.proposed", "trade.exit", "risk.decision.approved", "risk.decision.rejected", "risk.breaker.*",
                          "risk.killswitch", "exec.order.*", "exec.fill", "exec.position.*", "guardian.protection"})
      if (auto sub = rt.bus().subscribe(s, actor); !sub) throw std::runtime_error(std::string("subscribe ") + s);
    // The worker ends the run with request_stop(code); a signal ends it early (the report still
    // runs on what was done). Either way it is joined before the runtime goes away.
    rt.on_stop([stopping, &worker] {
      *stopping = true;
      if (worker.joinable()) worker.join();
    });
    worker = std::thread([cfg, view, ledger_url, stopping, &rt] {
      int code = 1;
      try {
        conductor c(cfg, view, ledger_url, rt.bus());
        code = c.run(*stopping);
      } catch (const std::exception& e) {
        pt::log::error("paper run failed", {{"error", e.what()}});
      }
      rt.request_stop(code);
    });
  });
  *stopping = true;
  if (worker.joinable()) worker.join();  // start failed after the thread began
  return rc;
}
