#pragma once
// pt::service — the small runtime every service main() stands on:
//   * arguments: --config <yaml> (the supervisor names it --manifest), --name, --log-level,
//     plus the boolean flags a service declares;
//   * pt::log initialised with the service name; config loaded and validated;
//   * the bus connected (NATS_URL / bus.url);
//   * a heartbeat actor publishing health.heartbeat.<name> every heartbeat.interval (1 s);
//   * metrics.<name> every metrics.interval (10 s): the bus's per-subject counters;
//   * GET /health over HTTP when health.http_port (or Railway's PORT) is set (health_http.hpp);
//   * ctl.<name>.ping answered once the service has started (options::answer_ping);
//   * SIGTERM / SIGINT: the service's stop hooks run, a final heartbeat says "stopping",
//     and the process exits 0.
// Start-up failures are one line on stderr and a distinct exit code (see exit_code).
#include "core/config.hpp"
#include "core/log.hpp"

#include <caf/actor.hpp>
#include <nlohmann/json.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <set>
#include <stdexcept>
#include <string>

namespace caf {
class actor_system;
}
namespace pt::bus {
class bus;
}

namespace pt::service {

enum exit_code : int {
  exit_ok = 0,
  exit_failure = 1,          // a failure at run time
  exit_bad_config = 2,       // bad arguments or configuration
  exit_bus_unreachable = 3,  // NATS unreachable at start
  exit_ledger_unreachable = 4,  // PostgreSQL (the ledger) unreachable at start
};

// A start-up failure with its own exit code, thrown from options::configure or the start
// callback: run() prints "<name>: <what()>" as the one line on stderr and exits with code().
class startup_error : public std::runtime_error {
 public:
  startup_error(int code, const std::string& what) : std::runtime_error(what), code_(code) {}
  [[nodiscard]] int code() const { return code_; }

 private:
  int code_;
};

struct context;

struct options {
  std::string default_name;              // the name when neither --name nor service.name is set
  std::string config_flag = "--config";  // the supervisor calls it --manifest
  bool config_required = false;
  std::set<std::string> flags;           // boolean flags this service understands ("--watch-only")
  std::string summary;                   // one line for --help
  // ctl.<name>.ping is answered by the runtime once start() has returned (the container
  // healthchecks and `ptctl ping` ask it). Off: the service answers it itself (example).
  bool answer_ping = true;
  // Service-specific validation, run after parse() and before the bus connects, so a bad
  // config exits 2 whether or not NATS is up. Throw config::error (or usage_error).
  std::function<void(const context&)> configure;
};

struct context {
  std::string name;         // --name > service.name (POLYTRADE__SERVICE__NAME) > default_name
  std::string config_path;  // "" when no file was given
  config::document config;
  std::set<std::string> flags;  // the declared flags that were given
  log::level log_level = log::level::info;
  std::chrono::milliseconds heartbeat_interval{1000};
  std::chrono::milliseconds metrics_interval{10000};  // metrics.<name> with bus counters; 0 = off
  // GET /health over HTTP (health_http.hpp): 0 = off. health.http_port, or Railway's PORT.
  int health_port = 0;
  std::string health_bind = "127.0.0.1";  // 0.0.0.0 when the port came from PORT (platform probe)
  std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();

  [[nodiscard]] bool flag(const std::string& f) const { return flags.count(f) > 0; }
};

class usage_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};
// --help was given: the text is the usage; print it and exit 0.
class help_requested : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Parses argv and loads the config. Throws usage_error, help_requested or config::error,
// each with a one-line what().
[[nodiscard]] context parse(int argc, const char* const* argv, const options& opt,
                            const config::env_map& env = config::process_env());

// The heartbeat payload for health.heartbeat.<name>.
[[nodiscard]] nlohmann::json heartbeat_body(const context& ctx, std::uint64_t seq, const std::string& status);

class runtime {
 public:
  runtime(caf::actor_system& sys, context ctx, std::unique_ptr<bus::bus> bus);
  ~runtime();
  runtime(const runtime&) = delete;
  runtime& operator=(const runtime&) = delete;

  [[nodiscard]] caf::actor_system& system() { return sys_; }
  [[nodiscard]] bus::bus& bus() { return *bus_; }
  [[nodiscard]] const context& ctx() const { return ctx_; }
  [[nodiscard]] const config::document& config() const { return ctx_.config; }

  // The status every later heartbeat reports ("ok" until changed; "degraded", ...).
  void set_status(std::string status);
  [[nodiscard]] std::string status() const;
  // Actors the runtime stops (exit_reason::user_shutdown) at the end, after the stop hooks.
  void manage(caf::actor a);
  // Run in registration order when the service stops, before the final heartbeat.
  void on_stop(std::function<void()> hook);
  // Subscribes ctl.<name>.ping, answered by the heartbeat actor ({service, answered, ts, echo}).
  // run() calls it after start() when options::answer_ping. Throws std::runtime_error.
  void answer_pings();
  // Ends wait_for_stop() from any thread with this exit code.
  void request_stop(int code = exit_ok);

  // Blocks until SIGTERM/SIGINT or request_stop(), then stops everything. Returns the exit code.
  int wait_for_stop();

  struct state;  // opaque, shared with the heartbeat actor

 private:
  void stop_heartbeat();
  caf::actor_system& sys_;
  context ctx_;
  std::unique_ptr<bus::bus> bus_;
  std::shared_ptr<state> state_;
};

// The whole main(): parse (exit 2 on a bad argument or config), log init, actor system, bus
// (exit 3 when NATS is unreachable), heartbeat, start(rt), then wait_for_stop().
// Call it first thing in main(), before any thread starts: it blocks SIGTERM/SIGINT so that
// only the runtime receives them.
int run(int argc, char** argv, const options& opt, const std::function<void(runtime&)>& start);

}  // namespace pt::service
