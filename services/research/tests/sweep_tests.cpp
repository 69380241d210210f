// The distributed sweep end to end, over the real servers: a private nats-server (JetStream) and
// PostgreSQL, `research` worker processes and the `polytrade sweep` command line.
//   * the same sweep on 1 worker and on 4 workers gives identical rows (results hash);
//   * a worker SIGKILLed in the middle of a job never acks it: the server redelivers it to
//     another worker after ack_wait, and the row records the second delivery;
//   * a job that cannot succeed is stored as failed, not redelivered, and the worker goes on.
// Recorded BTCUSDT 1h from ../shared/data; skipped with a WARN without it.
#include "sweep.hpp"

#include "replay/data_files.hpp"
#include "testing/servers.hpp"
#include "testing/service_process.hpp"

#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

namespace pt::research::test {

namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using namespace std::chrono_literals;

std::optional<std::string> data_dir() {
  const auto dir = replay::find_data_dir(fs::path(POLYTRADE_SOURCE_DIR) / ".." / "shared" / "data");
  if (!dir || !fs::exists(*dir / "freqtrade_marketlab" / "BTCUSDT_1h.csv")) return std::nullopt;
  return dir->string();
}

using testing::slurp;

using child = testing::service_process;

template <class F>
bool wait_until(F f, std::chrono::milliseconds limit) {
  const auto end = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < end) {
    if (f()) return true;
    std::this_thread::sleep_for(50ms);
  }
  return f();
}

struct fleet {
  testing::nats_server nats;
  std::string db, work;
  fleet(const std::string& name) {
    db = testing::postgres_server::shared().create_database(name);  // its URL
    work = testing::make_temp_dir("research-" + name);
  }
  std::string pg() const { return db; }
  std::vector<std::pair<std::string, std::string>> env(const std::string& extra_delay = "") const {
    std::vector<std::pair<std::string, std::string>> e{{"NATS_URL", nats.url()}, {"DATABASE_URL", pg()},
                                                       {"POLYTRADE_LOG_LEVEL", "info"}};
    if (!extra_delay.empty()) e.emplace_back("POLYTRADE__RESEARCH__JOB_DELAY", extra_delay);
    return e;
  }
  std::unique_ptr<child> worker(const std::string& name, std::vector<std::pair<std::string, std::string>> e) const {
    auto c = std::make_unique<child>(std::vector<std::string>{RESEARCH_BIN, "--name", name}, work + "/" + name + ".log", e);
    CHECK(c->wait_for("research worker ready", 30s));
    INFO(c->output());
    REQUIRE(c->running());
    return c;
  }
  // Runs `polytrade sweep` and returns its summary (stdout JSON).
  json sweep(const std::string& study_file, const std::string& id) const {
    const std::string out = work + "/out-" + id;
    const std::string cmd = std::string(POLYTRADE_BIN) + " sweep " + study_file + " --nats " + nats.url() + " --pg '" + pg() +
                            "' --sweep-id " + id + " --out " + out + " --timeout 600 > " + out + ".json 2> " + out + ".err";
    const int rc = std::system(cmd.c_str());
    INFO(slurp(out + ".err"));
    REQUIRE(rc == 0);
    return json::parse(slurp(out + ".json"));
  }
};

std::string write_study(const std::string& dir, const std::string& data, int budget, bool broken = false) {
  json doc{{"name", "sweep_test"},
           {"params_file", std::string(POLYTRADE_SOURCE_DIR) + "/libs/strategy/params/trend_following.v1.json"},
           {"data", {{"dir", data}, {"source", broken ? "no_such_source" : "freqtrade_marketlab"},
                     {"catalog", std::string(POLYTRADE_SOURCE_DIR) + "/docs/markets/binance-usdm.json"}}},
           {"symbols", {"BTCUSDT"}},
           {"timeframe", "1h"},
           {"start", "2025-03-01T00:00:00Z"},
           {"end", "2025-05-01T00:00:00Z"},
           {"space", json::array({{{"name", "initial_stop_atr"}, {"low", 1.5}, {"high", 3.0}},
                                  {{"name", "take_profit_atr"}, {"low", 2.0}, {"high", 5.0}}})},
           {"search", {{"method", "grid"}, {"budget", budget}}},
           {"constraints", {{"min_trades", 1}, {"max_drawdown", 0.5}}}};
  const std::string path = dir + (broken ? "/broken.json" : "/study.json");
  std::ofstream(path) << doc.dump(2);
  return path;
}

}  // namespace

