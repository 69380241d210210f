// The supervisor with a ledger: the real supervisor and example binaries, a real nats-server
// and a real PostgreSQL; the test reads back what the supervisor recorded.
#include "harness.hpp"
#include "ledger/store.hpp"
#include "testing/servers.hpp"

#include <catch2/catch.hpp>

#include <atomic>

using namespace pt::supervisor::harness;
using pt::ledger::event_type;

namespace {

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream ss(text);
  std::string line;
  while (std::getline(ss, line))
    if (!line.empty()) out.push_back(line);
  return out;
}

std::size_t count_of(const std::string& text, const std::string& needle) {
  std::size_t n = 0;
  for (auto p = text.find(needle); p != std::string::npos; p = text.find(needle, p + 1)) ++n;
  return n;
}

const std::string kManifest = R"(
supervisor: {tick: 20ms, stop_timeout: 1s}
defaults:
  heartbeat_timeout: 600ms
  start_timeout: 3s
  env: {POLYTRADE__HEARTBEAT__INTERVAL: 100ms}
services:
  - name: example
    command: )" EXAMPLE_BIN "\n";

std::string fresh_db(pt::testing::postgres_server& pg) {
  static std::atomic<int> n{0};
  return pg.create_database("sup_t" + std::to_string(::getpid()) + "_" + std::to_string(n++));
}

struct recorded {
  event_type type;
  std::string stream, id, correlation, causation;
  nlohmann::json payload;
};

std::vector<recorded> read_ledger(const std::string& url) {
  pt::ledger::store s(url);
  std::vector<recorded> out;
  s.replay(1, [&](const pt::ledger::event& e) {
    out.push_back({e.type, e.stream_id, e.event_id, e.correlation_id, e.causation_id, nlohmann::json::parse(e.payload)});
  });
  return out;
}

std::string describe(const std::vector<recorded>& events) {
  std::string s;
  for (const auto& e : events) s += std::string(pt::ledger::to_string(e.type)) + " " + e.stream + " " + e.payload.dump() + "\n";
  return s;
}

struct ledger_run {
  pt::testing::nats_server nats;
  std::string dir = pt::testing::make_temp_dir("pt-sup-ledger");
  std::unique_ptr<client> bus = std::make_unique<client>(nats.url());
  std::unique_ptr<child> sup;

  void start(const std::string& db_url, std::map<std::string, std::string> env = {}) {
    write_file(dir + "/fleet.yaml", kManifest);
    env["NATS_URL"] = nats.url();
    env["DATABASE_URL"] = db_url;
    sup = std::make_unique<child>(std::vector<std::string>{SUPERVISOR_BIN, "--manifest", dir + "/fleet.yaml"}, env,
                                  dir + "/supervisor.log");
  }
  int running_pid(int other_than = 0) {
    auto s = bus->wait_status(
        "example", [&](const auto& j) { return j["state"] == "running" && j["pid"] != other_than; }, 10s);
    return s.is_null() ? 0 : s["pid"].get<int>();
  }
  void stop() {
    ::kill(sup->pid(), SIGTERM);
    auto rc = sup->wait(15s);
    INFO(sup->output());
    REQUIRE(rc);
    CHECK(*rc == 0);
  }
};

}  // namespace

