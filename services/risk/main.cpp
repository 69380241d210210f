// risk: the only approver. trade.proposed (JetStream `risk-proposals`) -> sizing + checklist
// (engine.hpp, libs/risk) -> RiskApproved/RiskRejected appended and flushed to the ledger ->
// risk.decision.approved|rejected (JetStream, Nats-Msg-Id = decision_id) -> ack. Redeliveries get
// the decision already taken (remembered, and restored from the ledger at start). Publishes
// risk.metrics every metrics_interval and after each account change, breakers and the kill switch;
// answers authenticated ctl.* commands (libs/control). See README.md.
#include "bus/bus.hpp"
#include "control/control.hpp"
#include "core/ids.hpp"
#include "core/log.hpp"
#include "core/trace.hpp"
#include "core/time.hpp"
#include "engine.hpp"
#include "ledger/appender.hpp"
#include "ledger/config.hpp"
#include "ledger/store.hpp"
#include "risk/limits.hpp"
#include "service/service.hpp"

#include <caf/all.hpp>

#include <map>
#include <memory>
#include <regex>
#include <set>

namespace {

namespace rs = pt::risk_service;
using json = nlohmann::json;
using pt::core::timestamp;
using namespace std::chrono_literals;

using metrics_atom = caf::atom_constant<caf::atom("rk_metric")>;

struct risk_settings {
  rs::engine_config engine;
  std::string catalog;  // docs/markets/*.json
  std::chrono::milliseconds metrics_interval{5000};
};

timestamp wall() { return pt::core::system_clock::instance().now(); }

// YAML scalars to the JSON risk_config_from_json expects: booleans, integers, else strings
// (decimals stay text: never through a double).
json limits_json(const pt::config::document& c) {
  json j = json::object();
  static const std::regex integer("^-?[0-9]+$");
  for (const auto& k : c.child_keys("risk.limits")) {
    const auto v = std::optional<std::string>(c.get_string("risk.limits." + k));
    if (*v == "true" || *v == "false") j[k] = *v == "true";
    else if (std::regex_match(*v, integer)) j[k] = std::stoll(*v);
    else j[k] = *v;
  }
  return j;
}

risk_settings read_config(const pt::config::document& c) {
  risk_settings s;
  c.require_only("risk", {"venue", "limits", "autonomous_at_start", "guardian", "catalog", "max_leverage",
                          "atr_timeframe", "metrics_interval", "pending_entry_ttl"});
  s.engine.venue = c.get_enum("risk.venue", {"poloniex", "binance", "sim"}, "poloniex");
  try {
    s.engine.limits = pt::risk::risk_config_from_json(limits_json(c));
  } catch (const pt::risk::risk_config_error& e) {
    c.fail("risk.limits." + e.field(), e.what());
  }
  s.engine.autonomous_at_start = c.get_bool("risk.autonomous_at_start", false);
  c.require_only("risk.guardian", {"required", "max_age"});
  s.engine.guardian_required = c.get_bool("risk.guardian.required", s.engine.venue == "poloniex");
  s.engine.guardian_max_age = c.get_duration("risk.guardian.max_age", 500ms, 60s, s.engine.guardian_max_age);
  s.engine.atr_timeframe = c.get_string("risk.atr_timeframe", "4h");
  s.engine.pending_entry_ttl = c.get_duration("risk.pending_entry_ttl", 1s, 1h, s.engine.pending_entry_ttl);
  s.catalog = c.get_string("risk.catalog", s.engine.venue == "binance" ? "docs/markets/binance-usdm.json"
                                                                        : "docs/markets/poloniex-futures-v3.json");
  std::map<std::string, int> lev;
  for (const auto& sym : c.child_keys("risk.max_leverage"))
    lev[sym] = static_cast<int>(c.get_int("risk.max_leverage." + sym, 1, 200));
  try {
    s.engine.instruments = rs::instruments_from_catalog(s.catalog, lev);
  } catch (const std::exception& e) {
    c.fail("risk.catalog", e.what());
  }
  s.metrics_interval = c.get_duration("risk.metrics_interval", 100ms, 1h, s.metrics_interval);
  return s;
}

struct risk_service {
  risk_settings cfg;
  pt::bus::bus* bus = nullptr;
  std::unique_ptr<rs::engine> eng;
  std::unique_ptr<pt::ledger::appender> ledger;
  pt::control::verifier ctl = pt::control::verifier::from_env();
  std::map<std::string, rs::decision> decided;  // proposal_id -> the decision taken
  std::set<std::string> durable;                 // proposal_ids whose decision the ledger holds

