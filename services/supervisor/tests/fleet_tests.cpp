// The fleet core, driven deterministically: time is passed in, actions come out.
#include "fleet.hpp"

#include <catch2/catch.hpp>

#include <csignal>

using namespace pt::supervisor;
using namespace std::chrono_literals;

namespace {

const time_point t0 = time_point{} + 1000s;

service_spec svc(std::string name, bool critical = false) {
  service_spec s;
  s.name = std::move(name);
  s.command = "/bin/true";
  s.critical = critical;
  s.heartbeat_timeout = 1s;
  s.start_timeout = 2s;
  s.restart.backoff_initial = 100ms;
  s.restart.backoff_max = 10s;
  s.restart.backoff_multiplier = 2.0;
  s.restart.budget_restarts = 5;
  s.restart.budget_window = 60s;
  return s;
}

manifest make(std::vector<service_spec> services, bool watch_only = false) {
  manifest m;
  m.watch_only = watch_only;
  m.stop_timeout = 3s;
  m.critical_down_after = 10s;
  m.services = std::move(services);
  return m;
}

std::vector<action> of(const std::vector<action>& as, action::kind k) {
  std::vector<action> out;
  for (const auto& a : as)
    if (a.what == k) out.push_back(a);
  return out;
}

bool has(const std::vector<action>& as, action::kind k) { return !of(as, k).empty(); }

service_status state_of(const fleet& f, const std::string& name, time_point now) {
  for (const auto& s : f.status(now))
    if (s.name == name) return s;
  FAIL("no service " << name);
  return {};
}

exit_info killed(int sig) { return exit_info{-1, sig}; }
exit_info exited(int code) { return exit_info{code, 0}; }

// Spawns `name` as `pid` and makes it healthy with a first heartbeat.
void bring_up(fleet& f, const std::string& name, int pid, time_point now) {
  (void)f.on_spawned(name, pid, now);
  (void)f.on_heartbeat(name, pid, "ok", now);
}

// Kills the service `pid` at `now` and returns the restart delay the core chose.
milliseconds die_and_measure(fleet& f, const std::string& name, int pid, time_point now) {
  auto acts = f.on_exit(pid, killed(SIGKILL), now);
  REQUIRE(has(acts, action::kind::alert));
  auto st = state_of(f, name, now);
  REQUIRE(st.state == service_state::backoff);
  REQUIRE(st.restart_in);
  return *st.restart_in;
}

}  // namespace

TEST_CASE("exit reasons read the way an operator says them") {
  CHECK(exited(3).describe() == "exited with code 3");
  CHECK(killed(9).describe() == "killed by signal 9 (SIGKILL)");
  CHECK(killed(SIGTERM).describe() == "killed by signal 15 (SIGTERM)");
  CHECK(exit_info::from_wait_status(3 << 8).describe() == "exited with code 3");
}

TEST_CASE("start spawns every service in spawn mode and nothing in watch-only mode") {
  fleet spawn_mode(make({svc("a"), svc("b")}));
  auto acts = spawn_mode.start(t0);
  auto spawns = of(acts, action::kind::spawn);
  REQUIRE(spawns.size() == 2);
  CHECK(spawns[0].service == "a");
  CHECK(spawns[1].service == "b");
  CHECK(state_of(spawn_mode, "a", t0).state == service_state::starting);

  fleet watch(make({svc("a"), svc("b")}, true));
  CHECK_FALSE(has(watch.start(t0), action::kind::spawn));
}