TEST_CASE("with DATABASE_URL the supervisor records the fleet's life in the ledger, in order") {
  auto url = fresh_db(pt::testing::postgres_server::shared());
  ledger_run run;
  run.start(url);
  int pid1 = run.running_pid();
  {
    auto status = run.bus->request("ctl.supervisor.status", nlohmann::json::object());
    REQUIRE(status);
    INFO(status->dump());
    REQUIRE(status->contains("ledger"));
    CHECK((*status)["ledger"]["healthy"] == true);
  }
  INFO(run.sup->output());
  REQUIRE(pid1 > 0);
  REQUIRE(::kill(pid1, SIGKILL) == 0);
  int pid2 = run.running_pid(pid1);
  REQUIRE(pid2 > 0);
  run.stop();
  CHECK(count_of(run.sup->output(), "no ledger configured") == 0);

  auto events = read_ledger(url);
  INFO(describe(events));
  REQUIRE(events.size() >= 7);

  // Each expected event, found in order (other events, e.g. AlertRaised, may sit between).
  std::size_t at = 0;
  auto next = [&](event_type t, const std::function<bool(const recorded&)>& pred) -> const recorded* {
    for (; at < events.size(); ++at)
      if (events[at].type == t && pred(events[at])) return &events[at++];
    return nullptr;
  };
  auto any = [](const recorded&) { return true; };
  const auto* started = next(event_type::system_started, any);
  REQUIRE(started);
  CHECK(started->stream == "fleet");
  CHECK(started->payload["mode"] == "spawn");
  CHECK(started->payload["supervisor"] == "supervisor");
  CHECK(started->payload["services"] == nlohmann::json::array({"example"}));
  const auto* s1 = next(event_type::service_started, [&](const recorded& e) { return e.payload["pid"] == pid1; });
  REQUIRE(s1);
  CHECK(s1->stream == "fleet.example");
  const auto* died = next(event_type::service_exited, [&](const recorded& e) { return e.payload["pid"] == pid1; });
  REQUIRE(died);
  CHECK(died->payload["signal"] == 9);
  CHECK(died->payload["exit_code"].is_null());
  CHECK(died->payload["reason"] == "killed by signal 9 (SIGKILL)");
  CHECK(died->payload["supervisor_stopping"] == false);
  const auto* restarted = next(event_type::service_restarted, any);
  REQUIRE(restarted);
  CHECK(restarted->stream == "fleet.example");
  CHECK(restarted->causation == died->id);  // caused by the death
  CHECK(restarted->payload["code"] == "SERVICE_RESTARTING");
  const auto* s2 = next(event_type::service_started, [&](const recorded& e) { return e.payload["pid"] == pid2; });
  REQUIRE(s2);
  const auto* last_exit = next(event_type::service_exited, [&](const recorded& e) { return e.payload["pid"] == pid2; });
  REQUIRE(last_exit);
  CHECK(last_exit->payload["supervisor_stopping"] == true);
  const auto* stopped = next(event_type::system_stopped, any);
  REQUIRE(stopped);
  CHECK(stopped->stream == "fleet");
  CHECK(stopped->payload["children_stopped"] == true);
  CHECK(&events.back() == stopped);

  // One run, one correlation id: SystemStarted's own id. The restart's alert is there too.
  for (const auto& e : events) CHECK(e.correlation == started->id);
  bool alert = false;
  for (const auto& e : events)
    if (e.type == event_type::alert_raised && e.payload["alert"]["code"] == "SERVICE_RESTARTING") {
      alert = true;
      CHECK(e.causation == died->id);
      CHECK(e.payload["alert"]["severity"] == "warning");
    }
  CHECK(alert);
}