  json with_state(json payload) const {
    const auto s = eng->equity();
    if (eng->has_equity())
      payload["risk_state"] = {{"utc_day", s.utc_day}, {"day_open_equity", s.day_open.to_string()},
                               {"peak_equity", s.peak.to_string()}, {"at", s.at.to_iso8601()}};
    return payload;
  }

  // Appends and waits until stored; throws when it is not (the caller must not publish or ack).
  void record(pt::ledger::event_type type, const std::string& event_id, const std::string& correlation, json payload) {
    pt::ledger::event e;
    e.event_id = event_id;
    e.type = type;
    e.stream_id = "risk";
    e.correlation_id = correlation;
    e.occurred_at_ns = wall().nanos();
    e.payload = with_state(std::move(payload)).dump();
    ledger->append(std::move(e), 2s);
    if (!ledger->flush(5s)) throw std::runtime_error("ledger flush timed out");
  }

  // Restart: decisions, the equity base and a latched kill switch from our own events.
  void restore(const pt::ledger::config& lc) {
    pt::ledger::store st(lc.url);
    bool kill = false;
    std::string kill_reason;
    std::optional<rs::equity_snapshot> snap;
    pt::ledger::replay_options o;
    o.stream_id = "risk";
    std::size_t n = 0;
    st.replay(1, [&](const pt::ledger::event& e) {
      auto p = json::parse(e.payload, nullptr, false);
      if (p.is_discarded()) return;
      if (p.contains("risk_state")) {
        const auto& r = p["risk_state"];
        try {
          rs::equity_snapshot s;
          s.utc_day = r.at("utc_day").get<std::int64_t>();
          s.day_open = pt::core::decimal::parse(r.at("day_open_equity").get<std::string>());
          s.peak = pt::core::decimal::parse(r.at("peak_equity").get<std::string>());
          s.at = timestamp::parse_iso8601(r.at("at").get<std::string>());
          snap = s;
        } catch (const std::exception&) {
        }
        p.erase("risk_state");
      }
      using t = pt::ledger::event_type;
      if (e.type == t::risk_approved || e.type == t::risk_rejected) {
        rs::decision d;
        d.approved = e.type == t::risk_approved;
        d.subject = d.approved ? "risk.decision.approved" : "risk.decision.rejected";
        d.body = p;
        decided[p.value("proposal_id", "")] = d;
        durable.insert(p.value("proposal_id", ""));
        ++n;
      } else if (e.type == t::kill_switch_triggered) {
        kill = p.value("active", true);
        kill_reason = p.value("reason", "restored");
      }
    }, o);
    if (snap) eng->restore_equity(*snap);
    if (kill) eng->trigger_kill_switch(wall(), "restored from the ledger: " + kill_reason);
    (void)eng->take_events();  // already recorded before the restart
    pt::log::info("restored from the ledger", {{"decisions", n}, {"kill_switch", kill}, {"equity_base", snap.has_value()}});
  }

  void publish_metrics() {
    if (auto err = bus->publish("risk.metrics", eng->metrics(wall())))
      pt::log::warn("risk.metrics not published", {{"error", pt::bus::describe(err)}});
  }

