#include "service/service.hpp"
#include "service/health_http.hpp"

#include "bus/bus.hpp"
#include "core/time.hpp"

#include <caf/all.hpp>

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <vector>

namespace pt::service {
namespace {

using beat_atom = caf::atom_constant<caf::atom("pt_beat")>;
using metrics_atom = caf::atom_constant<caf::atom("pt_metric")>;

std::string usage(const std::string& prog, const options& opt) {
  std::string u = "usage: " + prog + " [" + opt.config_flag + " FILE] [--name NAME] [--log-level debug|info|warn|error]";
  for (const auto& f : opt.flags) u += " [" + f + "]";
  if (!opt.summary.empty()) u += " — " + opt.summary;
  return u;
}

bool valid_name(const std::string& s) {
  if (s.empty() || s.size() > 64) return false;
  for (unsigned char c : s)
    if (!(std::islower(c) || std::isdigit(c) || c == '-' || c == '_')) return false;
  return true;
}

sigset_t stop_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  return set;
}

}  // namespace

context parse(int argc, const char* const* argv, const options& opt, const config::env_map& env) {
  std::string prog = argc > 0 ? argv[0] : "service";
  if (auto slash = prog.rfind('/'); slash != std::string::npos) prog = prog.substr(slash + 1);
  context ctx;
  std::string name_arg, level_arg;
  bool have_level = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i], value;
    bool inline_value = false;
    if (auto eq = a.find('='); a.rfind("--", 0) == 0 && eq != std::string::npos) {
      value = a.substr(eq + 1);
      a = a.substr(0, eq);
      inline_value = true;
    }
    auto take = [&]() -> std::string {
      if (inline_value) return value;
      if (i + 1 >= argc) throw usage_error(a + " needs a value (" + usage(prog, opt) + ")");
      return argv[++i];
    };
    if (a == "--help" || a == "-h") throw help_requested(usage(prog, opt));
    if (a == opt.config_flag) ctx.config_path = take();
    else if (a == "--name") name_arg = take();
    else if (a == "--log-level") {
      level_arg = take();
      have_level = true;
    } else if (opt.flags.count(a) && !inline_value) ctx.flags.insert(a);
    else throw usage_error("unknown argument '" + std::string(argv[i]) + "' (" + usage(prog, opt) + ")");
  }
  if (ctx.config_path.empty() && opt.config_required)
    throw usage_error(opt.config_flag + " FILE is required (" + usage(prog, opt) + ")");

  ctx.config = ctx.config_path.empty() ? config::document::from_string("", "(no config file)", env)
                                       : config::document::load_file(ctx.config_path, env);
  const auto& cfg = ctx.config;
  cfg.require_only("service", {"name"});
  cfg.require_only("heartbeat", {"interval"});
  ctx.name = name_arg.empty() ? cfg.get_string("service.name", opt.default_name) : name_arg;
  if (!valid_name(ctx.name)) {
    std::string reason = "'" + ctx.name + "' is not a valid service name (lower-case letters, digits, - and _)";
    if (!name_arg.empty()) throw usage_error("--name: " + reason);
    cfg.fail("service.name", reason);
  }
  try {
    ctx.log_level = log::parse_level(have_level ? level_arg
                                                : cfg.get_enum("log.level", {"debug", "info", "warn", "error"}, "info"));
  } catch (const std::invalid_argument&) {
    throw usage_error("--log-level: expected debug, info, warn or error, got '" + level_arg + "'");
  }
  using namespace std::chrono_literals;
  ctx.heartbeat_interval = cfg.get_duration("heartbeat.interval", 10ms, 60s, 1s);
  ctx.metrics_interval = cfg.get_duration("metrics.interval", 0ms, 1h, 10s);
  cfg.require_only("metrics", {"interval"});
  cfg.require_only("health", {"http_port", "http_bind"});
  ctx.health_port = static_cast<int>(cfg.get_int("health.http_port", 0, 65535, 0));
  ctx.health_bind = cfg.get_string("health.http_bind",
                                   cfg.source_of("health.http_port") == "env PORT" ? "0.0.0.0" : "127.0.0.1");
  return ctx;
}

namespace {
// "host:pid": one running copy of a service.
const std::string& instance_id() {
  static const std::string instance = [] {
    char host[256] = {};
    if (::gethostname(host, sizeof host - 1) != 0 || host[0] == 0) std::strcpy(host, "localhost");
    return std::string(host) + ":" + std::to_string(::getpid());
  }();
  return instance;
}
}  // namespace

