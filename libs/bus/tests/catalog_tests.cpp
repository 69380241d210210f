// proto/: the catalog, the schemas and the human page must agree; matching and validation.
#include "bus/bus.hpp"
#include "bus/catalog.hpp"

#include <catch2/catch.hpp>
#include <valijson/adapters/nlohmann_json_adapter.hpp>
#include <valijson/schema.hpp>
#include <valijson/schema_parser.hpp>

#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>

using nlohmann::json;
namespace fs = std::filesystem;

namespace {
const std::string proto = POLYTRADE_PROTO_DIR;

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}
}  // namespace

TEST_CASE("catalog: every schema file is a valid draft-7 schema and is used", "[catalog]") {
  auto index = json::parse(slurp(proto + "/subjects.json"));
  std::set<std::string> referenced;
  for (auto& e : index["subjects"]) {
    referenced.insert(e["schema"].get<std::string>());
    if (e.contains("reply_schema")) referenced.insert(e["reply_schema"].get<std::string>());
  }
  std::set<std::string> files;
  for (auto& f : fs::directory_iterator(proto + "/schemas")) {
    files.insert(f.path().filename().string());
    INFO(f.path().string());
    json doc = json::parse(slurp(f.path().string()));  // throws on bad JSON
    CHECK(doc["$schema"] == "http://json-schema.org/draft-07/schema#");
    CHECK(doc["type"] == "object");
    CHECK(doc.contains("required"));
    CHECK(doc.contains("description"));
    valijson::Schema schema;
    valijson::SchemaParser parser(valijson::SchemaParser::kDraft7);
    valijson::adapters::NlohmannJsonAdapter adapter(doc);
    CHECK_NOTHROW(parser.populateSchema(adapter, schema));
  }
  CHECK(files == referenced);  // no missing schema, no orphan
}

TEST_CASE("catalog: loads, and the README lists exactly the subjects of subjects.json", "[catalog]") {
  auto cat = pt::bus::catalog::load(proto);
  auto readme = slurp(proto + "/README.md");
  std::set<std::string> in_readme;
  std::regex row(R"(^\| `([^`]+)` \| \[([^\]]+)\])");
  std::istringstream lines(readme);
  for (std::string line; std::getline(lines, line);) {
    std::smatch m;
    if (std::regex_search(line, m, row)) in_readme.insert(m[1]);
  }
  std::set<std::string> in_catalog;
  for (auto& e : cat->entries()) {
    in_catalog.insert(e.pattern);
    INFO(e.pattern);
    CHECK(readme.find("[" + e.schema + "](schemas/" + e.schema + ")") != std::string::npos);
    if (!e.reply_schema.empty())
      CHECK(readme.find("[" + e.reply_schema + "](schemas/" + e.reply_schema + ")") != std::string::npos);
    CHECK_FALSE(e.producer.empty());
    CHECK_FALSE(e.consumers.empty());
  }
  CHECK(in_readme == in_catalog);
  CHECK(in_catalog.size() == cat->entries().size());  // no duplicate patterns
}

TEST_CASE("catalog: covers the subjects of the architecture", "[catalog]") {
  auto cat = pt::bus::catalog::load(proto);
  for (const char* s :
       {"md.binance.btcusdt.trade", "md.binance.btcusdt.book", "md.poloniex.btc_usdt_perp.ticker", "md.sim.x.mark",
        "md.sim.x.funding", "md.sim.x.bar.1m", "news.item", "news.classified", "news.risk.btc", "signal.trend.btcusdt",
        "trade.proposed", "risk.decision.approved", "risk.decision.rejected", "risk.breaker.daily_loss",
        "risk.killswitch", "exec.order.filled", "exec.fill", "exec.position.btcusdt", "exec.reconciliation",
        "ctl.autonomous.enable", "ctl.autonomous.disable", "ctl.autonomous.status", "ctl.killswitch.trigger",
        "ctl.killswitch.reset", "ctl.trading.safe_stop", "ctl.reconciliation.ack", "ctl.supervisor.status",
        "health.heartbeat.supervisor", "metrics.risk", "alerts.critical", "research.jobs", "research.results.job-1"}) {
    INFO(s);
    CHECK(cat->find(s) != nullptr);
  }
  CHECK(cat->find("md.binance.btcusdt") == nullptr);
  CHECK(cat->find("unknown") == nullptr);
  CHECK(cat->find("ctl.supervisor.status")->reply_schema == "ctl.supervisor.status.reply.json");
  CHECK(cat->find("trade.proposed")->mode == pt::bus::delivery::jetstream);
  CHECK(cat->find("md.a.b.trade")->mode == pt::bus::delivery::core);
}