  // State-machine transitions -> risk.breaker.<name> / risk.killswitch and the ledger.
  void flush_events(const std::string& by) {
    for (const auto& ev : eng->take_events()) {
      try {
        const auto id_seed = "risk-event:" + ev.what + ":" + std::to_string(ev.at.nanos());
        if (ev.what.rfind("breaker.", 0) == 0) {
          const auto rest = ev.what.substr(8);
          const auto dot = rest.rfind('.');
          const auto name = rest.substr(0, dot);
          const auto state = rest.substr(dot + 1);
          json b{{"name", name}, {"state", state}, {"reason", ev.reason.substr(0, 4096)}, {"ts", ev.at.to_iso8601()}};
          record(pt::ledger::event_type::circuit_breaker_triggered, pt::core::uuid::from_seed(id_seed).to_string(), "", b);
          auto r = bus->js_publish("risk.breaker." + name, b, "breaker-" + name + "-" + state + "-" + std::to_string(ev.at.nanos()));
          if (!r) pt::log::error("risk.breaker not published", {{"error", pt::bus::describe(r.error())}});
        } else if (ev.what == "killswitch.triggered" || ev.what == "killswitch.reset") {
          const bool active = ev.what == "killswitch.triggered";
          json k{{"active", active}, {"reason", ev.reason.substr(0, 4096)}, {"triggered_by", by.substr(0, 128)}, {"ts", ev.at.to_iso8601()}};
          record(pt::ledger::event_type::kill_switch_triggered, pt::core::uuid::from_seed(id_seed).to_string(), "", k);
          auto r = bus->js_publish("risk.killswitch", k, std::string("killswitch-") + (active ? "on-" : "off-") + std::to_string(ev.at.nanos()));
          if (!r) pt::log::error("risk.killswitch not published", {{"error", pt::bus::describe(r.error())}});
        }
        pt::log::info("state event", {{"what", ev.what}, {"reason", ev.reason}});
      } catch (const std::exception& e) {
        pt::log::error("state event not recorded", {{"what", ev.what}, {"error", e.what()}});
      }
    }
  }

  void on_proposal(const pt::bus::envelope& env) {
    const auto pid = env.body.value("proposal_id", "");
    std::int64_t decided_ns = 0;
    auto it = decided.find(pid);
    if (it == decided.end()) {
      // Kept even if the ledger write below fails: a redelivery retries the same decision (the
      // event_id is derived from it, so a write that did commit is not doubled).
      it = decided.emplace(pid, eng->decide(env.body, wall())).first;
      decided_ns = pt::core::trace::now_ns();
      pt::log::info(it->second.approved ? "approved" : "rejected",
                    {{"proposal_id", pid}, {"reason_code", it->second.body.value("reason_code", "")},
                     {"quantity", it->second.body.value("quantity", "")}});
    } else {
      pt::log::info("redelivered proposal: the decision already taken is published again", {{"proposal_id", pid}});
    }
    const auto& d = it->second;
    std::int64_t durable_ns = 0;
    if (!durable.count(pid)) {
      record(d.approved ? pt::ledger::event_type::risk_approved : pt::ledger::event_type::risk_rejected,
             pt::core::uuid::from_seed("risk-decision:" + d.decision_id()).to_string(),
             env.body.value("correlation_id", ""), d.body);
      durable.insert(pid);
      durable_ns = pt::core::trace::now_ns();
    }
    // A traced proposal gets a traced decision (the ledger keeps the decision without stamps).
    json out = d.body;
    if (pt::core::trace::get(env.body, "md_recv") > 0) {
      pt::core::trace::carry(env.body, out);
      pt::core::trace::stamp(out, "risk_recv", env.received_ns);
      pt::core::trace::stamp(out, "risk_decided", decided_ns);
      pt::core::trace::stamp(out, "risk_durable", durable_ns);
      pt::core::trace::stamp(out, "risk_pub", pt::core::trace::now_ns());
    }
    auto r = bus->js_publish(d.subject, out, d.decision_id());
    if (!r) throw std::runtime_error("decision not published: " + pt::bus::describe(r.error()));
  }

