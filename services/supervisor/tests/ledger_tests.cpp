// The supervisor with a ledger: the real supervisor and example binaries, a real nats-server
// and a real PostgreSQL; the test reads back what the supervisor recorded.
#include "harness.hpp"
#include "ledger/store.hpp"
#include "testing/servers.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <filesystem>

using namespace pt::supervisor::harness;
using pt::ledger::event_type;

namespace {

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

}  // namespace

TEST_CASE("with DATABASE_URL the supervisor records the fleet's life in the ledger, in order") {
  auto url = fresh_db(pt::testing::postgres_server::shared());
  supervisor_run run;
  run.start(kManifest, {{"DATABASE_URL", url}});
  int pid1 = run.running_pid("example");
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
  int pid2 = run.running_pid("example", pid1);
  REQUIRE(pid2 > 0);
  REQUIRE(run.stop(15s) == 0);
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
  supervisor_run run;
  auto* alerts = run.bus->subscribe("alerts.>");
  run.start(kManifest, {{"DATABASE_URL", url},
                        {"POLYTRADE__LEDGER__UNAVAILABLE_ALERT_AFTER", "300ms"},
                        {"POLYTRADE__LEDGER__RETRY_BACKOFF_MAX", "100ms"}});
  int pid1 = run.running_pid("example");
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
  int pid2 = run.running_pid("example", pid1);
  CHECK(pid2 > 0);
  CHECK(run.sup->output().find("LEDGER UNAVAILABLE") != std::string::npos);

  pg.start();
  auto up = client::wait_for(
      alerts, [](const std::string&, const nlohmann::json& a) { return a.value("code", "") == "LEDGER_RECOVERED"; }, 10s);
  REQUIRE(up);
  CHECK(up->first == "alerts.info");
  CHECK(up->second["details"]["healthy"] == true);
  REQUIRE(run.stop(15s) == 0);

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

TEST_CASE("events the ledger cannot write by exit go to a spill file, SystemStopped last, and an error names it") {
  pt::testing::postgres_server pg;  // private: this test stops it
  auto url = fresh_db(pg);
  supervisor_run run;
  std::string spill = run.dir + "/spill";
  std::filesystem::create_directories(spill);
  run.start("supervisor: {ledger_drain: 300ms, spill_dir: " + spill + "}\n" + kManifest,
            {{"DATABASE_URL", url}, {"POLYTRADE__LEDGER__RETRY_BACKOFF_MAX", "50ms"}});
  int pid = run.running_pid("example");
  INFO(run.sup->output());
  REQUIRE(pid > 0);
  pg.stop();
  // Stopping now records ServiceExited and SystemStopped, which cannot reach PostgreSQL.
  REQUIRE(run.stop(15s) == 0);

  std::vector<std::filesystem::path> files;
  for (const auto& f : std::filesystem::directory_iterator(spill)) files.push_back(f.path());
  REQUIRE(files.size() == 1);
  auto name = files[0].filename().string();
  CHECK(name.rfind("supervisor-unwritten-", 0) == 0);
  auto lines = lines_of(read_file(files[0].string()));
  REQUIRE(lines.size() >= 2);
  std::vector<nlohmann::json> events;
  for (const auto& l : lines) events.push_back(nlohmann::json::parse(l));
  const auto& run_id = events.front()["correlation_id"];
  CHECK(name == "supervisor-unwritten-" + run_id.get<std::string>() + ".jsonl");
  bool exited = false;
  for (const auto& e : events) {
    CHECK(e["correlation_id"] == run_id);
    CHECK(pt::ledger::is_uuid(e["event_id"].get<std::string>()));
    exited |= e["type"] == "ServiceExited" && e["payload"]["pid"] == pid && e["payload"]["supervisor_stopping"] == true;
  }
  CHECK(exited);
  CHECK(events.back()["type"] == "SystemStopped");
  CHECK(events.back()["stream_id"] == "fleet");
  CHECK(events.back()["payload"]["children_stopped"] == true);

  // One error line names the file and the count.
  bool logged = false;
  for (const auto& l : lines_of(run.sup->output())) {
    auto j = nlohmann::json::parse(l, nullptr, false);
    if (j.is_discarded() || j.value("msg", "").find("spilled to a file") == std::string::npos) continue;
    logged = true;
    CHECK(j["file"] == files[0].string());
    CHECK(j["count"] == events.size());
  }
  CHECK(logged);
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