TEST_CASE("a PostgreSQL outage raises LEDGER_UNAVAILABLE, recovery raises LEDGER_RECOVERED, nothing is lost") {
  pt::testing::postgres_server pg;  // private: this test stops it
  auto url = fresh_db(pg);
  ledger_run run;
  auto* alerts = run.bus->subscribe("alerts.>");
  run.start(url, {{"POLYTRADE__LEDGER__UNAVAILABLE_ALERT_AFTER", "300ms"},
                  {"POLYTRADE__LEDGER__RETRY_BACKOFF_MAX", "100ms"}});
  int pid1 = run.running_pid();
  INFO(run.sup->output());
  REQUIRE(pid1 > 0);

  pg.stop();
  // Events to write while PostgreSQL is down: the death and its restart.
  REQUIRE(::kill(pid1, SIGKILL) == 0);
  auto down = client::wait_for(
      alerts, [](const std::string&, const nlohmann::json& a) { return a.value("code", "") == "LEDGER_UNAVAILABLE"; }, 10s);
  REQUIRE(down);
  CHECK(down->first == "alerts.critical");
  CHECK(down->second["severity"] == "critical");
  CHECK(down->second["details"]["healthy"] == false);
  CHECK(down->second["details"]["queued"].get<int>() > 0);
  CHECK(down->second["details"]["unavailable_for_ms"].get<int>() >= 300);
  // The supervisor keeps supervising while the ledger is down.
  int pid2 = run.running_pid(pid1);
  CHECK(pid2 > 0);
  CHECK(run.sup->output().find("LEDGER UNAVAILABLE") != std::string::npos);

  pg.start();
  auto up = client::wait_for(
      alerts, [](const std::string&, const nlohmann::json& a) { return a.value("code", "") == "LEDGER_RECOVERED"; }, 10s);
  REQUIRE(up);
  CHECK(up->first == "alerts.info");
  CHECK(up->second["details"]["healthy"] == true);
  run.stop();

  auto events = read_ledger(url);
  INFO(describe(events));
  bool died = false, outage_alert = false, stopped = false;
  for (const auto& e : events) {
    died |= e.type == event_type::service_exited && e.payload["pid"] == pid1 && e.payload["signal"] == 9;
    outage_alert |= e.type == event_type::alert_raised && e.payload["alert"]["code"] == "LEDGER_UNAVAILABLE";
    stopped |= e.type == event_type::system_stopped;
  }
  CHECK(died);          // buffered through the outage
  CHECK(outage_alert);  // recorded late, but recorded
  CHECK(stopped);
  CHECK(run.sup->output().find("NOT recorded") == std::string::npos);
}

TEST_CASE("unreachable PostgreSQL at start: exit code 4 and one line naming the ledger, password redacted") {
  auto dir = pt::testing::make_temp_dir("pt-sup-nopg");
  write_file(dir + "/fleet.yaml", "services:\n  - name: example\n    command: /bin/true\n");
  int port = pt::testing::free_port();
  std::string url = "postgresql://bot:hunter2secret@127.0.0.1:" + std::to_string(port) + "/pt";
  child sup({SUPERVISOR_BIN, "--manifest", dir + "/fleet.yaml"},
            {{"DATABASE_URL", url}, {"NATS_URL", "nats://127.0.0.1:" + std::to_string(pt::testing::free_port())}},
            dir + "/out.log");
  auto rc = sup.wait(15s);
  INFO(sup.output());
  REQUIRE(rc);
  CHECK(*rc == 4);
  auto lines = lines_of(sup.output());
  REQUIRE(lines.size() == 1);
  CHECK(lines[0].find("ledger") != std::string::npos);
  CHECK(lines[0].find("postgresql://bot:***@127.0.0.1:" + std::to_string(port) + "/pt") != std::string::npos);
  CHECK(lines[0].find("DATABASE_URL") != std::string::npos);
  CHECK(sup.output().find("hunter2secret") == std::string::npos);
}

TEST_CASE("without a ledger the supervisor runs as before and says so once") {
  pt::testing::nats_server nats;
  auto dir = pt::testing::make_temp_dir("pt-sup-noledger");
  write_file(dir + "/fleet.yaml", kManifest);
  client c(nats.url());
  // An empty DATABASE_URL counts as unset (and keeps a CI-wide DATABASE_URL out of this test).
  child sup({SUPERVISOR_BIN, "--manifest", dir + "/fleet.yaml"}, {{"NATS_URL", nats.url()}, {"DATABASE_URL", ""}},
            dir + "/out.log");
  auto s = c.wait_status("example", [](const auto& j) { return j["state"] == "running"; }, 10s);
  INFO(sup.output());
  CHECK_FALSE(s.is_null());
  ::kill(sup.pid(), SIGTERM);
  REQUIRE(sup.wait(10s) == 0);
  CHECK(count_of(sup.output(), "no ledger configured") == 1);
}