namespace {
// The payload of metrics.<name> (proto/schemas/metrics.json).
nlohmann::json metrics_body(const context& ctx, const bus::counters_snapshot& counters) {
  nlohmann::json per_subject = nlohmann::json::object();
  for (const auto& [subject, c] : counters)
    per_subject[subject] = {{"in", c.in},          {"out", c.out},           {"rejected", c.rejected},
                            {"bytes_in", c.bytes_in}, {"bytes_out", c.bytes_out}};
  return {{"service", ctx.name},
          {"instance", instance_id()},
          {"ts", core::timestamp::from_sys_time(std::chrono::system_clock::now()).to_iso8601()},
          {"bus", std::move(per_subject)}};
}
}  // namespace

nlohmann::json heartbeat_body(const context& ctx, std::uint64_t seq, const std::string& status) {
  using namespace std::chrono;
  auto up = duration_cast<microseconds>(steady_clock::now() - ctx.started);
  return {{"service", ctx.name},
          {"instance", instance_id()},
          {"pid", static_cast<std::int64_t>(::getpid())},
          {"seq", seq},
          {"ts", core::timestamp::from_sys_time(system_clock::now()).to_iso8601()},
          {"status", status},
          {"uptime_s", static_cast<double>(up.count()) / 1e6}};
}

// ---------------------------------------------------------------- runtime

struct runtime::state {
  mutable std::mutex mu;
  std::string status = "ok";
  std::vector<caf::actor> managed;
  std::vector<std::function<void()>> hooks;
  std::atomic<std::uint64_t> seq{0};
  std::atomic<bool> stop{false};
  std::atomic<int> code{exit_ok};
  bool publish_failing = false;  // log an outage once, not every beat
  caf::actor heartbeat;
  std::uint64_t pings_answered = 0;  // heartbeat actor only
};

namespace {

void beat(bus::bus& b, const context& ctx, runtime::state* st, const std::string& status_override = {}) {
  std::string status;
  {
    std::lock_guard<std::mutex> lock(st->mu);
    status = status_override.empty() ? st->status : status_override;
  }
  auto err = b.publish("health.heartbeat." + ctx.name, heartbeat_body(ctx, ++st->seq, status));
  std::lock_guard<std::mutex> lock(st->mu);
  if (err && !st->publish_failing) log::warn("heartbeat not published", {{"error", bus::describe(err)}});
  else if (!err && st->publish_failing) log::info("heartbeat published again");
  st->publish_failing = static_cast<bool>(err);
}

caf::behavior heartbeat_actor(caf::event_based_actor* self, bus::bus* b, const context* c,
                              std::shared_ptr<runtime::state> st) {
  self->send(self, beat_atom::value);
  if (c->metrics_interval.count() > 0) self->delayed_send(self, c->metrics_interval, metrics_atom::value);
  return {[=](beat_atom) {
            beat(*b, *c, st.get());
            self->delayed_send(self, c->heartbeat_interval, beat_atom::value);
          },
          [=](const bus::envelope& e) {
            // ctl.<name>.ping (answer_pings): alive, started, and the bus round trip works.
            if (!e.is_request()) return;
            nlohmann::json reply{{"service", c->name},
                                 {"answered", ++st->pings_answered},
                                 {"ts", core::timestamp::from_sys_time(std::chrono::system_clock::now()).to_iso8601()}};
            if (e.body.contains("echo")) reply["echo"] = e.body["echo"];
            if (auto err = b->reply(e, reply)) log::warn("ping reply failed", {{"error", bus::describe(err)}});
          },
          [=](metrics_atom) {
            // metrics.<service>: the bus's per-subject counters (in, out, rejected, bytes).
            if (auto err = b->publish("metrics." + c->name, metrics_body(*c, b->counters())))
              log::debug("metrics not published", {{"error", bus::describe(err)}});
            self->delayed_send(self, c->metrics_interval, metrics_atom::value);
          }};
}

}  // namespace

runtime::runtime(caf::actor_system& sys, context ctx, std::unique_ptr<bus::bus> b)
    : sys_(sys), ctx_(std::move(ctx)), bus_(std::move(b)), state_(std::make_shared<state>()) {
  // The heartbeat actor uses `ctx_` and `bus_`, both outliving it (stop_heartbeat() runs first).
  // Arguments, not captures: CAF 0.17 dereferences a null tuple for argument-less spawns (UBSan).
  state_->heartbeat = sys_.spawn(heartbeat_actor, bus_.get(), static_cast<const context*>(&ctx_), state_);
}

