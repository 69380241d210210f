// The study file (strict parsing, only strategy parameters tunable), the points of a sweep, and
// the four commands on recorded BTCUSDT 1h (skipped with a WARN without ../shared/data): their
// files, the same result twice, a parameter set with its promotion verdict.
#include "commands.hpp"
#include "study.hpp"
#include "sweep.hpp"

#include "replay/data_files.hpp"
#include "strategy/params.hpp"

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace pt::research::test {

namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

json params_doc() {
  std::ifstream in(std::string(POLYTRADE_SOURCE_DIR) + "/libs/strategy/params/trend_following.v1.json");
  return json::parse(in);
}

json base_doc() {
  return {{"name", "t"},
          {"strategy_params", params_doc()},
          {"data", {{"source", "freqtrade_marketlab"}, {"catalog", std::string(POLYTRADE_SOURCE_DIR) + "/docs/markets/binance-usdm.json"}}},
          {"symbols", {"BTCUSDT"}},
          {"timeframe", "1h"},
          {"start", "2025-03-01T00:00:00Z"},
          {"end", "2025-05-01T00:00:00Z"},
          {"space", json::array({{{"name", "initial_stop_atr"}, {"low", 1.5}, {"high", 3.0}},
                                 {{"name", "ema_fast"}, {"low", 5}, {"high", 12}}})},
          {"search", {{"method", "grid"}, {"budget", 3}}}};
}

std::string error_of(const json& doc) {
  try {
    (void)parse_study(doc, "");
  } catch (const study_error& e) {
    return e.what();
  }
  return "";
}

std::optional<std::string> data_dir() {
  const auto dir = replay::find_data_dir(fs::path(POLYTRADE_SOURCE_DIR) / ".." / "shared" / "data");
  if (!dir || !fs::exists(*dir / "freqtrade_marketlab" / "BTCUSDT_1h.csv")) return std::nullopt;
  return dir->string();
}

std::string temp_dir(const std::string& name) {
  const auto d = fs::temp_directory_path() / ("pt-research-" + name + "-" + std::to_string(::getpid()));
  fs::remove_all(d);
  fs::create_directories(d);
  return d.string();
}

std::string slurp(const fs::path& p) {
  std::ifstream in(p);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

TEST_CASE("a study parses with its space and defaults") {
  const auto s = parse_study(base_doc(), "");
  CHECK(s.name == "t");
  REQUIRE(s.space.size() == 2);
  CHECK_FALSE(s.space[0].integer);
  CHECK(s.space[1].integer);  // ema_fast is an integer field of the parameter document
  CHECK(s.method == backtest::search_method::grid);
  CHECK(s.engine.start.has_value());
  CHECK(strategy::strategy_name(s.engine.params) == "trend_following");
}

TEST_CASE("a study refuses unknown keys and the risk caps as dimensions") {
  auto doc = base_doc();
  doc["colour"] = "red";
  CHECK_THAT(error_of(doc), Catch::Contains("unknown key 'colour'"));

  doc = base_doc();
  doc["costs"] = {{"slipage_bps", 1}};
  CHECK_THAT(error_of(doc), Catch::Contains("costs.slipage_bps"));

  for (const char* cap : {"risk_percent", "leverage_cap", "max_leverage"}) {
    doc = base_doc();
    doc["space"].push_back({{"name", cap}, {"low", 1}, {"high", 10}});
    CHECK_THAT(error_of(doc), Catch::Contains("never the risk caps"));
  }
  doc = base_doc();
  doc["space"].push_back({{"name", "entry_style"}, {"low", 0}, {"high", 1}});  // a string field
  CHECK_THAT(error_of(doc), Catch::Contains("not a numeric field"));

  doc = base_doc();
  doc["account"] = {{"leverage_cap", "10"}};
  CHECK_THAT(error_of(doc), Catch::Contains("hard cap is 5x"));
  doc["account"] = {{"risk_percent", "2"}};
  CHECK_THAT(error_of(doc), Catch::Contains("hard cap is 1 %"));

  doc = base_doc();
  doc["timeframe"] = "7x";
  CHECK_THAT(error_of(doc), Catch::Contains("timeframe"));
  doc = base_doc();
  doc["params_file"] = "x.json";
  CHECK_THAT(error_of(doc), Catch::Contains("exactly one"));
  doc = base_doc();
  doc["end"] = "2025-01-01T00:00:00Z";
  CHECK_THAT(error_of(doc), Catch::Contains("before"));
  doc = base_doc();
  doc["space"][0]["low"] = 5;  // low > high
  CHECK_THAT(error_of(doc), Catch::Contains("low < high"));
  doc = base_doc();
  doc["stability"] = {{"x", "initial_stop_atr"}, {"y", "take_profit_atr"}};
  CHECK_THAT(error_of(doc), Catch::Contains("not in 'space'"));
}

TEST_CASE("a point sets the parameter fields and libs/strategy still checks their ranges") {
  const auto s = parse_study(base_doc(), "");
  const auto doc = params_doc_at(s, {2.25, 7.6});
  CHECK(doc["initial_stop_atr"].get<double>() == 2.25);
  CHECK(doc["ema_fast"].is_number_integer());
  CHECK(doc["ema_fast"].get<int>() == 8);  // rounded
  const auto p = std::get<strategy::trend_following_params>(params_at(s, {2.25, 7.6}));
  CHECK(p.ema_fast == 8);
  CHECK(p.initial_stop_atr == 2.25);
  CHECK_THROWS_AS(params_at(s, {-1.0, 8}), strategy::params_error);  // a stop distance below zero
  CHECK_THROWS_AS(params_at(s, {2.0}), study_error);                  // wrong arity
  CHECK(default_point(s) == backtest::point{2.0, 8.0});
}

TEST_CASE("sweep points are fixed before any job runs and TPE is not split") {
  auto s = parse_study(base_doc(), "");
  const auto a = sweep_points(s);
  CHECK(a.size() == 9);  // 3 x 3 grid
  CHECK(a == sweep_points(s));
  auto doc = base_doc();
  doc["search"] = {{"method", "random"}, {"budget", 5}, {"seed", 3}};
  s = parse_study(doc, "");
  const auto r = sweep_points(s);
  CHECK(r.size() == 5);
  CHECK(r == sweep_points(s));
  doc["search"]["seed"] = 4;
  CHECK(sweep_points(parse_study(doc, "")) != r);
  doc["search"] = {{"method", "tpe"}};
  CHECK_THROWS_AS(sweep_points(parse_study(doc, "")), study_error);
}

TEST_CASE("a job body round-trips and a bad one is refused") {
  const auto s = parse_study(base_doc(), "");
  const auto body = job_body("sw-1", 4, {2.0, 8}, resolved_json(s), "2026-11-22T00:00:00Z");
  const auto j = parse_job(body);
  CHECK(j.job_id == "sw-1-4");
  CHECK(j.index == 4);
  CHECK(j.point == backtest::point{2.0, 8});
  CHECK(parse_study(j.study, "").space.size() == 2);
  auto bad = body;
  bad["kind"] = "optimise";
  CHECK_THROWS_WITH(parse_job(bad), Catch::Contains("only backtest"));
  bad = body;
  bad["job_id"] = "other-4";
  CHECK_THROWS_WITH(parse_job(bad), Catch::Contains("<sweep_id>-<index>"));
  bad = body;
  bad["params"].erase("point");
  CHECK_THROWS_AS(parse_job(bad), study_error);
  CHECK(valid_sweep_id(default_sweep_id(s)));
  CHECK_FALSE(valid_sweep_id("a.b"));
}

TEST_CASE("overrides set keys as JSON or text and the study is still validated") {
  auto doc = base_doc();
  apply_override(doc, "symbols=[\"ETHUSDT\"]");
  apply_override(doc, "data.source=freqtrade_cyft_trader");
  apply_override(doc, "walkforward.train_days=45.5");
  const auto s = parse_study(doc, "");
  CHECK(s.engine.symbols == std::vector<std::string>{"ETHUSDT"});
  CHECK(s.source == "freqtrade_cyft_trader");
  CHECK(s.train_days == 45.5);
  CHECK_THROWS_AS(apply_override(doc, "noequals"), study_error);
  CHECK_THROWS_AS(apply_override(doc, "symbols.x=1"), study_error);  // symbols is an array
  apply_override(doc, "search.methd=grid");
  CHECK_THAT(error_of(doc), Catch::Contains("search.methd"));
}

TEST_CASE("the example study parses from its file") {
  const auto s = load_study_file(std::string(POLYTRADE_SOURCE_DIR) + "/services/research/studies/trend_btc_1h_2025.json");
  CHECK(s.space.size() == 3);
  CHECK(fs::exists(s.catalog));
  CHECK(s.stability_x.value_or("") == "initial_stop_atr");
}

TEST_CASE("backtest and montecarlo commands write their files and repeat bit for bit") {
  const auto dir = data_dir();
  if (!dir) {
    WARN("no recorded data: skipped");
    return;
  }
  auto doc = base_doc();
  doc["data"]["dir"] = *dir;
  const auto s = parse_study(doc, "");
  data_cache cache;
  const auto& data = cache.get(s);
  CHECK(&cache.get(s) == &data);  // loaded once
  command_options opt;
  opt.out_dir = temp_dir("bt");
  std::size_t calls = 0;
  opt.progress = [&](std::size_t, std::size_t) { ++calls; };
  const auto a = run_backtest_command(s, data, opt);
  CHECK(calls >= 1);
  for (const char* f : {"metrics.json", "trades.csv", "equity.csv", "report.html"}) CHECK(fs::exists(fs::path(opt.out_dir) / f));
  CHECK(json::parse(slurp(fs::path(opt.out_dir) / "metrics.json")) == a);
  CHECK(a["hash"].get<std::string>().size() == 16);
  const auto b = run_backtest_command(s, data, opt);
  CHECK(a == b);
  // The equity curve file holds one row per bar of the window plus its header.
  std::ifstream eq(fs::path(opt.out_dir) / "equity.csv");
  std::size_t lines = 0;
  for (std::string l; std::getline(eq, l);) ++lines;
  CHECK(lines > 1000);

  const auto mc = run_montecarlo_command(s, data, opt, false);
  CHECK(mc["trades"] == a["trades"]);
  if (a["trades"].get<int>() >= 2) {
    const auto& tb = mc["trade_bootstrap"];
    CHECK(tb["paths"] == 1000);
    CHECK(tb["total_return"]["p05"].get<double>() <= tb["total_return"]["p50"].get<double>());
    CHECK(tb["total_return"]["p50"].get<double>() <= tb["total_return"]["p95"].get<double>());
  }
  CHECK(mc["return_perturbation"]["max_drawdown"]["p95"].get<double>() >= 0.0);
  CHECK(run_montecarlo_command(s, data, opt, false) == mc);
}

TEST_CASE("optimize and walkforward commands pick from their own windows and save a judged parameter set") {
  const auto dir = data_dir();
  if (!dir) {
    WARN("no recorded data: skipped");
    return;
  }
  auto doc = base_doc();
  doc["data"]["dir"] = *dir;
  doc.erase("end");
  doc["start"] = "2025-03-01T00:00:00Z";
  doc["space"] = json::array({{{"name", "initial_stop_atr"}, {"low", 1.5}, {"high", 3.0}},
                              {{"name", "take_profit_atr"}, {"low", 2.0}, {"high", 5.0}}});
  doc["search"] = {{"method", "random"}, {"budget", 4}, {"seed", 2}};
  doc["constraints"] = {{"min_trades", 1}, {"max_drawdown", 0.5}};
  doc["walkforward"] = {{"train_days", 60}, {"test_days", 30}, {"warmup_days", 30}};
  doc["stability"] = {{"x", "initial_stop_atr"}, {"y", "take_profit_atr"}, {"steps", 3}};
  const auto s = parse_study(doc, "");
  data_cache cache;
  const auto& data = cache.get(s);

  command_options opt;
  opt.out_dir = temp_dir("opt");
  const auto o = run_optimize_command(s, data, opt);
  CHECK(o["trials"] == 4);
  CHECK(o["all_trials"].size() == 4);
  CHECK(fs::exists(fs::path(opt.out_dir) / "trials.csv"));
  if (!o["best"].is_null()) {
    // The best is the largest feasible objective of the trials.
    double best = -1e300;
    for (const auto& t : o["all_trials"])
      if (t["objective"].is_number()) best = std::max(best, t["objective"].get<double>());
    CHECK(o["best"]["objective"].get<double>() == best);
    CHECK(fs::exists(fs::path(opt.out_dir) / "stability.csv"));
    CHECK(o["stability"]["values"].size() == 3);
  }

  opt.out_dir = temp_dir("wf");
  opt.models_dir = temp_dir("models");
  opt.today = "2026-11-22";
  const auto w = run_walkforward_command(s, data, opt);
  REQUIRE(w["folds"].size() >= 3);
  for (const auto& f : w["folds"]) CHECK(f["test_start"] == f["train_end"]);
  CHECK(w["promotion"].contains("promotable"));
  CHECK_FALSE(w["promotion"]["reasons"].empty());
  for (const char* f : {"metrics.json", "trades.csv", "equity.csv", "folds.csv", "report.html"})
    CHECK(fs::exists(fs::path(opt.out_dir) / f));
  if (w.contains("parameter_set")) {
    const auto file = fs::path(w["parameter_set"].get<std::string>()).filename().string();
    CHECK(file.rfind("model_v1_20261122_", 0) == 0);
    const auto set = json::parse(slurp(w["parameter_set"].get<std::string>()));
    CHECK(set.dump().find("promotable") != std::string::npos);
    // The stored parameters are a valid document of the strategy.
    CHECK_NOTHROW(strategy::parse_params(set.at("params")));
  }
  opt.out_dir = temp_dir("wf2");
  opt.models_dir.clear();
  const auto w2 = run_walkforward_command(s, data, opt);
  CHECK(w2["oos_hash"] == w["oos_hash"]);
  CHECK(w2["oos_metrics"] == w["oos_metrics"]);
}

}  // namespace pt::research::test