  void on_ctl(const pt::bus::envelope& env) {
    const auto now = wall();
    json reply{{"ok", false}, {"message", ""}, {"ts", now.to_iso8601()}};
    if (env.body.contains("request_id")) reply["request_id"] = env.body["request_id"];
    bool ok = false;
    std::string message;
    const std::string by = env.body.value("requested_by", env.body.value("source", "unknown"));
    if (env.subject == "ctl.trading.safe_stop") {
      // From the supervisor (its own schema, no signature): safe-stop only ever makes trading safer.
      eng->safe_stop(now);
      ok = true;
      message = "safe-stop: no new entries, positions keep their stops";
    } else if (auto v = ctl.verify(env.subject, env.body, now); !v) {
      message = v.reason;
    } else {
      ok = true;
      if (env.subject == "ctl.autonomous.enable") {
        eng->enable_autonomous(now);
        message = "autonomous trading enabled";
      } else if (env.subject == "ctl.autonomous.disable") {
        eng->disable_autonomous(now);
        message = "autonomous trading disabled";
      } else if (env.subject == "ctl.autonomous.status") {
        message = "status";
      } else if (env.subject == "ctl.killswitch.trigger") {
        eng->trigger_kill_switch(now, "operator " + by + ": " + env.body.value("reason", "no reason given"));
        message = "kill switch active";
      } else if (env.subject == "ctl.killswitch.reset") {
        eng->reset_kill_switch(now);
        message = "kill switch reset; autonomous trading stays disabled until enabled";
      } else {
        ok = false;
        message = "unknown command";
      }
    }
    // Audit first, without the signature; then the effects; then the answer.
    try {
      json audit{{"subject", env.subject}, {"accepted", ok}, {"message", message}, {"command", pt::control::redact(env.body)}};
      record(pt::ledger::event_type::control_command_received, pt::core::uuid::random().to_string(),
             env.body.value("request_id", ""), audit);
    } catch (const std::exception& e) {
      pt::log::error("control command not audited", {{"subject", env.subject}, {"error", e.what()}});
    }
    flush_events(by);
    pt::log::info(ok ? "control command accepted" : "control command refused", {{"subject", env.subject}, {"message", message}});
    reply["ok"] = ok;
    reply["message"] = message.substr(0, 4096);
    reply["state"] = eng->status();
    if (env.is_request())
      if (auto err = bus->reply(env, reply)) pt::log::warn("ctl reply failed", {{"error", pt::bus::describe(err)}});
  }

  void on_envelope(const pt::bus::envelope& env) {
    const auto& s = env.subject;
    try {
      if (s == "trade.proposed") {
        on_proposal(env);
      } else if (s.rfind("ctl.", 0) == 0) {
        on_ctl(env);
      } else if (s == "exec.account") {
        eng->on_account(env.body);
        publish_metrics();
      } else if (s.rfind("exec.position.", 0) == 0) {
        eng->on_position(env.body);
      } else if (s == "trade.exit") {
        eng->on_exit();
      } else if (s == "guardian.status") {
        eng->on_guardian(env.body, wall());
      } else if (s.size() > 5 && s.compare(s.size() - 5, 5, ".mark") == 0) {
        eng->on_mark(env.body);
      } else if (s.size() > 8 && s.compare(s.size() - 8, 8, ".funding") == 0) {
        eng->on_funding(env.body);
      } else if (s.find(".bar.") != std::string::npos) {
        eng->on_bar(env.body);
      }
      flush_events("risk");
      if (env.needs_ack()) (void)env.ack();
    } catch (const rs::input_error& e) {
      pt::log::warn("message dropped", {{"subject", s}, {"error", e.what()}});
      if (env.needs_ack()) (void)env.term();
    } catch (const std::exception& e) {
      // Not durable: leave it to JetStream to redeliver.
      pt::log::error("message not processed", {{"subject", s}, {"error", e.what()}});
      if (env.needs_ack()) (void)env.nak();
    }
  }
};

caf::behavior risk_actor(caf::event_based_actor* self, std::shared_ptr<risk_service> svc,
                         std::chrono::milliseconds interval) {
  return {
      [svc](const pt::bus::envelope& e) { svc->on_envelope(e); },
      [svc, self, interval](metrics_atom) {
        self->delayed_send(self, interval, metrics_atom::value);
        svc->eng->tick(svc->eng->market_now());
        svc->flush_events("risk");
        svc->publish_metrics();
      },
  };
}

}  // namespace

