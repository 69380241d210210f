// Manifest parsing: defaults, overrides, and errors that name the key and its line.
#include "manifest.hpp"

#include <catch2/catch.hpp>

using namespace pt::supervisor;
using namespace std::chrono_literals;
using pt::config::document;

namespace {

manifest parse(const std::string& yaml, bool watch_only = false) {
  return parse_manifest(document::from_string(yaml, "fleet.yaml", {}), watch_only);
}

std::string error_of(const std::string& yaml, bool watch_only = false) {
  try {
    (void)parse(yaml, watch_only);
  } catch (const pt::config::error& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace

TEST_CASE("a manifest with defaults and per-service overrides") {
  auto m = parse(R"(
supervisor:
  tick: 20ms
  stop_timeout: 1s
  critical_down_after: 5s
defaults:
  heartbeat_timeout: 2s
  env: {SHARED: "1"}
  restart:
    backoff: {initial: 50ms, max: 1s, multiplier: 3}
    budget: {restarts: 4, window: 30s}
services:
  - name: example
    command: build/default/services/example/example
    args: [--config, services/example/example.yaml]
    env: {POLYTRADE__HEARTBEAT__INTERVAL: 200ms}
  - name: execution
    command: sleep
    args: ["3600"]
    critical: true
    heartbeat_timeout: 0
    restart: {budget: {restarts: 2}, hold_down: 10m}
)");
  CHECK_FALSE(m.watch_only);
  CHECK(m.tick == 20ms);
  CHECK(m.stop_timeout == 1s);
  CHECK(m.critical_down_after == 5s);
  REQUIRE(m.services.size() == 2);
  const auto& ex = m.services[0];
  CHECK(ex.name == "example");
  CHECK(ex.args == std::vector<std::string>{"--config", "services/example/example.yaml"});
  CHECK(ex.env.at("POLYTRADE__HEARTBEAT__INTERVAL") == "200ms");
  CHECK(ex.env.at("SHARED") == "1");
  CHECK_FALSE(ex.critical);
  CHECK(ex.heartbeat_timeout == 2s);
  CHECK(ex.start_timeout == 10s);
  CHECK(ex.restart.backoff_initial == 50ms);
  CHECK(ex.restart.backoff_max == 1s);
  CHECK(ex.restart.backoff_multiplier == 3.0);
  CHECK(ex.restart.budget_restarts == 4);
  CHECK(ex.restart.budget_window == 30s);
  const auto& exec = m.services[1];
  CHECK(exec.critical);
  CHECK(exec.heartbeat_timeout == 0ms);
  CHECK(exec.restart.budget_restarts == 2);
  CHECK(exec.restart.budget_window == 30s);  // from defaults
  CHECK(exec.restart.hold_down == 10min);
}

TEST_CASE("built-in defaults: 5 deaths in 60 s, backoff 100 ms doubling to 10 s") {
  auto m = parse("services:\n  - {name: a, command: /bin/true}\n");
  const auto& r = m.services.at(0).restart;
  CHECK(r.budget_restarts == 5);
  CHECK(r.budget_window == 60s);
  CHECK(r.backoff_initial == 100ms);
  CHECK(r.backoff_max == 10s);
  CHECK(r.backoff_multiplier == 2.0);
  CHECK(m.services[0].heartbeat_timeout == 3s);
}

TEST_CASE("watch-only comes from the manifest or the flag") {
  CHECK(parse("supervisor: {watch_only: true}\nservices: [{name: a, command: x}]\n").watch_only);
  CHECK(parse("services: [{name: a, command: x}]\n", true).watch_only);
}

TEST_CASE("manifest errors name the key, the file and line, and the reason") {
  CHECK(error_of(R"(services:
  - name: example
    command: a
  - name: other
    command: b
  - name: example
    command: c
)") == "config: services[2].name (fleet.yaml:6): duplicate service name 'example'");
  CHECK(error_of("services:\n  - name: a\n") == "config: services[0].command (fleet.yaml:2): is required but missing");
  CHECK(error_of("services:\n  - name: a\n    command: x\n    comand: y\n") ==
        "config: services[0].comand (fleet.yaml:4): unknown key (expected one of: args, command, critical, cwd, env, "
        "heartbeat_timeout, name, restart, start_timeout)");
  CHECK(error_of("services:\n  - name: a\n    command: x\n    restart: {backoff: {initial: soon}}\n") ==
        "config: services[0].restart.backoff.initial (fleet.yaml:4): expected a duration such as 250ms, 2s, 5m or 1h, "
        "got 'soon'");
  CHECK(error_of("services:\n  - name: a\n    command: x\n    restart: {budget: {restarts: 0}}\n") ==
        "config: services[0].restart.budget.restarts (fleet.yaml:4): must be between 1 and 10000, got 0");
  CHECK(error_of("defaults:\n  restart: {budget: {window: forever}}\nservices: [{name: a, command: x}]\n").find(
            "config: defaults.restart.budget.window (fleet.yaml:2)") == 0);
  CHECK(error_of("services:\n  - name: Bad.Name\n    command: x\n").find("config: services[0].name (fleet.yaml:2): 'Bad.Name' is not a valid service name") == 0);
  CHECK(error_of("services:\n  - name: a\n    command: x\n    restart: {backoff: {initial: 2s, max: 1s}}\n").find(
            "config: services[0].restart.backoff.max") == 0);
  CHECK(error_of("services: []\n") == "config: services (fleet.yaml:1): lists no service");
  CHECK(error_of("supervisor: {tick: 0ms}\nservices: [{name: a, command: x}]\n").find("config: supervisor.tick") == 0);
  CHECK(error_of("services:\n  - name: a\n    command: x\n    heartbeat_timeout: 0\n", true) ==
        "config: services[0].heartbeat_timeout (fleet.yaml:4): must be above 0 in watch-only mode: heartbeats are all "
        "the supervisor can see");
  CHECK(error_of("x: 1\n") == "config: services (default): is required but missing");
}

TEST_CASE("the sample manifest in the repository parses") {
  auto doc = document::load_file(SUPERVISOR_SOURCE_DIR "/fleet.example.yaml", {});
  auto m = parse_manifest(doc);
  CHECK_FALSE(m.services.empty());
}