TEST_CASE("a service is running after its first heartbeat, and a dead one restarts after the backoff") {
  fleet f(make({svc("a")}));
  (void)f.start(t0);
  (void)f.on_spawned("a", 100, t0);
  CHECK(state_of(f, "a", t0).state == service_state::starting);
  (void)f.on_heartbeat("a", 100, "ok", t0 + 50ms);
  CHECK(state_of(f, "a", t0 + 50ms).state == service_state::running);

  auto t = t0 + 5s;
  auto acts = f.on_exit(100, killed(SIGKILL), t);
  auto alerts = of(acts, action::kind::alert);
  REQUIRE(alerts.size() == 1);
  CHECK(alerts[0].level == severity::warning);
  CHECK(alerts[0].text.find("killed by signal 9 (SIGKILL)") != std::string::npos);
  CHECK(alerts[0].text.find("restarting in 100 ms") != std::string::npos);
  auto st = state_of(f, "a", t);
  CHECK(st.state == service_state::backoff);
  CHECK(st.pid == 0);
  CHECK(st.last_exit == "killed by signal 9 (SIGKILL)");
  CHECK(st.restarts_in_window == 1);

  CHECK_FALSE(has(f.tick(t + 99ms), action::kind::spawn));
  auto respawn = f.tick(t + 100ms);
  REQUIRE(of(respawn, action::kind::spawn).size() == 1);
  CHECK(state_of(f, "a", t + 100ms).restarts_total == 1);
}

TEST_CASE("backoff doubles per death in the window and stops at its maximum") {
  auto s = svc("a");
  s.restart.backoff_max = 700ms;
  s.restart.budget_restarts = 10;
  fleet f(make({s}));
  (void)f.start(t0);
  std::vector<long long> delays;
  auto t = t0;
  for (int i = 0; i < 6; ++i) {
    bring_up(f, "a", 100 + i, t);
    t += 1s;
    auto d = die_and_measure(f, "a", 100 + i, t);
    delays.push_back(d.count());
    t += d;
    REQUIRE(has(f.tick(t), action::kind::spawn));
  }
  CHECK(delays == std::vector<long long>{100, 200, 400, 700, 700, 700});
}

TEST_CASE("the 5th death inside 60 s holds the service down with a critical alert") {
  fleet f(make({svc("a")}));
  (void)f.start(t0);
  auto t = t0;
  for (int i = 1; i <= 4; ++i) {
    bring_up(f, "a", i, t);
    t += 1s;
    auto acts = f.on_exit(i, exited(1), t);
    REQUIRE(state_of(f, "a", t).state == service_state::backoff);
    REQUIRE(of(acts, action::kind::alert)[0].level == severity::warning);
    t += 10s;
    REQUIRE(has(f.tick(t), action::kind::spawn));
  }
  bring_up(f, "a", 5, t);
  t += 1s;  // 5th death at t0 + 4*11 s + 1 s = 45 s after the first: inside the window
  auto acts = f.on_exit(5, exited(1), t);
  auto alerts = of(acts, action::kind::alert);
  REQUIRE(alerts.size() == 1);
  CHECK(alerts[0].level == severity::critical);
  CHECK(alerts[0].text.find("held down") != std::string::npos);
  CHECK(alerts[0].text.find("died 5 times") != std::string::npos);
  CHECK(state_of(f, "a", t).state == service_state::held_down);
  CHECK(state_of(f, "a", t).restarts_in_window == 5);
  // Held down means held down: no spawn however long we wait (hold_down = 0).
  for (auto later : {t + 1s, t + 61s, t + 3600s}) CHECK_FALSE(has(f.tick(later), action::kind::spawn));
}

TEST_CASE("deaths older than the window no longer count (the window slides)") {
  fleet f(make({svc("a")}));
  (void)f.start(t0);
  // Deaths at 0, 10, 20, 30 s; the 5th comes exactly 60 s after the first: the first has left.
  std::vector<time_point> deaths{t0, t0 + 10s, t0 + 20s, t0 + 30s, t0 + 60s};
  int pid = 1;
  for (std::size_t i = 0; i < deaths.size(); ++i) {
    bring_up(f, "a", pid, deaths[i] - 1ms);
    (void)f.on_exit(pid, exited(1), deaths[i]);
    ++pid;
    if (i + 1 < deaths.size()) REQUIRE(has(f.tick(deaths[i] + 5s), action::kind::spawn));
  }
  CHECK(state_of(f, "a", deaths.back()).state == service_state::backoff);
  CHECK(state_of(f, "a", deaths.back()).restarts_in_window == 4);
  // One more death at 69 s: 10, 20, 30, 60 and 69 s are 5 inside 60 s -> held down.
  REQUIRE(has(f.tick(deaths.back() + 5s), action::kind::spawn));
  bring_up(f, "a", pid, t0 + 65s);
  (void)f.on_exit(pid, exited(1), t0 + 69s);
  CHECK(state_of(f, "a", t0 + 69s).state == service_state::held_down);
}

