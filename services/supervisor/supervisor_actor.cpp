#include "supervisor_actor.hpp"

#include "bus/bus.hpp"
#include "core/log.hpp"
#include "core/time.hpp"
#include "fleet.hpp"
#include "fleet_ledger.hpp"
#include "process.hpp"
#include "service/service.hpp"

#include <caf/all.hpp>

#include <unistd.h>

#include <csignal>
#include <memory>
#include <optional>
#include <utility>

namespace pt::supervisor {
namespace {

using tick_atom = caf::atom_constant<caf::atom("sup_tick")>;
using child_atom = caf::atom_constant<caf::atom("sup_child")>;
using stop_atom = caf::atom_constant<caf::atom("sup_stop")>;
using wake_atom = caf::atom_constant<caf::atom("sup_wake")>;
using ledger_atom = caf::atom_constant<caf::atom("sup_ledger")>;

using ledger::event_type;

constexpr const char* kHeartbeats = "health.heartbeat.*";
constexpr const char* kStatus = "ctl.supervisor.status";

time_point now() { return std::chrono::steady_clock::now(); }

log::level to_log_level(severity s) {
  switch (s) {
    case severity::info: return log::level::info;
    case severity::warning: return log::level::warn;
    case severity::critical: return log::level::error;
  }
  return log::level::info;
}

core::timestamp wall_now() { return core::timestamp::from_sys_time(std::chrono::system_clock::now()); }

struct sup_state {
  std::unique_ptr<fleet> core;
  std::unique_ptr<reaper> children;  // destroyed with the state: its thread is joined
  service::runtime* rt = nullptr;
  std::vector<caf::response_promise> stop_waiters;
  std::string last_status;
  fleet_ledger* ledger = nullptr;  // null: no ledger configured
  std::string cause;               // event_id of the ServiceExited being handled (causation)
  bool ledger_healthy = true;
  static inline const char* name = "supervisor";
};

using sup_actor = caf::stateful_actor<sup_state>;

nlohmann::json service_json(const service_status& s, core::timestamp wall) {
  nlohmann::json j{{"name", s.name},
                   {"state", std::string(to_string(s.state))},
                   {"pid", s.pid},
                   {"restarts", s.restarts_total},
                   {"restarts_in_window", s.restarts_in_window},
                   {"critical", s.critical}};
  if (!s.last_exit.empty()) j["last_exit"] = s.last_exit;
  if (s.heartbeat_age) {
    j["heartbeat_age_ms"] = s.heartbeat_age->count();
    j["last_heartbeat"] = (wall - *s.heartbeat_age).to_iso8601();
  }
  if (s.restart_in) j["restart_in_ms"] = s.restart_in->count();
  return j;
}

// ctl.supervisor.status reply (proto/schemas/ctl.supervisor.status.reply.json).
nlohmann::json status_json(const fleet& f, const service::runtime& rt, const fleet_ledger* ledger) {
  auto wall = wall_now();
  nlohmann::json services = nlohmann::json::array();
  for (const auto& s : f.status(now())) services.push_back(service_json(s, wall));
  nlohmann::json j{{"supervisor", rt.ctx().name},
                   {"mode", f.watch_only() ? "watch" : "spawn"},
                   {"ts", wall.to_iso8601()},
                   {"services", std::move(services)}};
  if (ledger) {
    auto h = ledger->health();
    j["ledger"] = {{"healthy", h.healthy}, {"unavailable_for_ms", h.unavailable_for.count()}, {"queued", h.queued}};
  }
  return j;
}

nlohmann::json details_of(const fleet& f, const std::string& service) {
  for (const auto& s : f.status(now()))
    if (s.name == service) return service_json(s, wall_now());
  return nlohmann::json::object();
}

void execute(sup_actor* self, std::vector<action> actions);

// Queues a ledger event (never blocks); returns its id, or "" without a ledger.
std::string record(sup_actor* self, event_type type, const std::string& service, nlohmann::json payload) {
  auto& st = self->state;
  if (!st.ledger) return {};
  if (!service.empty()) payload["service"] = service;
  return st.ledger->record(type, service, payload, st.cause);
}

// Runs `actions` with `cause` as the causation of the events they record.
void execute_caused_by(sup_actor* self, const std::string& cause, std::vector<action> actions) {
  auto saved = std::exchange(self->state.cause, cause);
  execute(self, std::move(actions));
  self->state.cause = std::move(saved);
}

// alerts.<severity> (proto/schemas/alert.json), and AlertRaised in the ledger.
void raise_alert(sup_actor* self, severity level, const std::string& code, const std::string& text,
                 const std::string& service, nlohmann::json details) {
  auto& bus = self->state.rt->bus();
  nlohmann::json body{{"severity", std::string(to_string(level))},
                      {"source", self->state.rt->ctx().name},
                      {"code", code},
                      {"message", text},
                      {"ts", wall_now().to_iso8601()},
                      {"details", std::move(details)}};
  if (auto err = bus.publish("alerts." + std::string(to_string(level)), body))
    log::error("alert not published", {{"error", bus::describe(err)}});
  record(self, event_type::alert_raised, service, {{"alert", std::move(body)}});
}

nlohmann::json exit_json(int pid, const exit_info& how) {
  nlohmann::json j{{"pid", pid}, {"reason", how.describe()}, {"exit_code", nullptr}, {"signal", nullptr}};
  if (how.signal != 0) j["signal"] = how.signal;
  else j["exit_code"] = how.code;
  return j;
}

// The ledger's health hook (appender thread -> this actor): alert on each transition.
void on_ledger_health(sup_actor* self, bool healthy, std::int64_t unavailable_ms, std::uint64_t queued,
                      const std::string& last_error) {
  auto& st = self->state;
  if (healthy == st.ledger_healthy) return;  // the hook repeats while unhealthy; alert once
  st.ledger_healthy = healthy;
  nlohmann::json details{{"healthy", healthy}, {"unavailable_for_ms", unavailable_ms}, {"queued", queued}};
  if (!healthy) {
    details["last_error"] = last_error;
    std::string text = "LEDGER UNAVAILABLE: cannot write fleet events to PostgreSQL for " +
                       std::to_string(unavailable_ms) + " ms; " + std::to_string(queued) +
                       " events buffered in memory (" + last_error + ")";
    log::error(text, {{"alert", "LEDGER_UNAVAILABLE"}, {"queued", queued}});
    raise_alert(self, severity::critical, "LEDGER_UNAVAILABLE", text, "", std::move(details));
  } else {
    std::string text = "ledger writes succeed again; buffered fleet events are being written";
    log::warn(text, {{"alert", "LEDGER_RECOVERED"}});
    raise_alert(self, severity::info, "LEDGER_RECOVERED", text, "", std::move(details));
  }
}

void do_spawn(sup_actor* self, const std::string& name) {
  auto& f = *self->state.core;
  const service_spec* spec = nullptr;
  for (const auto& s : f.spec().services)
    if (s.name == name) spec = &s;
  if (!spec) return;
  spawn_request req{spec->command, spec->args, spec->env, spec->cwd, {}};
  // The manifest name is the heartbeat subject: tell the child (its config may not).
  req.env.try_emplace("POLYTRADE__SERVICE__NAME", name);
  auto res = spawn_process(req);
  if (res.pid > 0) {
    record(self, event_type::service_started, name, {{"pid", res.pid}, {"command", spec->command}});
    execute(self, f.on_spawned(name, res.pid, now()));
  } else {
    log::error("spawn failed", {{"child", name}, {"error", res.error}});
    auto id = record(self, event_type::service_exited, name,
                     {{"pid", 0}, {"reason", "spawn failed: " + res.error}, {"exit_code", nullptr}, {"signal", nullptr}});
    execute_caused_by(self, id, f.on_spawn_failed(name, res.error, now()));
  }
}

void execute(sup_actor* self, std::vector<action> actions) {
  auto& bus = self->state.rt->bus();
  for (auto& a : actions) {
    switch (a.what) {
      case action::kind::spawn:
        do_spawn(self, a.service);
        break;
      case action::kind::kill:
        log::write(a.signal == SIGKILL ? log::level::warn : log::level::info, "stopping service",
                   {{"child", a.service}, {"pid", a.pid}, {"signal", a.signal}, {"reason", a.text}});
        signal_process(a.pid, a.signal);
        break;
      case action::kind::alert: {
        log::write(to_log_level(a.level), a.text, {{"child", a.service}, {"alert", a.code}});
        auto details = details_of(*self->state.core, a.service);
        if (a.code == "SERVICE_RESTARTING" || a.code == "HOLD_DOWN_RELEASED" || a.code == "SERVICE_RESTARTED") {
          nlohmann::json p{{"reason", a.text}, {"code", a.code}};
          for (const char* k : {"restart_in_ms", "restarts", "restarts_in_window"})
            if (details.contains(k)) p[k] = details[k];
          record(self, event_type::service_restarted, a.service, std::move(p));
        } else if (a.code == "SERVICE_HELD_DOWN") {
          record(self, event_type::service_held_down, a.service,
                 {{"reason", a.text}, {"restarts_in_window", details.value("restarts_in_window", 0)}});
        }
        raise_alert(self, a.level, a.code, a.text, a.service, std::move(details));
        break;
      }
      case action::kind::safe_stop: {
        log::error("requesting safe-stop", {{"child", a.service}, {"reason", a.text}});
        // proto/schemas/ctl.trading.safe_stop.json. A plain publish: it never blocks this actor,
        // live listeners get it at once, and a JetStream stream bound to the subject stores it
        // all the same (streams capture core publishes). The request_id lets consumers dedupe.
        auto ts = wall_now();
        std::string id = "safe_stop-" + a.service + "-" + std::to_string(ts.nanos());
        nlohmann::json body{{"request_id", id},
                            {"reason", a.text},
                            {"source", self->state.rt->ctx().name},
                            {"service", a.service},
                            {"ts", ts.to_iso8601()}};
        if (auto err = bus.publish("ctl.trading.safe_stop", body))
          log::error("safe-stop not published", {{"error", bus::describe(err)}});
        record(self, event_type::safe_stop_requested, a.service, {{"request_id", id}, {"reason", a.text}});
        break;
      }
      case action::kind::log:
        if (a.service.empty()) log::write(to_log_level(a.level), a.text);
        else log::write(to_log_level(a.level), a.text, {{"child", a.service}});
        break;
    }
  }
}

// Delivers pending stop requests once every child is gone.
void settle_stop(sup_actor* self) {
  auto& st = self->state;
  if (st.stop_waiters.empty() || !st.core->all_stopped()) return;
  if (st.ledger)
    st.ledger->record_stopped({{"supervisor", st.rt->ctx().name},
                               {"mode", st.core->watch_only() ? "watch" : "spawn"},
                               {"children_stopped", true}});
  for (auto& p : st.stop_waiters) p.deliver(true);
  st.stop_waiters.clear();
}

// The supervisor's own heartbeat says whether the fleet is whole.
void update_own_status(sup_actor* self) {
  auto& st = self->state;
  std::string s = "ok";
  for (const auto& u : st.core->status(now()))
    if (u.state != service_state::running) s = "degraded";
  if (st.core->stopping()) s = "stopping";
  if (s != st.last_status) {
    st.last_status = s;
    st.rt->set_status(s);
  }
}

caf::behavior supervisor_fun(sup_actor* self, service::runtime* rt, manifest m, fleet_ledger* ledger) {
  auto& st = self->state;
  st.rt = rt;
  st.ledger = ledger;
  st.core = std::make_unique<fleet>(std::move(m));
  caf::actor me = caf::actor_cast<caf::actor>(self);
  st.children = std::make_unique<reaper>([me](int pid, int status) {
    caf::anon_send(me, child_atom::value, pid, status);
  });
  if (st.ledger) {
    nlohmann::json names = nlohmann::json::array();
    for (const auto& s : st.core->spec().services) names.push_back(s.name);
    record(self, event_type::system_started, "",
           {{"supervisor", rt->ctx().name},
            {"mode", st.core->watch_only() ? "watch" : "spawn"},
            {"services", std::move(names)},
            {"pid", static_cast<std::int64_t>(::getpid())}});
  }
  execute(self, st.core->start(now()));
  update_own_status(self);
  auto tick = st.core->spec().tick;
  self->delayed_send(self, tick, tick_atom::value);
  return {
      [=](tick_atom) {
        execute(self, self->state.core->tick(now()));
        update_own_status(self);
        settle_stop(self);
        self->delayed_send(self, tick, tick_atom::value);
      },
      [=](child_atom, int pid, int status) {
        auto how = exit_info::from_wait_status(status);
        auto& f = *self->state.core;
        std::string id;
        if (self->state.ledger && !f.watch_only())
          for (const auto& s : f.status(now()))
            if (s.pid == pid && pid > 0) {
              auto p = exit_json(pid, how);
              p["supervisor_stopping"] = f.stopping();
              id = record(self, event_type::service_exited, s.name, std::move(p));
            }
        execute_caused_by(self, id, f.on_exit(pid, how, now()));
        update_own_status(self);
        settle_stop(self);
        // Restart on time rather than on the next tick: wake when the earliest backoff ends.
        std::optional<milliseconds> soonest;
        for (const auto& s : self->state.core->status(now()))
          if (s.restart_in && (!soonest || *s.restart_in < *soonest)) soonest = s.restart_in;
        if (soonest) self->delayed_send(self, *soonest, wake_atom::value);
      },
      [=](wake_atom) {
        execute(self, self->state.core->tick(now()));
        update_own_status(self);
      },
      [=](const bus::envelope& e) {
        auto& f = *self->state.core;
        if (e.subject == kStatus) {
          if (e.is_request()) self->state.rt->bus().reply(e, status_json(f, *self->state.rt, self->state.ledger));
          return;
        }
        static const std::string prefix = "health.heartbeat.";
        if (e.subject.rfind(prefix, 0) != 0) return;
        std::string service = e.subject.substr(prefix.size());
        int pid = e.body.contains("pid") && e.body["pid"].is_number_integer() ? e.body["pid"].get<int>() : 0;
        std::string status = e.body.contains("status") && e.body["status"].is_string()
                                 ? e.body["status"].get<std::string>()
                                 : "ok";
        execute(self, f.on_heartbeat(service, pid, status, now()));
        update_own_status(self);
      },
      [=](ledger_atom, bool healthy, std::int64_t unavailable_ms, std::uint64_t queued, const std::string& error) {
        on_ledger_health(self, healthy, unavailable_ms, queued, error);
      },
      [=](stop_atom) -> caf::response_promise {
        auto& st = self->state;
        auto p = self->make_response_promise();
        execute(self, st.core->stop_all(now()));
        update_own_status(self);
        st.stop_waiters.push_back(p);
        settle_stop(self);
        return p;
      },
  };
}

}  // namespace

caf::actor spawn_supervisor(service::runtime& rt, manifest m, fleet_ledger* ledger) {
  auto sup = rt.system().spawn(supervisor_fun, &rt, std::move(m), ledger);
  for (const char* subject : {kHeartbeats, kStatus})
    if (auto sub = rt.bus().subscribe(subject, sup); !sub) {
      caf::anon_send_exit(sup, caf::exit_reason::user_shutdown);
      throw std::runtime_error(std::string("cannot subscribe ") + subject + ": " + bus::describe(sub.error()));
    }
  if (ledger)
    ledger->on_health([sup](const ledger_health& h) {
      caf::anon_send(sup, ledger_atom::value, h.healthy, static_cast<std::int64_t>(h.unavailable_for.count()),
                     static_cast<std::uint64_t>(h.queued), h.last_error);
    });
  return sup;
}

bool stop_supervisor(service::runtime& rt, const caf::actor& sup, std::chrono::milliseconds limit) {
  caf::scoped_actor self{rt.system()};
  bool ok = false;
  self->request(sup, limit, stop_atom::value)
      .receive([&](bool) { ok = true; },
               [&](const caf::error& err) {
                 log::error("children did not all stop in time", {{"error", rt.system().render(err)}});
               });
  return ok;
}

}  // namespace pt::supervisor