TEST_CASE("catalog: the fleet streams hold exactly the jetstream events, each subject in one stream", "[catalog]") {
  auto cat = pt::bus::catalog::load(proto);
  auto index = json::parse(slurp(proto + "/subjects.json"));
  std::map<std::string, int> owners;  // catalog subject pattern -> how many streams hold it
  for (const auto& st : pt::bus::fleet_streams())
    for (const auto& s : st.subjects) {
      INFO(st.name << " " << s);
      const auto* e = cat->find(s);
      REQUIRE(e != nullptr);
      CHECK(e->mode == pt::bus::delivery::jetstream);
      ++owners[s];
    }
  for (auto& e : index["subjects"]) {
    auto subject = e["subject"].get<std::string>();
    // ctl.* are request/reply (the reply is the acknowledgement, the ledger the record); a
    // stream capturing them would answer the request itself. research.jobs has its own
    // work-queue stream (the research workers').
    if (e["delivery"] != "jetstream" || subject.rfind("ctl.", 0) == 0 || subject == "research.jobs") continue;
    INFO(subject);
    CHECK(owners[subject] == 1);
  }
}

TEST_CASE("catalog: subject matching follows NATS wildcards", "[catalog]") {
  using pt::bus::subject_matches;
  CHECK(subject_matches("a.b", "a.b"));
  CHECK_FALSE(subject_matches("a.b", "a.b.c"));
  CHECK(subject_matches("a.*", "a.b"));
  CHECK_FALSE(subject_matches("a.*", "a"));
  CHECK_FALSE(subject_matches("a.*", "a.b.c"));
  CHECK(subject_matches("a.>", "a.b.c"));
  CHECK_FALSE(subject_matches("a.>", "a"));
  CHECK(subject_matches("md.*.*.bar.*", "md.v.s.bar.1h"));
  CHECK_FALSE(subject_matches("md.*.*.bar.*", "md.v.s.trade"));
  CHECK_FALSE(subject_matches("a.*", "a."));
}

TEST_CASE("catalog: validation reports the failing path, decimals are strings", "[catalog]") {
  auto cat = pt::bus::catalog::load(proto);
  json hb = {{"service", "risk"}, {"instance", "risk-1"}, {"pid", 7},          {"seq", 1},
             {"ts", "2026-11-21T10:00:00Z"}, {"status", "ok"}, {"uptime_s", 3}};
  CHECK_FALSE(cat->validate("health.heartbeat.risk", hb));
  auto bad = hb;
  bad["status"] = "sleepy";
  auto why = cat->validate("health.heartbeat.risk", bad);
  REQUIRE(why);
  CHECK(why->find("[status]") != std::string::npos);
  bad = hb;
  bad["ts"] = "2026-11-21 10:00";
  CHECK(cat->validate("health.heartbeat.risk", bad));

  json trade = {{"venue", "binance"}, {"symbol", "BTCUSDT"}, {"ts", "2026-11-21T10:00:00.5Z"}, {"trade_id", "t1"},
                {"price", "42000.10"}, {"qty", "0.001"},     {"side", "sell"}};
  CHECK_FALSE(cat->validate("md.binance.btcusdt.trade", trade));
  trade["price"] = 42000.1;
  why = cat->validate("md.binance.btcusdt.trade", trade);
  REQUIRE(why);
  CHECK(why->find("[price]") != std::string::npos);
  trade["price"] = "4.2e4";
  CHECK(cat->validate("md.binance.btcusdt.trade", trade));

  CHECK(cat->validate("no.such", json::object())->find("not in proto/subjects.json") != std::string::npos);
  CHECK(cat->validate_reply("health.heartbeat.x", json::object())->find("no reply_schema") != std::string::npos);
  CHECK_FALSE(cat->validate("ctl.supervisor.status", json::object()));
  CHECK_FALSE(cat->validate_reply("ctl.supervisor.status",
                                  {{"mode", "watch"}, {"ts", "2026-11-21T10:00:00Z"}, {"services", json::array()}}));
}

TEST_CASE("catalog: a missing or broken proto dir is a clear error", "[catalog]") {
  CHECK_THROWS_WITH(pt::bus::catalog::load("/nonexistent"), Catch::Contains("cannot read /nonexistent/subjects.json"));
}