TEST_CASE("a hold-down with a duration releases the service afterwards") {
  auto s = svc("a");
  s.restart.budget_restarts = 1;
  s.restart.hold_down = 30s;
  fleet f(make({s}));
  (void)f.start(t0);
  bring_up(f, "a", 7, t0);
  (void)f.on_exit(7, exited(2), t0 + 1s);
  REQUIRE(state_of(f, "a", t0 + 1s).state == service_state::held_down);
  CHECK_FALSE(has(f.tick(t0 + 30s), action::kind::spawn));
  CHECK(has(f.tick(t0 + 31s), action::kind::spawn));
  CHECK(state_of(f, "a", t0 + 31s).restarts_in_window == 0);
}

TEST_CASE("a missed heartbeat in spawn mode kills the service (SIGTERM, then SIGKILL) and restarts it") {
  fleet f(make({svc("a")}));
  (void)f.start(t0);
  bring_up(f, "a", 42, t0);
  (void)f.on_heartbeat("a", 42, "ok", t0 + 500ms);
  CHECK(of(f.tick(t0 + 1500ms), action::kind::kill).empty());  // exactly the timeout: still fine
  auto acts = f.tick(t0 + 1501ms);
  auto kills = of(acts, action::kind::kill);
  REQUIRE(kills.size() == 1);
  CHECK(kills[0].pid == 42);
  CHECK(kills[0].signal == SIGTERM);
  CHECK(has(acts, action::kind::alert));
  CHECK(state_of(f, "a", t0 + 1501ms).state == service_state::unhealthy);
  // It ignores SIGTERM: SIGKILL after stop_timeout (3 s).
  CHECK(of(f.tick(t0 + 4500ms), action::kind::kill).empty());
  auto esc = of(f.tick(t0 + 4501ms), action::kind::kill);
  REQUIRE(esc.size() == 1);
  CHECK(esc[0].signal == SIGKILL);
  CHECK(of(f.tick(t0 + 6s), action::kind::kill).empty());  // once
  auto died = f.on_exit(42, killed(SIGKILL), t0 + 6s);
  auto alerts = of(died, action::kind::alert);
  REQUIRE(alerts.size() == 1);
  CHECK(alerts[0].text.find("missed heartbeats") != std::string::npos);
  CHECK(state_of(f, "a", t0 + 6s).state == service_state::backoff);
}

TEST_CASE("a spawned service that never heartbeats is killed after start_timeout") {
  fleet f(make({svc("a")}));
  (void)f.start(t0);
  (void)f.on_spawned("a", 9, t0);
  CHECK(of(f.tick(t0 + 1999ms), action::kind::kill).empty());
  auto kills = of(f.tick(t0 + 2s), action::kind::kill);
  REQUIRE(kills.size() == 1);
  CHECK(kills[0].pid == 9);
}

TEST_CASE("heartbeats of an old instance or saying goodbye do not make a service healthy") {
  fleet f(make({svc("a")}));
  (void)f.start(t0);
  (void)f.on_spawned("a", 200, t0);
  (void)f.on_heartbeat("a", 199, "ok", t0 + 10ms);  // the previous process
  CHECK(state_of(f, "a", t0 + 10ms).state == service_state::starting);
  (void)f.on_heartbeat("a", 200, "stopping", t0 + 20ms);
  CHECK(state_of(f, "a", t0 + 20ms).state == service_state::starting);
  (void)f.on_heartbeat("a", 200, "ok", t0 + 30ms);
  CHECK(state_of(f, "a", t0 + 30ms).state == service_state::running);
  CHECK(state_of(f, "a", t0 + 530ms).heartbeat_age == 500ms);
  CHECK(f.on_heartbeat("nobody", 1, "ok", t0).empty());
}

