#pragma once
// The supervisor's core: one state machine per service, plain C++ with no I/O, no actors and
// no clock reads. The shell feeds it events (tick, process spawned / exited, heartbeat) with
// the current monotonic time and executes the actions it returns (spawn, kill, alert,
// safe-stop, log), so every timing rule is testable deterministically.
//
// Per service:   stopped -> starting -> running <-> unhealthy
//                     died -> backoff -> starting ...      (exponential backoff)
//                     died budget times inside the window -> held_down (+ critical alert)
// Watch-only:    starting -> running <-> down              (heartbeats only; never spawns)
#include "manifest.hpp"

#include <chrono>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pt::supervisor {

using time_point = std::chrono::steady_clock::time_point;

enum class service_state { stopped, starting, running, unhealthy, stopping, backoff, held_down, down };
[[nodiscard]] std::string_view to_string(service_state s);

enum class severity { info, warning, critical };
[[nodiscard]] std::string_view to_string(severity s);

// How a child ended, as waitpid reported it.
struct exit_info {
  int code = -1;    // exit code when it exited normally
  int signal = 0;   // signal number when a signal killed it
  [[nodiscard]] static exit_info from_wait_status(int status);
  // "exited with code 3" / "killed by signal 9 (SIGKILL)"
  [[nodiscard]] std::string describe() const;
};

struct action {
  enum class kind { spawn, kill, alert, safe_stop, log };
  kind what = kind::log;
  std::string service;
  int pid = 0;              // kill: whom
  int signal = 0;           // kill: SIGTERM first, SIGKILL after stop_timeout
  severity level = severity::info;  // alert / log
  std::string text;         // alert / safe_stop / log: the reason, in words
  std::string code;         // alert: SERVICE_RESTARTING, SERVICE_HELD_DOWN, HEARTBEAT_MISSED, ...
};

struct service_status {
  std::string name;
  service_state state = service_state::stopped;
  int pid = 0;
  int restarts_in_window = 0;
  int restarts_total = 0;
  std::string last_exit;                      // "killed by signal 9 (SIGKILL)", empty if none
  std::optional<milliseconds> heartbeat_age;  // none before the first heartbeat
  std::optional<milliseconds> restart_in;     // backoff: time to the next spawn
  bool critical = false;
};

class fleet {
 public:
  explicit fleet(manifest m);

  // Begins supervising: spawns every service (or, watch-only, starts the heartbeat clocks).
  [[nodiscard]] std::vector<action> start(time_point now);
  // Asks every child to stop (SIGTERM, then SIGKILL after stop_timeout); restarts nothing more.
  [[nodiscard]] std::vector<action> stop_all(time_point now);

  // Results of a spawn action.
  [[nodiscard]] std::vector<action> on_spawned(const std::string& service, int pid, time_point now);
  [[nodiscard]] std::vector<action> on_spawn_failed(const std::string& service, const std::string& reason,
                                                    time_point now);
  // A child exited (any pid; unknown pids are ignored).
  [[nodiscard]] std::vector<action> on_exit(int pid, exit_info how, time_point now);
  // health.heartbeat.<service>. pid 0 = unknown. status "stopping" is a goodbye, not a sign of life.
  [[nodiscard]] std::vector<action> on_heartbeat(const std::string& service, int pid, const std::string& status,
                                                 time_point now);
  // Timers: backoff expiry, heartbeat and start timeouts, SIGKILL escalation, critical-down.
  [[nodiscard]] std::vector<action> tick(time_point now);

  [[nodiscard]] std::vector<service_status> status(time_point now) const;
  [[nodiscard]] const manifest& spec() const { return manifest_; }
  [[nodiscard]] bool watch_only() const { return manifest_.watch_only; }
  // After stop_all: true once every child has exited.
  [[nodiscard]] bool all_stopped() const;
  [[nodiscard]] bool stopping() const { return shutting_down_; }

 private:
  struct unit {
    const service_spec* spec = nullptr;
    service_state state = service_state::stopped;
    int pid = 0;
    time_point since{};                        // entered the current state
    std::optional<time_point> last_heartbeat;  // of the current process (spawn mode)
    time_point restart_at{};                   // backoff
    time_point kill_deadline{};                // stopping: SIGKILL after this
    bool sigkill_sent = false;
    std::string kill_reason;                   // why we stopped it (heartbeat missed, shutdown)
    std::deque<time_point> deaths;             // inside the budget window
    int restarts_total = 0;
    std::string last_exit;
    std::optional<time_point> down_since;      // critical-down clock; none while running
    bool safe_stop_sent = false;               // once per down episode
    bool flapping_alerted = false;             // watch-only: once per window
  };

  void spawn(unit& u, time_point now, std::vector<action>& out);
  void record_death(unit& u, const std::string& why, time_point now, std::vector<action>& out);
  void begin_kill(unit& u, const std::string& why, service_state next, time_point now, std::vector<action>& out);
  void mark_up(unit& u, time_point now, std::vector<action>& out);
  void mark_down(unit& u, time_point now);
  void check_critical(unit& u, time_point now, std::vector<action>& out);
  [[nodiscard]] int deaths_in_window(unit& u, time_point now) const;
  [[nodiscard]] milliseconds backoff_delay(const unit& u, int deaths) const;
  unit* find(const std::string& name);

  manifest manifest_;
  std::vector<unit> units_;
  bool started_ = false;
  bool shutting_down_ = false;
};

}  // namespace pt::supervisor