void runtime::answer_pings() {
  const auto sub = bus_->subscribe("ctl." + ctx_.name + ".ping", state_->heartbeat);
  if (!sub) throw std::runtime_error("subscribe ctl." + ctx_.name + ".ping: " + bus::describe(sub.error()));
}

runtime::~runtime() {
  std::vector<caf::actor> actors;
  {
    std::lock_guard<std::mutex> lock(state_->mu);
    actors.swap(state_->managed);
  }
  // Wait for them to be gone: a managed actor may be mid-message and use bus_ (UBSan caught the
  // supervisor's tick dereferencing the reset bus).
  // An actor busy in a blocking venue call sees the exit only when the call returns: warn at 5 s,
  // give it 30 s in all, then end the process. A shutdown that hangs forever is worse than a hard
  // exit: the supervisor restarts what exits, not what hangs (the leaked bus's own actors would
  // keep ~actor_system waiting for good).
  if (!actors.empty()) {
    caf::scoped_actor self{sys_};
    for (auto& a : actors) {
      self->monitor(a);
      self->send_exit(a, caf::exit_reason::user_shutdown);
    }
    const auto begun = std::chrono::steady_clock::now();
    std::size_t left = actors.size();
    bool warned = false;
    while (left > 0) {
      bool timed_out = false;
      self->receive([&](const caf::down_msg&) { --left; },
                    caf::after(std::chrono::seconds(1)) >> [&] { timed_out = true; });
      if (!timed_out) continue;
      const auto waited = std::chrono::steady_clock::now() - begun;
      if (!warned && waited >= std::chrono::seconds(5)) {
        log::error("managed actors did not stop within 5 s; waiting up to 30 s", {{"left", left}});
        warned = true;
      }
      if (waited >= std::chrono::seconds(30)) {
        log::fatal("managed actors did not stop within 30 s: exiting without a clean shutdown", {{"left", left}});
        std::fflush(nullptr);
        std::_Exit(exit_failure);
      }
    }
  }
  stop_heartbeat();
  bus_.reset();
}

void runtime::stop_heartbeat() {
  if (!state_->heartbeat) return;
  // Synchronous: the actor uses bus_, which must outlive it.
  caf::scoped_actor self{sys_};
  self->monitor(state_->heartbeat);
  self->send_exit(state_->heartbeat, caf::exit_reason::user_shutdown);
  self->receive([](const caf::down_msg&) {});
  state_->heartbeat = caf::actor{};
}

void runtime::set_status(std::string status) {
  std::lock_guard<std::mutex> lock(state_->mu);
  state_->status = std::move(status);
}

std::string runtime::status() const {
  std::lock_guard<std::mutex> lock(state_->mu);
  return state_->status;
}

void runtime::manage(caf::actor a) {
  std::lock_guard<std::mutex> lock(state_->mu);
  state_->managed.push_back(std::move(a));
}

void runtime::on_stop(std::function<void()> hook) {
  std::lock_guard<std::mutex> lock(state_->mu);
  state_->hooks.push_back(std::move(hook));
}

void runtime::request_stop(int code) {
  state_->code = code;
  state_->stop = true;
}

int runtime::wait_for_stop() {
  sigset_t set = stop_signals();
  while (!state_->stop) {
    timespec ts{0, 50'000'000};
    int sig = ::sigtimedwait(&set, nullptr, &ts);
    if (sig > 0) {
      log::info("stopping", {{"signal", sigabbrev_np(sig) ? std::string("SIG") + sigabbrev_np(sig) : std::to_string(sig)}});
      break;
    }
  }
  std::vector<std::function<void()>> hooks;
  {
    std::lock_guard<std::mutex> lock(state_->mu);
    hooks = state_->hooks;
  }
  for (auto& h : hooks) h();
  // Stop the periodic heartbeat before the goodbye so "stopping" is the last word.
  stop_heartbeat();
  beat(*bus_, ctx_, state_.get(), "stopping");
  (void)bus_->flush(std::chrono::milliseconds{500});
  int code = state_->code;
  log::info("stopped", {{"exit_code", code}});
  return code;
}

