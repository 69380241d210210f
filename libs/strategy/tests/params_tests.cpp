// Versioned parameter files: the shipped ones load, every error names its field.
#include "helpers.hpp"

#include <catch2/catch.hpp>

namespace pt::strategy::test {

namespace {

std::string field_of(const nlohmann::json& doc) {
  try {
    (void)parse_params(doc);
  } catch (const params_error& e) {
    return e.field();
  }
  return "<no error>";
}

}  // namespace

TEST_CASE("params files ship for every strategy and load", "[params]") {
  for (const char* name : {"trend_following", "multi_factor", "mean_reversion", "breakout", "funding_bias"}) {
    INFO(name);
    const auto p = load_params_file(std::string(STRATEGY_PARAMS_DIR) + "/" + name + ".v1.json");
    CHECK(strategy_name(p) == name);
    CHECK(make_strategy(p, context{})->name() == name);
  }
  const auto tf = std::get<trend_following_params>(load_params_file(std::string(STRATEGY_PARAMS_DIR) + "/trend_following.v1.json"));
  CHECK(tf.daily_ema_fast == 8);
  CHECK(tf.daily_ema_slow == 21);
  CHECK(tf.initial_stop_atr == 2.0);
  CHECK(tf.score_threshold == 0.65);
}

TEST_CASE("params errors name the field", "[params]") {
  auto tf = params_json("trend_following");
  auto with = [&](const char* k, nlohmann::json v) {
    auto d = tf;
    d[k] = std::move(v);
    return d;
  };
  CHECK(field_of(with("atr_periode", 14)) == "atr_periode");  // unknown (a typo)
  CHECK(field_of(with("atr_period", 0)) == "atr_period");     // out of range
  CHECK(field_of(with("atr_period", 14.5)) == "atr_period");  // not an integer
  CHECK(field_of(with("score_threshold", 1.5)) == "score_threshold");
  CHECK(field_of(with("entry_style", "momentum")) == "entry_style");
  CHECK(field_of(with("exit_on_no_trend", "yes")) == "exit_on_no_trend");
  CHECK(field_of(with("version", 2)) == "version");
  CHECK(field_of(with("strategy", "martingale")) == "strategy");
  CHECK(field_of(with("w_trend", 0.5)) == "w_news");  // the weights must sum to 1
  CHECK(field_of(with("daily_ema_fast", 30)) == "daily_ema_fast");
  auto missing = tf;
  missing.erase("trail_atr");
  CHECK(field_of(missing) == "trail_atr");
  auto unversioned = tf;
  unversioned.erase("version");
  CHECK(field_of(unversioned) == "version");

  auto mf = params_json("multi_factor");
  mf["timeframe"] = "2h";
  CHECK(field_of(mf) == "timeframe");
  auto mr = params_json("mean_reversion");
  mr["stop_z"] = 1.5;  // must be beyond entry_z
  CHECK(field_of(mr) == "stop_z");
  auto fb = params_json("funding_bias");
  fb["extreme_rate"] = -1;
  CHECK(field_of(fb) == "extreme_rate");

  CHECK_THROWS_AS(parse_params_text("{not json"), params_error);
  CHECK_THROWS_AS(load_params_file("/nonexistent/x.v1.json"), params_error);
  try {
    (void)parse_params(with("atr_period", 0));
  } catch (const params_error& e) {
    CHECK(std::string(e.what()).find("atr_period") != std::string::npos);
  }
}

}  // namespace pt::strategy::test