TEST_CASE("a service without heartbeats is running while its process lives") {
  auto s = svc("a");
  s.heartbeat_timeout = 0ms;
  fleet f(make({s}));
  (void)f.start(t0);
  (void)f.on_spawned("a", 5, t0);
  CHECK(state_of(f, "a", t0).state == service_state::running);
  CHECK(of(f.tick(t0 + 1h), action::kind::kill).empty());
}

TEST_CASE("a failed spawn counts as a death") {
  fleet f(make({svc("a")}));
  (void)f.start(t0);
  auto acts = f.on_spawn_failed("a", "cannot exec '/nope': No such file or directory", t0);
  REQUIRE(has(acts, action::kind::alert));
  auto st = state_of(f, "a", t0);
  CHECK(st.state == service_state::backoff);
  CHECK(st.last_exit.find("spawn failed") == 0);
}

TEST_CASE("watch-only mode never spawns or kills, and reports a silent service as down") {
  auto s = svc("a");
  s.restart.budget_restarts = 3;
  fleet f(make({s, svc("b")}, true));
  std::vector<action> all = f.start(t0);
  auto collect = [&](std::vector<action> v) { all.insert(all.end(), v.begin(), v.end()); };
  collect(f.on_heartbeat("a", 300, "ok", t0 + 100ms));
  CHECK(state_of(f, "a", t0 + 100ms).state == service_state::running);
  CHECK(state_of(f, "a", t0 + 100ms).pid == 300);
  collect(f.on_heartbeat("a", 300, "ok", t0 + 1500ms));
  // b never heartbeats: down after start_timeout (2 s), with a warning.
  auto before = f.tick(t0 + 1999ms);
  collect(before);
  CHECK(state_of(f, "b", t0 + 1999ms).state == service_state::starting);
  auto acts = f.tick(t0 + 2s);
  collect(acts);
  CHECK(state_of(f, "b", t0 + 2s).state == service_state::down);
  CHECK(has(acts, action::kind::alert));
  // a goes silent: down; back when it beats again.
  CHECK(state_of(f, "a", t0 + 2s).state == service_state::running);
  collect(f.on_heartbeat("a", 300, "ok", t0 + 2s));
  collect(f.tick(t0 + 3001ms));
  CHECK(state_of(f, "a", t0 + 3001ms).state == service_state::down);
  collect(f.on_heartbeat("a", 301, "ok", t0 + 4s));
  CHECK(state_of(f, "a", t0 + 4s).state == service_state::running);
  // The platform restarts a twice more (new pids): the third restart in the window is flapping.
  collect(f.on_heartbeat("a", 302, "ok", t0 + 5s));
  auto flap = f.on_heartbeat("a", 303, "ok", t0 + 6s);
  collect(flap);
  bool critical = false;
  for (const auto& a : of(flap, action::kind::alert)) critical |= a.level == severity::critical;
  CHECK(critical);
  collect(f.tick(t0 + 1h));
  collect(f.on_exit(300, killed(9), t0 + 1h));
  collect(f.stop_all(t0 + 1h));
  CHECK_FALSE(has(all, action::kind::spawn));
  CHECK_FALSE(has(all, action::kind::kill));
  CHECK(f.all_stopped());
}

