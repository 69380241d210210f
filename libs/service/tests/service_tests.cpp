// pt::service::parse: arguments, config and names; heartbeat payloads match proto/.
#include "bus/catalog.hpp"
#include "service/service.hpp"
#include "testing/servers.hpp"

#include <catch2/catch.hpp>

#include <fstream>

using namespace std::chrono_literals;
using pt::service::context;
using pt::service::options;
using pt::service::parse;

namespace {

context parse_args(std::vector<std::string> args, const options& opt, const pt::config::env_map& env = {}) {
  args.insert(args.begin(), "/opt/polytrade/bin/example");
  std::vector<const char*> argv;
  for (const auto& a : args) argv.push_back(a.c_str());
  return parse(static_cast<int>(argv.size()), argv.data(), opt, env);
}

options example_opts() {
  options o;
  o.default_name = "example";
  o.flags = {"--crash"};
  return o;
}

std::string write_config(const std::string& text) {
  auto dir = pt::testing::make_temp_dir("pt-service");
  std::ofstream(dir + "/svc.yaml") << text;
  return dir + "/svc.yaml";
}

template <class F>
std::string what_of(F&& f) {
  try {
    f();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace

TEST_CASE("without arguments a service runs on defaults") {
  auto ctx = parse_args({}, example_opts());
  CHECK(ctx.name == "example");
  CHECK(ctx.config_path.empty());
  CHECK(ctx.heartbeat_interval == 1s);
  CHECK(ctx.log_level == pt::log::level::info);
  CHECK(ctx.flags.empty());
}

TEST_CASE("the name comes from --name, else service.name (the supervisor's env), else the default") {
  pt::config::env_map env{{"POLYTRADE__SERVICE__NAME", "example-2"}};
  CHECK(parse_args({}, example_opts(), env).name == "example-2");
  CHECK(parse_args({"--name", "example-3"}, example_opts(), env).name == "example-3");
  CHECK(parse_args({"--name=example-4"}, example_opts()).name == "example-4");
  CHECK(what_of([] { (void)parse_args({"--name", "Bad.Name"}, example_opts()); }).find("--name: 'Bad.Name' is not a valid service name") == 0);
}

TEST_CASE("config file values, environment overrides and flags") {
  auto path = write_config("heartbeat:\n  interval: 250ms\nlog:\n  level: warn\n");
  auto ctx = parse_args({"--config", path, "--crash"}, example_opts());
  CHECK(ctx.config_path == path);
  CHECK(ctx.heartbeat_interval == 250ms);
  CHECK(ctx.log_level == pt::log::level::warn);
  CHECK(ctx.flag("--crash"));
  auto env_ctx = parse_args({"--config=" + path, "--log-level", "debug"}, example_opts(),
                            {{"POLYTRADE__HEARTBEAT__INTERVAL", "2s"}});
  CHECK(env_ctx.heartbeat_interval == 2s);
  CHECK(env_ctx.log_level == pt::log::level::debug);
}

TEST_CASE("bad arguments and bad config are one-line errors naming the problem") {
  auto o = example_opts();
  CHECK(what_of([&] { (void)parse_args({"--frobnicate"}, o); }).find("unknown argument '--frobnicate' (usage: example") == 0);
  CHECK(what_of([&] { (void)parse_args({"--config"}, o); }).find("--config needs a value") == 0);
  CHECK(what_of([&] { (void)parse_args({"--log-level", "loud"}, o); }).find("--log-level: expected debug, info, warn or error") == 0);
  CHECK(what_of([&] { (void)parse_args({"stray"}, o); }).find("unknown argument 'stray'") == 0);
  CHECK(what_of([&] { (void)parse_args({"--config", "/nonexistent/x.yaml"}, o); }) ==
        "/nonexistent/x.yaml: config: cannot open file: No such file or directory");
  auto bad = write_config("heartbeat:\n  interval: 5ms\n");
  CHECK(what_of([&] { (void)parse_args({"--config", bad}, o); }) ==
        "config: heartbeat.interval (" + bad + ":2): must be between 10ms and 60000ms, got '5ms'");
  auto typo = write_config("heartbeat:\n  intervall: 1s\n");
  CHECK(what_of([&] { (void)parse_args({"--config", typo}, o); }).find("config: heartbeat.intervall (") == 0);
  options required = o;
  required.config_flag = "--manifest";
  required.config_required = true;
  CHECK(what_of([&] { (void)parse_args({}, required); }).find("--manifest FILE is required") == 0);
  CHECK_THROWS_AS(parse_args({"--help"}, o), pt::service::help_requested);
}

TEST_CASE("the heartbeat payload satisfies proto/schemas/health.heartbeat.json") {
  auto cat = pt::bus::catalog::load(POLYTRADE_PROTO_DIR);
  auto ctx = parse_args({}, example_opts());
  for (const char* status : {"ok", "degraded", "stopping"}) {
    auto body = pt::service::heartbeat_body(ctx, 7, status);
    INFO(body.dump());
    CHECK(cat->validate("health.heartbeat.example", body) == std::nullopt);
    CHECK(body["seq"] == 7);
    CHECK(body["status"] == status);
  }
  auto bad = pt::service::heartbeat_body(ctx, 1, "fine");
  CHECK(cat->validate("health.heartbeat.example", bad) != std::nullopt);  // the check can fail
}