int main(int argc, char** argv) {
  risk_settings cfg;
  pt::config::document doc;
  pt::service::options opt;
  opt.default_name = "risk";
  opt.summary = "the only approver: sizes and checks trade proposals, breakers, kill switch";
  opt.configure = [&](const pt::service::context& ctx) {
    cfg = read_config(ctx.config);
    (void)pt::ledger::config::from(ctx.config);  // a typo under ledger. exits 2 now
    doc = ctx.config;
  };
  return pt::service::run(argc, argv, opt, [&](pt::service::runtime& rt) {
    auto svc = std::make_shared<risk_service>();
    svc->cfg = cfg;
    svc->bus = &rt.bus();
    svc->eng = std::make_unique<rs::engine>(cfg.engine, wall());
    if (!svc->ctl.configured()) pt::log::warn("POLYTRADE_CTL_TOKEN not set: every control command will be refused");
    const auto lc = pt::ledger::config::from(doc);
    try {
      svc->ledger = std::make_unique<pt::ledger::appender>(lc);
      svc->restore(lc);
    } catch (const std::exception& e) {
      throw pt::service::startup_error(pt::service::exit_ledger_unreachable, e.what());
    }
    if (auto err = rt.bus().ensure_fleet_streams())
      throw pt::service::startup_error(pt::service::exit_failure, "JetStream streams: " + pt::bus::describe(err));

    // The metrics timer starts once every subscription is in place (the first risk.metrics says
    // the service is ready). Arguments go through spawn: CAF 0.17's init_fun_factory dereferences
    // an empty argument tuple for a function taking only `self` (UBSan reports it).
    auto actor = rt.system().spawn<caf::detached>(risk_actor, svc, cfg.metrics_interval);
    rt.manage(actor);
    rt.on_stop([svc] { svc->ledger->stop(5s); });

    auto js = [&](const std::string& stream, const std::string& durable, const std::string& filter) {
      pt::bus::consumer_config c;
      c.stream = stream;
      c.durable = durable;
      c.filter_subject = filter;
      if (auto s = rt.bus().js_consume(c, actor); !s)
        throw pt::service::startup_error(pt::service::exit_failure, filter + " consumer: " + pt::bus::describe(s.error()));
    };
    auto sub = [&](const std::string& subject) {
      if (auto s = rt.bus().subscribe(subject, actor); !s)
        throw pt::service::startup_error(pt::service::exit_failure, subject + ": " + pt::bus::describe(s.error()));
    };
    const auto v = cfg.engine.venue;
    // Market data and account first, so the first proposal finds them.
    sub("exec.account");
    sub("md." + v + ".*.bar." + cfg.engine.atr_timeframe);
    sub("md." + v + ".*.mark");
    sub("md." + v + ".*.funding");
    sub("guardian.status");
    for (const char* c : {"ctl.autonomous.enable", "ctl.autonomous.disable", "ctl.autonomous.status",
                          "ctl.killswitch.trigger", "ctl.killswitch.reset", "ctl.trading.safe_stop"})
      sub(c);
    js("EXEC", "risk-positions", "exec.position.*");
    js("TRADE", "risk-exits", "trade.exit");
    js("TRADE", "risk-proposals", "trade.proposed");
    caf::anon_send(actor, metrics_atom::value);
    pt::log::info("risk started", {{"venue", v}, {"instruments", cfg.engine.instruments.size()},
                                   {"autonomous", cfg.engine.autonomous_at_start}, {"guardian_required", cfg.engine.guardian_required}});
  });
}