TEST_CASE("the same sweep on 1 worker and on 4 workers gives identical results", "[sweep]") {
  const auto data = data_dir();
  if (!data) {
    WARN("no recorded data: skipped");
    return;
  }
  fleet f("research_scale");
  const auto study = write_study(f.work, *data, 3);  // 3 x 3 grid = 9 jobs

  json one;
  {
    auto w = f.worker("w1", f.env());
    one = f.sweep(study, "one");
  }
  CHECK(one["jobs"] == 9);
  CHECK(one["failed"] == 0);
  CHECK(one["workers"].size() == 1);

  json four;
  {
    std::vector<std::unique_ptr<child>> ws;
    for (int i = 0; i < 4; ++i) ws.push_back(f.worker("w4-" + std::to_string(i), f.env()));
    four = f.sweep(study, "four");
  }
  CHECK(four["jobs"] == 9);
  CHECK(four["failed"] == 0);
  CHECK(four["results_hash"] == one["results_hash"]);
  CHECK(four["best"] == one["best"]);
  if (four["workers"].size() < 2) WARN("every job of the 4-worker sweep went to one worker this time");

  // The rows themselves, read back from PostgreSQL: same results index by index.
  result_store store(f.pg());
  const auto a = store.rows("one"), b = store.rows("four");
  REQUIRE(a.size() == 9);
  REQUIRE(b.size() == 9);
  for (std::size_t i = 0; i < a.size(); ++i) {
    CHECK(a[i].index == i);
    CHECK(a[i].result == b[i].result);
  }
  CHECK(results_hash(a) == one["results_hash"].get<std::string>());

  // Re-running a finished sweep publishes duplicates the server drops and reads the same rows.
  auto w = f.worker("w-again", f.env());
  const auto again = f.sweep(study, "one");
  CHECK(again["results_hash"] == one["results_hash"]);
}

TEST_CASE("a worker killed in the middle of a job has its job redelivered to another", "[sweep]") {
  const auto data = data_dir();
  if (!data) {
    WARN("no recorded data: skipped");
    return;
  }
  fleet f("research_kill");
  const auto study = write_study(f.work, *data, 2);  // 2 x 2 grid = 4 jobs
  // Worker A creates the consumer with a 2 s ack wait and sits 60 s in every job: it is killed
  // in the first one. B starts only then.
  auto env_a = f.env("60s");
  env_a.emplace_back("POLYTRADE__RESEARCH__ACK_WAIT", "2s");
  auto a = f.worker("victim", env_a);
  const std::string out = f.work + "/out-kill";
  child sweep({POLYTRADE_BIN, "sweep", study, "--nats", f.nats.url(), "--pg", f.pg(), "--sweep-id", "kill", "--out", out,
               "--timeout", "300"},
              out + ".log");
  REQUIRE(a->wait_for("research job started", 30s));
  a->kill_hard();
  // Same ack wait: a worker binding the durable updates its config to its own (bus.cpp).
  auto env_b = f.env();
  env_b.emplace_back("POLYTRADE__RESEARCH__ACK_WAIT", "2s");
  auto b = f.worker("rescuer", env_b);
  REQUIRE(wait_until([&] { return fs::exists(out + "/metrics.json"); }, 120s));
  std::this_thread::sleep_for(200ms);  // the file is written, then flushed
  const auto summary = json::parse(slurp(out + "/metrics.json"));
  CHECK(summary["jobs"] == 4);
  CHECK(summary["failed"] == 0);
  CHECK(summary["redelivered"].get<int>() >= 1);
  result_store store(f.pg());
  const auto rows = store.rows("kill");
  REQUIRE(rows.size() == 4);
  for (const auto& r : rows) {
    CHECK(r.worker == "rescuer");  // the victim never finished one
    CHECK(r.status == "done");
  }
  CHECK(b->output().find("research job redelivered") != std::string::npos);
}

TEST_CASE("a job that cannot succeed is stored as failed and the worker goes on", "[sweep]") {
  const auto data = data_dir();
  if (!data) {
    WARN("no recorded data: skipped");
    return;
  }
  fleet f("research_fail");
  const auto broken = write_study(f.work, *data, 2, true);  // a data source that does not exist
  auto w = f.worker("w", f.env());
  const std::string out = f.work + "/out-broken";
  const std::string cmd = std::string(POLYTRADE_BIN) + " sweep " + broken + " --nats " + f.nats.url() + " --pg '" + f.pg() +
                          "' --sweep-id broken --out " + out + " --timeout 120 > " + out + ".json 2>&1";
  CHECK(std::system(cmd.c_str()) != 0);  // failed jobs: exit 1
  result_store store(f.pg());
  const auto rows = store.rows("broken");
  REQUIRE(rows.size() == 4);
  for (const auto& r : rows) {
    CHECK(r.status == "failed");
    CHECK(r.deliveries == 1);  // terminated, not redelivered
    CHECK(r.result["error"].get<std::string>().find("no_such_source") != std::string::npos);
  }
  // The same worker still serves a good sweep.
  const auto good = f.sweep(write_study(f.work, *data, 2), "good");
  CHECK(good["failed"] == 0);
  CHECK(w->running());
}

}  // namespace pt::research::test