TEST_CASE("a critical service down longer than critical_down_after requests one safe-stop per episode") {
  auto c = svc("exec", true);
  c.restart.backoff_initial = 20s;  // stays down long enough
  c.restart.backoff_max = 20s;
  fleet f(make({c, svc("other")}));
  (void)f.start(t0);
  bring_up(f, "exec", 10, t0);
  bring_up(f, "other", 11, t0);
  auto t = t0 + 1s;
  (void)f.on_heartbeat("exec", 10, "ok", t);
  (void)f.on_heartbeat("other", 11, "ok", t);
  CHECK_FALSE(has(f.tick(t + 500ms), action::kind::safe_stop));  // running: never
  CHECK_FALSE(has(f.on_exit(10, killed(SIGKILL), t), action::kind::safe_stop));
  CHECK_FALSE(has(f.tick(t + 9999ms), action::kind::safe_stop));
  auto acts = f.tick(t + 10s);
  auto stops = of(acts, action::kind::safe_stop);
  REQUIRE(stops.size() == 1);
  CHECK(stops[0].service == "exec");
  CHECK(stops[0].text.find("exec") != std::string::npos);
  CHECK_FALSE(has(f.tick(t + 11s), action::kind::safe_stop));  // once per episode
  // It comes back (respawn at +20 s, first heartbeat): the episode ends.
  REQUIRE(has(f.tick(t + 20s), action::kind::spawn));
  bring_up(f, "exec", 12, t + 20s);
  CHECK(state_of(f, "exec", t + 20s).state == service_state::running);
  // A second outage is a new episode: a new safe-stop.
  (void)f.on_exit(12, exited(1), t + 30s);
  CHECK_FALSE(has(f.tick(t + 39s), action::kind::safe_stop));
  CHECK(of(f.tick(t + 40s), action::kind::safe_stop).size() == 1);
}

TEST_CASE("a critical service held down requests safe-stop at once, a non-critical one never does") {
  auto c = svc("exec", true);
  c.restart.budget_restarts = 1;
  auto n = svc("news");
  n.restart.budget_restarts = 1;
  fleet f(make({c, n}));
  (void)f.start(t0);
  bring_up(f, "exec", 1, t0);
  bring_up(f, "news", 2, t0);
  auto acts = f.on_exit(1, exited(1), t0 + 1s);
  CHECK(of(acts, action::kind::safe_stop).size() == 1);
  auto news = f.on_exit(2, exited(1), t0 + 1s);
  CHECK_FALSE(has(news, action::kind::safe_stop));
  CHECK_FALSE(has(f.tick(t0 + 1h), action::kind::safe_stop));
}

TEST_CASE("a critical service that never comes up requests safe-stop after critical_down_after") {
  fleet f(make({svc("exec", true)}));
  (void)f.start(t0);
  (void)f.on_spawned("exec", 3, t0);
  CHECK_FALSE(has(f.tick(t0 + 9s), action::kind::safe_stop));
  CHECK(has(f.tick(t0 + 10s), action::kind::safe_stop));
}

TEST_CASE("stop_all stops every child, escalates to SIGKILL, and restarts nothing") {
  fleet f(make({svc("a"), svc("b")}));
  (void)f.start(t0);
  bring_up(f, "a", 1, t0);
  bring_up(f, "b", 2, t0);
  auto acts = f.stop_all(t0 + 1s);
  auto kills = of(acts, action::kind::kill);
  REQUIRE(kills.size() == 2);
  CHECK(kills[0].signal == SIGTERM);
  CHECK_FALSE(f.all_stopped());
  (void)f.on_exit(1, killed(SIGTERM), t0 + 1100ms);
  CHECK_FALSE(f.all_stopped());
  auto esc = of(f.tick(t0 + 4s), action::kind::kill);
  REQUIRE(esc.size() == 1);
  CHECK(esc[0].pid == 2);
  CHECK(esc[0].signal == SIGKILL);
  auto last = f.on_exit(2, killed(SIGKILL), t0 + 4100ms);
  CHECK_FALSE(has(last, action::kind::alert));
  CHECK(f.all_stopped());
  CHECK(state_of(f, "b", t0 + 4100ms).state == service_state::stopped);
  CHECK_FALSE(has(f.tick(t0 + 1h), action::kind::spawn));
}

TEST_CASE("exits of unknown pids are ignored") {
  fleet f(make({svc("a")}));
  (void)f.start(t0);
  bring_up(f, "a", 1, t0);
  CHECK(f.on_exit(999, exited(0), t0).empty());
  CHECK(state_of(f, "a", t0).state == service_state::running);
}
