// Parameter sets and the promotion gate: the gate's truth table (each check failing alone, all
// passing, no metrics), the file name and content hash by hand, the JSON round trip and its
// strictness, versioned saves into a fresh directory that never overwrite, picking the latest
// (promotable) set, and the data hash.
#include "backtest/paramset.hpp"

#include "strategy/params.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

namespace pt::backtest::test {

namespace {

namespace fs = std::filesystem;
using core::decimal;
using core::timestamp;

metrics passing_metrics() {
  metrics m;
  m.profit_factor = 1.5;
  m.sharpe = 1.4;
  m.max_drawdown = 0.1;
  m.trades = 30;
  return m;
}

bool has_reason(const promotion_verdict& v, const std::string& line) {
  return std::find(v.reasons.begin(), v.reasons.end(), line) != v.reasons.end();
}

std::size_t failures(const promotion_verdict& v) {
  return static_cast<std::size_t>(std::count_if(v.reasons.begin(), v.reasons.end(),
                                                [](const std::string& r) { return r.rfind("fail: ", 0) == 0; }));
}

nlohmann::json strategy_doc(const std::string& name) {
  std::ifstream in(std::string(POLYTRADE_SOURCE_DIR) + "/libs/strategy/params/" + name + ".v1.json");
  REQUIRE(in);
  return nlohmann::json::parse(in);
}

parameter_set sample_set() {
  parameter_set s;
  s.strategy = "trend_following";
  s.created = "2025-07-14";
  s.params = strategy_doc("trend_following");
  s.data_hash = "0123456789abcdef";
  const std::vector<equity_point> curve{{timestamp::from_millis(1735689600000LL), decimal::from_integer(10000)},
                                        {timestamp::from_millis(1735693200000LL), decimal::from_integer(10100)},
                                        {timestamp::from_millis(1735696800000LL), decimal::from_integer(10050)}};
  s.metrics = to_json(compute_metrics(curve, {}));
  s.metrics["note"] = "walk-forward 2025-01..06";
  s.verdict = evaluate_promotion(passing_metrics());
  s.hash = parameter_set_hash(s);
  return s;
}

// A fresh, empty directory under the system temp dir, removed at scope exit.
struct temp_dir {
  fs::path path;
  temp_dir() {
    static std::atomic<int> counter{0};
    std::random_device rd;
    for (;;) {
      path = fs::temp_directory_path() /
             ("pt-paramset-" + std::to_string(rd()) + "-" + std::to_string(counter++));
      if (fs::create_directory(path)) break;
    }
  }
  ~temp_dir() {
    std::error_code ignored;
    fs::remove_all(path, ignored);
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
};

symbol_data sample_data() {
  symbol_data d;
  d.symbol = "BTCUSDT";
  for (int i = 0; i < 3; ++i) {
    replay::bar b;
    b.open_time_ms = 1735689600000LL + i * 3600000LL;
    b.open = decimal::parse("94000.1");
    b.high = decimal::parse("94500");
    b.low = decimal::parse("93800.5");
    b.close = decimal::from_integer(94200 + i);
    b.volume = decimal::parse("123.456");
    d.bars.push_back(b);
  }
  d.funding.push_back({1735689600000LL, decimal::parse("0.0001"), decimal::parse("94000")});
  return d;
}

}  // namespace

TEST_CASE("promotion gate passes when every check passes", "[paramset]") {
  const auto v = evaluate_promotion(passing_metrics());
  CHECK(v.promotable);
  REQUIRE(v.reasons.size() == 4);
  CHECK(failures(v) == 0);
  CHECK(v.reasons[0] == "pass: profit factor 1.5 > 1.2");
  CHECK(v.reasons[1] == "pass: sharpe 1.4 > 1");
  CHECK(v.reasons[2] == "pass: max drawdown 0.1 <= 0.25");
  CHECK(v.reasons[3] == "pass: trades 30 >= 20");
  // The limits themselves: drawdown 0.25 and 20 trades pass (<= and >=).
  auto m = passing_metrics();
  m.max_drawdown = 0.25;
  m.trades = 20;
  CHECK(evaluate_promotion(m).promotable);
}

TEST_CASE("promotion gate fails on each check alone", "[paramset]") {
  SECTION("profit factor") {
    auto m = passing_metrics();
    m.profit_factor = 0.91;
    const auto v = evaluate_promotion(m);
    CHECK_FALSE(v.promotable);
    CHECK(failures(v) == 1);
    CHECK(has_reason(v, "fail: profit factor 0.91 <= 1.2"));
    m.profit_factor = 1.2;  // strictly greater is required
    CHECK_FALSE(evaluate_promotion(m).promotable);
  }
  SECTION("profit factor undefined") {
    auto m = passing_metrics();
    m.profit_factor.reset();
    const auto v = evaluate_promotion(m);
    CHECK_FALSE(v.promotable);
    CHECK(failures(v) == 1);
    CHECK(has_reason(v, "fail: profit factor undefined (no losing trade)"));
  }
  SECTION("sharpe") {
    auto m = passing_metrics();
    m.sharpe = 1.0;
    const auto v = evaluate_promotion(m);
    CHECK_FALSE(v.promotable);
    CHECK(failures(v) == 1);
    CHECK(has_reason(v, "fail: sharpe 1 <= 1"));
  }
  SECTION("sharpe undefined") {
    auto m = passing_metrics();
    m.sharpe.reset();
    const auto v = evaluate_promotion(m);
    CHECK_FALSE(v.promotable);
    CHECK(failures(v) == 1);
    CHECK(has_reason(v, "fail: sharpe undefined (fewer than 2 returns)"));
  }
  SECTION("max drawdown") {
    auto m = passing_metrics();
    m.max_drawdown = 0.31;
    const auto v = evaluate_promotion(m);
    CHECK_FALSE(v.promotable);
    CHECK(failures(v) == 1);
    CHECK(has_reason(v, "fail: max drawdown 0.31 > 0.25"));
  }
  SECTION("trades") {
    auto m = passing_metrics();
    m.trades = 19;
    const auto v = evaluate_promotion(m);
    CHECK_FALSE(v.promotable);
    CHECK(failures(v) == 1);
    CHECK(has_reason(v, "fail: trades 19 < 20"));
  }
  SECTION("custom rule") {
    promotion_rule r;
    r.min_trades = 31;
    CHECK_FALSE(evaluate_promotion(passing_metrics(), r).promotable);
    r.min_trades = 30;
    CHECK(evaluate_promotion(passing_metrics(), r).promotable);
  }
}

TEST_CASE("promotion gate fails without out-of-sample metrics", "[paramset]") {
  const auto v = evaluate_promotion(std::nullopt);
  CHECK_FALSE(v.promotable);
  REQUIRE(v.reasons.size() == 1);
  CHECK(v.reasons[0] == "fail: no out-of-sample metrics");
}

TEST_CASE("parameter set content hash and file name by hand", "[paramset]") {
  parameter_set s;
  s.strategy = "x";
  s.params = {{"b", 2}, {"a", 1.5}};
  s.data_hash = "abc";
  s.created = "2025-07-14";
  s.version = 3;
  // Keys sorted at every level, compact: the canonical text.
  const std::string canonical = R"({"data_hash":"abc","params":{"a":1.5,"b":2},"strategy":"x"})";
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(fnv1a_64(canonical)));
  CHECK(parameter_set_hash(s) == hex);
  CHECK(parameter_set_filename(s) == "model_v3_20250714_" + std::string(hex) + ".json");
  // Version, date, metrics and verdict are not content.
  auto t = s;
  t.version = 9;
  t.created = "2026-01-02";
  t.metrics["sharpe"] = 2.0;
  t.verdict.promotable = true;
  CHECK(parameter_set_hash(t) == parameter_set_hash(s));
  CHECK(parameter_set_filename(t) == "model_v9_20260102_" + std::string(hex) + ".json");
  t.params["a"] = 1.25;
  CHECK(parameter_set_hash(t) != parameter_set_hash(s));
  // Nothing to name yet, or no date.
  t.version = 0;
  CHECK_THROWS_AS(parameter_set_filename(t), std::invalid_argument);
  t.version = 1;
  t.created = "2025-7-14";
  CHECK_THROWS_AS(parameter_set_filename(t), std::invalid_argument);
  t.created = "2025-13-01";
  CHECK_THROWS_AS(parameter_set_filename(t), std::invalid_argument);
}

TEST_CASE("parameter set JSON round trip is exact", "[paramset]") {
  auto s = sample_set();
  s.version = 4;
  const auto j = to_json(s);
  CHECK(parameter_set_from_json(j) == s);
  // Through text, as on disk.
  const auto back = parameter_set_from_json(nlohmann::json::parse(j.dump(2)));
  CHECK(back == s);
  CHECK(to_json(back).dump() == j.dump());
  // The stored params are a valid libs/strategy document.
  CHECK(strategy::strategy_name(strategy::parse_params(back.params)) == "trend_following");
}

TEST_CASE("parameter set from JSON rejects a missing or bad field", "[paramset]") {
  const auto j = to_json(sample_set());
  for (const char* key : {"version", "strategy", "created", "params", "data_hash", "metrics", "verdict", "hash"}) {
    auto k = j;
    k.erase(key);
    CHECK_THROWS_WITH(parameter_set_from_json(k), Catch::Matchers::Contains(std::string("'") + key + "'"));
  }
  auto k = j;
  k["verdict"].erase("promotable");
  CHECK_THROWS_WITH(parameter_set_from_json(k), Catch::Matchers::Contains("'verdict.promotable'"));
  k = j;
  k["extra"] = 1;
  CHECK_THROWS_WITH(parameter_set_from_json(k), Catch::Matchers::Contains("'extra'"));
  k = j;
  k["version"] = "1";
  CHECK_THROWS_WITH(parameter_set_from_json(k), Catch::Matchers::Contains("'version'"));
  k = j;
  k["created"] = "14.07.2025";
  CHECK_THROWS_WITH(parameter_set_from_json(k), Catch::Matchers::Contains("'created'"));
  k = j;
  k["strategy"] = "mean_reversion";  // params.strategy says trend_following
  CHECK_THROWS_WITH(parameter_set_from_json(k), Catch::Matchers::Contains("'strategy'"));
  k = j;
  k["params"]["initial_stop_atr"] = 2.75;  // edited by hand: the hash no longer matches
  CHECK_THROWS_WITH(parameter_set_from_json(k), Catch::Matchers::Contains("'hash'"));
  CHECK_THROWS_AS(parameter_set_from_json(nlohmann::json::array()), std::invalid_argument);
}

TEST_CASE("save_parameter_set numbers versions and keeps the content hash", "[paramset]") {
  const temp_dir tmp;
  const auto dir = (tmp.path / "models").string();  // created by the first save
  auto s = sample_set();
  s.hash.clear();  // save computes it
  const auto p1 = save_parameter_set(dir, s);
  const auto p2 = save_parameter_set(dir, s);
  const auto n1 = fs::path(p1).filename().string(), n2 = fs::path(p2).filename().string();
  const auto h = parameter_set_hash(s);
  CHECK(n1 == "model_v1_20250714_" + h + ".json");
  CHECK(n2 == "model_v2_20250714_" + h + ".json");  // same content, same hash, next version
  CHECK(fs::exists(p1));
  CHECK(fs::exists(p2));
  auto changed = s;
  changed.params["initial_stop_atr"] = 2.5;
  const auto p3 = save_parameter_set(dir, changed);
  CHECK(fs::path(p3).filename().string().rfind("model_v3_20250714_", 0) == 0);
  CHECK(fs::path(p3).filename().string() != "model_v3_20250714_" + h + ".json");
  // Only the three files: no temporary left behind.
  CHECK(std::distance(fs::directory_iterator(dir), fs::directory_iterator{}) == 3);
  // What is on disk reads back as what was saved, versioned and hashed.
  std::ifstream in(p1);
  const auto loaded = parameter_set_from_json(nlohmann::json::parse(in));
  auto expected = s;
  expected.version = 1;
  expected.hash = h;
  CHECK(loaded == expected);
  // Versions count every model_v{N} file in the directory, whatever its strategy.
  {
    std::ofstream other(fs::path(dir) / "model_v7_20250101_0000000000000000.json");
    other << "{}";
  }
  const auto p8 = save_parameter_set(dir, s);
  CHECK(fs::path(p8).filename().string() == "model_v8_20250714_" + h + ".json");
  // A bad set is refused before anything is written.
  auto bad = s;
  bad.created = "yesterday";
  CHECK_THROWS_AS(save_parameter_set(dir, bad), std::invalid_argument);
  bad = s;
  bad.strategy.clear();
  CHECK_THROWS_AS(save_parameter_set(dir, bad), std::invalid_argument);
  CHECK(std::distance(fs::directory_iterator(dir), fs::directory_iterator{}) == 5);
}

TEST_CASE("load_latest_parameter_set picks the highest version and respects promotable_only", "[paramset]") {
  const temp_dir tmp;
  const auto dir = tmp.path.string();
  CHECK_FALSE(load_latest_parameter_set((tmp.path / "absent").string(), "trend_following", false));
  CHECK_FALSE(load_latest_parameter_set(dir, "", false));

  auto trend = sample_set();
  trend.verdict = evaluate_promotion(passing_metrics());
  save_parameter_set(dir, trend);  // v1, promotable
  auto weak = trend;
  weak.params["take_profit_atr"] = 4.0;
  auto m = passing_metrics();
  m.sharpe = 0.5;
  weak.verdict = evaluate_promotion(m);
  REQUIRE_FALSE(weak.verdict.promotable);
  save_parameter_set(dir, weak);  // v2, not promotable
  parameter_set mr;
  mr.strategy = "mean_reversion";
  mr.created = "2025-07-15";
  mr.params = strategy_doc("mean_reversion");
  mr.data_hash = trend.data_hash;
  mr.verdict = evaluate_promotion(passing_metrics());
  save_parameter_set(dir, mr);  // v3, promotable, another strategy

  auto latest = load_latest_parameter_set(dir, "trend_following", false);
  REQUIRE(latest);
  CHECK(latest->version == 2);
  CHECK(latest->params["take_profit_atr"] == 4.0);
  CHECK_FALSE(latest->verdict.promotable);
  latest = load_latest_parameter_set(dir, "trend_following", true);
  REQUIRE(latest);
  CHECK(latest->version == 1);
  CHECK(latest->verdict.promotable);
  CHECK(latest->hash == parameter_set_hash(trend));
  latest = load_latest_parameter_set(dir, "", false);
  REQUIRE(latest);
  CHECK(latest->version == 3);
  CHECK(latest->strategy == "mean_reversion");
  latest = load_latest_parameter_set(dir, "mean_reversion", true);
  REQUIRE(latest);
  CHECK(latest->version == 3);
  CHECK_FALSE(load_latest_parameter_set(dir, "breakout", false));

  // Files not named model_v{N}_{YYYYMMDD}_{hash}.json are ignored; a matching name with bad
  // content stops the search with the file named.
  { std::ofstream(tmp.path / "model_v99.json") << "{}"; }
  { std::ofstream(tmp.path / "notes.txt") << "x"; }
  CHECK(load_latest_parameter_set(dir, "", false)->version == 3);
  { std::ofstream(tmp.path / "model_v4_20250716_00000000deadbeef.json") << "{ not json"; }
  CHECK_THROWS_WITH(load_latest_parameter_set(dir, "", false), Catch::Matchers::Contains("model_v4_20250716_00000000deadbeef.json"));
}

TEST_CASE("data_hash is equal for equal data and changes with one close", "[paramset]") {
  const std::vector<symbol_data> a{sample_data()};
  const std::vector<symbol_data> b{sample_data()};
  const auto h = data_hash(a);
  CHECK(h.size() == 16);
  CHECK(h.find_first_not_of("0123456789abcdef") == std::string::npos);
  CHECK(data_hash(b) == h);
  auto c = a;
  c[0].bars[1].close = c[0].bars[1].close + decimal::parse("0.1");
  CHECK(data_hash(c) != h);
  c = a;
  c[0].funding[0].rate = decimal::parse("0.0002");
  CHECK(data_hash(c) != h);
  c = a;
  c[0].symbol = "ETHUSDT";
  CHECK(data_hash(c) != h);
  c = a;
  c[0].bars.pop_back();
  CHECK(data_hash(c) != h);
  // Equal values in another spelling ("94200" vs "94200.00") are the same decimal: the same hash.
  c = a;
  c[0].bars[0].close = decimal::parse("94200.00");
  CHECK(data_hash(c) == h);
}

}  // namespace pt::backtest::test
