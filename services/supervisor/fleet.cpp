#include "fleet.hpp"

#include <sys/wait.h>

#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstring>

namespace pt::supervisor {
namespace {

std::string human(milliseconds d) {
  char buf[32];
  if (d.count() < 1000) std::snprintf(buf, sizeof buf, "%lld ms", static_cast<long long>(d.count()));
  else std::snprintf(buf, sizeof buf, "%.1f s", static_cast<double>(d.count()) / 1000.0);
  return buf;
}

milliseconds since(time_point from, time_point now) {
  return std::chrono::duration_cast<milliseconds>(now - from);
}

action make(action::kind k, const std::string& service, severity level, std::string text) {
  action a;
  a.what = k;
  a.service = service;
  a.level = level;
  a.text = std::move(text);
  return a;
}

action alert(const char* code, const std::string& service, severity level, std::string text) {
  action a = make(action::kind::alert, service, level, std::move(text));
  a.code = code;
  return a;
}

}  // namespace

std::string_view to_string(service_state s) {
  switch (s) {
    case service_state::stopped: return "stopped";
    case service_state::starting: return "starting";
    case service_state::running: return "running";
    case service_state::unhealthy: return "unhealthy";
    case service_state::stopping: return "stopping";
    case service_state::backoff: return "backoff";
    case service_state::held_down: return "held_down";
    case service_state::down: return "down";
  }
  return "unknown";
}

std::string_view to_string(severity s) {
  switch (s) {
    case severity::info: return "info";
    case severity::warning: return "warning";
    case severity::critical: return "critical";
  }
  return "unknown";
}

exit_info exit_info::from_wait_status(int status) {
  exit_info e;
  if (WIFEXITED(status)) e.code = WEXITSTATUS(status);
  else if (WIFSIGNALED(status)) e.signal = WTERMSIG(status);
  return e;
}

std::string exit_info::describe() const {
  if (signal != 0) {
    const char* abbrev = sigabbrev_np(signal);
    return "killed by signal " + std::to_string(signal) + (abbrev ? std::string(" (SIG") + abbrev + ")" : "");
  }
  return "exited with code " + std::to_string(code);
}

fleet::fleet(manifest m) : manifest_(std::move(m)) {
  units_.reserve(manifest_.services.size());
  for (const auto& s : manifest_.services) {
    unit u;
    u.spec = &s;
    units_.push_back(std::move(u));
  }
}

fleet::unit* fleet::find(const std::string& name) {
  for (auto& u : units_)
    if (u.spec->name == name) return &u;
  return nullptr;
}

std::vector<action> fleet::start(time_point now) {
  std::vector<action> out;
  if (started_) return out;
  started_ = true;
  for (auto& u : units_) {
    u.down_since = now;  // not up until it proves it (first heartbeat / process alive)
    if (watch_only()) {
      u.state = service_state::starting;
      u.since = now;
    } else {
      spawn(u, now, out);
    }
  }
  out.push_back(make(action::kind::log, "", severity::info,
                     std::string(watch_only() ? "watching " : "supervising ") + std::to_string(units_.size()) +
                         " services" + (watch_only() ? " (watch-only: the platform restarts them)" : "")));
  return out;
}

void fleet::spawn(unit& u, time_point now, std::vector<action>& out) {
  u.state = service_state::starting;
  u.since = now;
  u.pid = 0;
  u.last_heartbeat.reset();
  u.sigkill_sent = false;
  u.kill_reason.clear();
  action a = make(action::kind::spawn, u.spec->name, severity::info, "");
  out.push_back(std::move(a));
}

std::vector<action> fleet::on_spawned(const std::string& service, int pid, time_point now) {
  std::vector<action> out;
  unit* u = find(service);
  if (!u) return out;
  u->pid = pid;
  u->since = now;
  out.push_back(make(action::kind::log, service, severity::info, "started pid " + std::to_string(pid)));
  if (shutting_down_) {
    begin_kill(*u, "supervisor stopping", service_state::stopping, now, out);
  } else if (u->spec->heartbeat_timeout.count() == 0) {
    mark_up(*u, now, out);  // no heartbeat expected: alive is all we can know
  }
  return out;
}

std::vector<action> fleet::on_spawn_failed(const std::string& service, const std::string& reason, time_point now) {
  std::vector<action> out;
  unit* u = find(service);
  if (!u) return out;
  u->pid = 0;
  u->last_exit = "spawn failed: " + reason;
  if (shutting_down_) {
    u->state = service_state::stopped;
    return out;
  }
  record_death(*u, u->last_exit, now, out);
  return out;
}

std::vector<action> fleet::on_exit(int pid, exit_info how, time_point now) {
  std::vector<action> out;
  if (pid <= 0 || watch_only()) return out;
  unit* u = nullptr;
  for (auto& c : units_)
    if (c.pid == pid) u = &c;
  if (!u) return out;
  u->pid = 0;
  u->last_exit = how.describe();
  if (shutting_down_) {
    u->state = service_state::stopped;
    u->since = now;
    out.push_back(make(action::kind::log, u->spec->name, severity::info, "stopped: " + u->last_exit));
    return out;
  }
  std::string why = u->last_exit;
  if (u->state == service_state::unhealthy) why = u->kill_reason + "; " + why;
  record_death(*u, why, now, out);
  return out;
}

int fleet::deaths_in_window(unit& u, time_point now) const {
  while (!u.deaths.empty() && now - u.deaths.front() >= u.spec->restart.budget_window) u.deaths.pop_front();
  return static_cast<int>(u.deaths.size());
}

milliseconds fleet::backoff_delay(const unit& u, int deaths) const {
  const auto& p = u.spec->restart;
  double d = static_cast<double>(p.backoff_initial.count()) * std::pow(p.backoff_multiplier, std::max(0, deaths - 1));
  if (d >= static_cast<double>(p.backoff_max.count())) return p.backoff_max;
  return milliseconds{static_cast<std::int64_t>(std::llround(d))};
}

void fleet::record_death(unit& u, const std::string& why, time_point now, std::vector<action>& out) {
  const auto& p = u.spec->restart;
  mark_down(u, now);
  u.deaths.push_back(now);
  int n = deaths_in_window(u, now);
  u.since = now;
  if (n >= p.budget_restarts) {
    u.state = service_state::held_down;
    std::string until = p.hold_down.count() > 0 ? "for " + human(p.hold_down) : "until the supervisor restarts";
    out.push_back(alert("SERVICE_HELD_DOWN", u.spec->name, severity::critical,
                       u.spec->name + " " + why + "; died " + std::to_string(n) + " times in " +
                           human(p.budget_window) + ": held down " + until));
  } else {
    u.state = service_state::backoff;
    auto delay = backoff_delay(u, n);
    u.restart_at = now + delay;
    out.push_back(alert("SERVICE_RESTARTING", u.spec->name, severity::warning,
                       u.spec->name + " " + why + "; restarting in " + human(delay) + " (death " + std::to_string(n) +
                           " of " + std::to_string(p.budget_restarts) + " allowed in " + human(p.budget_window) + ")"));
  }
  check_critical(u, now, out);
}

void fleet::begin_kill(unit& u, const std::string& why, service_state next, time_point now, std::vector<action>& out) {
  u.state = next;
  u.since = now;
  u.kill_reason = why;
  u.kill_deadline = now + manifest_.stop_timeout;
  u.sigkill_sent = manifest_.stop_timeout.count() == 0;
  action a = make(action::kind::kill, u.spec->name, severity::info, why);
  a.pid = u.pid;
  a.signal = u.sigkill_sent ? SIGKILL : SIGTERM;
  out.push_back(std::move(a));
}

void fleet::mark_up(unit& u, time_point now, std::vector<action>& out) {
  bool was_down = u.state != service_state::running;
  u.state = service_state::running;
  if (was_down) u.since = now;
  if (u.safe_stop_sent)
    out.push_back(alert("CRITICAL_SERVICE_RECOVERED", u.spec->name, severity::info,
                       "critical service " + u.spec->name + " is running again"));
  u.down_since.reset();
  u.safe_stop_sent = false;
}

void fleet::mark_down(unit& u, time_point now) {
  if (!u.down_since) u.down_since = now;
}

void fleet::check_critical(unit& u, time_point now, std::vector<action>& out) {
  if (!u.spec->critical || !u.down_since || u.safe_stop_sent || shutting_down_) return;
  bool held = u.state == service_state::held_down;
  auto down_for = since(*u.down_since, now);
  if (!held && down_for < manifest_.critical_down_after) return;
  u.safe_stop_sent = true;
  std::string text = "critical service " + u.spec->name +
                     (held ? " is held down" : " is down for " + human(down_for)) +
                     (u.last_exit.empty() ? "" : " (last: " + u.last_exit + ")");
  out.push_back(make(action::kind::safe_stop, u.spec->name, severity::critical, text));
  out.push_back(alert("SAFE_STOP_REQUESTED", u.spec->name, severity::critical, text + ": safe-stop requested"));
}

std::vector<action> fleet::on_heartbeat(const std::string& service, int pid, const std::string& status,
                                        time_point now) {
  std::vector<action> out;
  unit* u = find(service);
  if (!u || !started_ || status == "stopping") return out;
  if (watch_only()) {
    bool restarted = pid != 0 && u->pid != 0 && pid != u->pid;
    if (pid != 0) u->pid = pid;
    u->last_heartbeat = now;
    if (restarted && u->state != service_state::down) {
      u->deaths.push_back(now);
      out.push_back(alert("SERVICE_RESTARTED", u->spec->name, severity::warning,
                         u->spec->name + " restarted (new pid " + std::to_string(pid) + ")"));
    }
    int n = deaths_in_window(*u, now);
    if (n < u->spec->restart.budget_restarts) u->flapping_alerted = false;
    else if (!u->flapping_alerted) {
      u->flapping_alerted = true;
      out.push_back(alert("SERVICE_FLAPPING", u->spec->name, severity::critical,
                         u->spec->name + " is flapping: " + std::to_string(n) + " restarts in " +
                             human(u->spec->restart.budget_window)));
    }
    if (u->state != service_state::running) {
      if (u->state == service_state::down)
        out.push_back(alert("SERVICE_RECOVERED", u->spec->name, severity::info, u->spec->name + " is back"));
      mark_up(*u, now, out);
    }
    return out;
  }
  // Spawn mode: only the current child's heartbeats count (an old instance may still be saying goodbye).
  if (u->pid == 0 || (pid != 0 && pid != u->pid)) return out;
  if (u->state != service_state::starting && u->state != service_state::running) return out;
  u->last_heartbeat = now;
  if (u->state == service_state::starting) {
    out.push_back(make(action::kind::log, service, severity::info,
                       "up: first heartbeat " + human(since(u->since, now)) + " after start"));
    mark_up(*u, now, out);
  }
  return out;
}

std::vector<action> fleet::tick(time_point now) {
  std::vector<action> out;
  if (!started_) return out;
  for (auto& u : units_) {
    const auto& s = *u.spec;
    const bool beats = s.heartbeat_timeout.count() > 0;
    switch (u.state) {
      case service_state::backoff:
        if (!shutting_down_ && now >= u.restart_at) {
          ++u.restarts_total;
          spawn(u, now, out);
        }
        break;
      case service_state::held_down:
        if (!shutting_down_ && s.restart.hold_down.count() > 0 && now - u.since >= s.restart.hold_down) {
          u.deaths.clear();
          out.push_back(alert("HOLD_DOWN_RELEASED", s.name, severity::info,
                             s.name + " hold-down of " + human(s.restart.hold_down) + " is over: restarting"));
          ++u.restarts_total;
          spawn(u, now, out);
        }
        break;
      case service_state::starting:
        if (watch_only()) {
          if (now - u.since >= s.start_timeout) {
            u.state = service_state::down;
            u.since = now;
            mark_down(u, now);
            out.push_back(alert("SERVICE_DOWN", s.name, severity::warning,
                               s.name + " sent no heartbeat within " + human(s.start_timeout) + " of watching"));
          }
        } else if (beats && u.pid != 0 && now - u.since >= s.start_timeout) {
          out.push_back(alert("NO_HEARTBEAT_AT_START", s.name, severity::warning,
                             s.name + " sent no heartbeat within " + human(s.start_timeout) + " of start; killing pid " +
                                 std::to_string(u.pid)));
          begin_kill(u, "no heartbeat within " + human(s.start_timeout) + " of start", service_state::unhealthy,
                     now, out);
        }
        break;
      case service_state::running:
        if (beats && u.last_heartbeat && now - *u.last_heartbeat > s.heartbeat_timeout) {
          auto age = since(*u.last_heartbeat, now);
          if (watch_only()) {
            u.state = service_state::down;
            u.since = now;
            mark_down(u, now);
            u.deaths.push_back(now);
            out.push_back(alert("SERVICE_DOWN", s.name, severity::warning,
                               s.name + " missed heartbeats for " + human(age) + ": down"));
          } else {
            mark_down(u, now);
            out.push_back(alert("HEARTBEAT_MISSED", s.name, severity::warning,
                               s.name + " missed heartbeats for " + human(age) + "; killing pid " +
                                   std::to_string(u.pid)));
            begin_kill(u, "missed heartbeats for " + human(age), service_state::unhealthy, now, out);
          }
        }
        break;
      case service_state::unhealthy:
      case service_state::stopping:
        if (u.pid != 0 && !u.sigkill_sent && now >= u.kill_deadline) {
          u.sigkill_sent = true;
          action a = make(action::kind::kill, s.name, severity::warning,
                          "still alive " + human(manifest_.stop_timeout) + " after SIGTERM");
          a.pid = u.pid;
          a.signal = SIGKILL;
          out.push_back(std::move(a));
        }
        break;
      case service_state::stopped:
      case service_state::down:
        break;
    }
    check_critical(u, now, out);
  }
  return out;
}

std::vector<action> fleet::stop_all(time_point now) {
  std::vector<action> out;
  if (shutting_down_) return out;
  shutting_down_ = true;
  for (auto& u : units_) {
    if (!watch_only() && u.pid != 0) {
      if (u.state != service_state::stopping && u.state != service_state::unhealthy)
        begin_kill(u, "supervisor stopping", service_state::stopping, now, out);
      else u.state = service_state::stopping;
    } else {
      u.state = service_state::stopped;
      u.since = now;
    }
  }
  return out;
}

bool fleet::all_stopped() const {
  if (watch_only()) return true;
  for (const auto& u : units_)
    if (u.pid != 0) return false;
  return true;
}

std::vector<service_status> fleet::status(time_point now) const {
  std::vector<service_status> out;
  out.reserve(units_.size());
  for (const auto& u : units_) {
    service_status s;
    s.name = u.spec->name;
    s.state = u.state;
    s.pid = u.pid;
    int n = 0;
    for (auto t : u.deaths)
      if (now - t < u.spec->restart.budget_window) ++n;
    s.restarts_in_window = n;
    s.restarts_total = u.restarts_total;
    s.last_exit = u.last_exit;
    if (u.last_heartbeat) s.heartbeat_age = since(*u.last_heartbeat, now);
    if (u.state == service_state::backoff) s.restart_in = std::max(milliseconds{0}, since(now, u.restart_at));
    s.critical = u.spec->critical;
    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace pt::supervisor