int run(int argc, char** argv, const options& opt, const std::function<void(runtime&)>& start) {
  // Before any thread exists: every thread inherits the mask, so SIGTERM/SIGINT wait for
  // wait_for_stop() instead of killing the process mid-write.
  sigset_t set = stop_signals();
  ::pthread_sigmask(SIG_BLOCK, &set, nullptr);

  std::string prog = argc > 0 ? argv[0] : "service";
  if (auto slash = prog.rfind('/'); slash != std::string::npos) prog = prog.substr(slash + 1);
  context ctx;
  bus::options bopts;
  try {
    ctx = parse(argc, argv, opt, config::process_env());
    if (opt.configure) opt.configure(ctx);
    bopts = bus::options_from_config(ctx.config);
  } catch (const help_requested& h) {
    std::fprintf(stdout, "%s\n", h.what());
    return exit_ok;
  } catch (const startup_error& e) {
    std::fprintf(stderr, "%s: %s\n", prog.c_str(), log::redact(e.what()).c_str());
    return e.code();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s: %s\n", prog.c_str(), e.what());
    return exit_bad_config;
  }
  // Only a password inside the URL is secret; the host stays readable in the logs.
  if (auto pw = config::url_password(bopts.url); !pw.empty()) log::register_secret(pw);
  log::init(ctx.name, ctx.log_level);
  bopts.name = ctx.name;

  caf::actor_system_config cfg;
  cfg.set("scheduler.max-threads", 2);
  caf::actor_system sys{cfg};
  std::unique_ptr<bus::bus> b;
  try {
    b = bus::bus::connect(sys, bopts);
  } catch (const bus::connect_error& e) {
    // One line naming what (NATS), where (the URL and which setting gave it) and why.
    std::string why = e.what();
    if (auto p = why.find(": ", why.find("connect to ")); why.rfind("bus: cannot connect to ", 0) == 0 && p != std::string::npos)
      why = why.substr(p + 2);
    std::string url = config::redact_url(bopts.url);
    std::fprintf(stderr, "%s: cannot connect to NATS at %s (bus.url from %s): %s\n", ctx.name.c_str(), url.c_str(),
                 ctx.config.source_of("bus.url").c_str(), log::redact(why).c_str());
    return exit_bus_unreachable;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s: %s\n", ctx.name.c_str(), log::redact(e.what()).c_str());
    return exit_failure;
  }
  std::string name = ctx.name;
  auto started = ctx.started;
  runtime rt(sys, std::move(ctx), std::move(b));
  try {
    start(rt);
  } catch (const config::error& e) {
    std::fprintf(stderr, "%s: %s\n", name.c_str(), e.what());
    rt.request_stop(exit_bad_config);
    return rt.wait_for_stop();
  } catch (const startup_error& e) {
    std::fprintf(stderr, "%s: %s\n", name.c_str(), log::redact(e.what()).c_str());
    rt.request_stop(e.code());
    return rt.wait_for_stop();
  } catch (const std::exception& e) {
    log::fatal("start failed", {{"error", e.what()}});
    rt.request_stop(exit_failure);
    return rt.wait_for_stop();
  }
  if (opt.answer_ping) {
    try {
      rt.answer_pings();
    } catch (const std::exception& e) {
      log::warn("ctl ping not answered", {{"error", e.what()}});
    }
  }
  std::unique_ptr<health_http> health;
  if (rt.ctx().health_port > 0) {
    try {
      health = std::make_unique<health_http>(rt.ctx().health_bind, rt.ctx().health_port, [&rt] {
        // Runs on the HTTP thread until the first stop hook below tears the server down.
        auto bus_state = rt.bus().state();
        bool bus_ok = bus_state == bus::connection_state::connected || bus_state == bus::connection_state::reconnected;
        auto status = rt.status();
        auto uptime = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - rt.ctx().started);
        nlohmann::json body{{"service", rt.ctx().name},
                            {"status", status},
                            {"bus", bus::to_string(bus_state)},
                            {"uptime_s", uptime.count()}};
        return std::make_pair(bus_ok && status != "stopping", body);
      });
    } catch (const std::exception& e) {
      std::fprintf(stderr, "%s: %s (health.http_port from %s)\n", name.c_str(), e.what(),
                   rt.config().source_of("health.http_port").c_str());
      rt.request_stop(exit_bad_config);
      return rt.wait_for_stop();
    }
    rt.on_stop([&health] { health.reset(); });
  }
  log::info("started", {{"pid", static_cast<std::int64_t>(::getpid())},
                        {"startup_ms", std::chrono::duration_cast<std::chrono::milliseconds>(
                                           std::chrono::steady_clock::now() - started)
                                           .count()}});
  return rt.wait_for_stop();
}

}  // namespace pt::service
