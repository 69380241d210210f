// Hard caps against seed 004 §9's table, and the config that may only tighten them.
#include "risk/limits.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <string>
#include <utility>
#include <vector>

using pt::core::decimal;
using namespace pt::risk;
using nlohmann::json;
using namespace std::chrono_literals;

namespace {
decimal d(const char* s) { return decimal::parse(s); }

std::string error_field(const json& j) {
  try {
    (void)risk_config_from_json(j);
  } catch (const risk_config_error& e) {
    return e.field();
  }
  return "<accepted>";
}
}  // namespace

TEST_CASE("hard caps are seed 004 section 9 values", "[limits]") {
  CHECK(hard::max_leverage == d("5"));
  CHECK(hard::default_leverage == d("3"));
  CHECK(hard::max_risk_per_trade == d("0.01"));
  CHECK(hard::max_daily_loss == d("0.03"));
  CHECK(hard::max_drawdown == d("0.1"));
  CHECK(hard::max_consecutive_losses == 3);
  CHECK(hard::max_losses_24h == 5);
  CHECK(hard::max_open_positions == 3);
  CHECK(hard::default_open_positions == 1);
  CHECK(hard::min_cooldown_after_loss == 4h);
  CHECK(hard::min_cooldown_after_daily_loss == 24h);
  CHECK(hard::min_equity == d("10"));
  CHECK(hard::max_stop_atr_multiple == d("3"));
  CHECK(hard::funding_reduce_above == d("0.001"));
  CHECK(hard::funding_block_above == d("0.002"));
  CHECK(hard::min_funding_size_cut == d("0.25"));
  CHECK(hard::max_margin_ratio == d("0.8"));
  CHECK(hard::margin_breaker_trip == d("0.9"));
  CHECK(hard::margin_breaker_reset == d("0.7"));
  CHECK(hard::max_disconnect == 5min);
}

TEST_CASE("empty config gives the hard defaults", "[limits]") {
  const auto c = risk_config_from_json(json::object());
  CHECK(c.risk_per_trade == d("0.01"));
  CHECK(c.max_leverage == d("5"));
  CHECK(c.max_positions == 1);
  CHECK_FALSE(c.kelly_enabled);
  CHECK_NOTHROW(validate(risk_config{}));
}

TEST_CASE("config may tighten every cap", "[limits]") {
  const auto c = risk_config_from_json(json::parse(R"({
    "risk_per_trade_pct": "0.5", "max_leverage": 3, "default_leverage": "2",
    "max_daily_loss_pct": "2", "max_drawdown_pct": 8, "max_consecutive_losses": 2,
    "max_losses_24h": 4, "max_positions": 1, "max_symbol_exposure_pct": "50",
    "cooldown_after_loss_hours": "6.5", "cooldown_after_daily_loss_hours": 48,
    "cooldown_after_stop_out_hours": 12, "min_equity": "50", "max_stop_atr_multiple": "2.5",
    "funding_reduce_above_pct": "0.05", "funding_block_above_pct": "0.1",
    "funding_size_cut_pct": 50, "news_medium_size_cut_pct": 75, "news_high_block_hours": 36,
    "max_margin_ratio_pct": 60, "kelly_enabled": true, "kelly_fraction": "0.5",
    "kelly_min_trades": 50, "max_volume_participation_pct": "0.5", "max_depth_participation_pct": 20
  })"));
  CHECK(c.risk_per_trade == d("0.005"));
  CHECK(c.max_leverage == d("3"));
  CHECK(c.default_leverage == d("2"));
  CHECK(c.max_daily_loss == d("0.02"));
  CHECK(c.max_drawdown == d("0.08"));
  CHECK(c.max_consecutive_losses == 2);
  CHECK(c.max_symbol_exposure == d("0.5"));
  CHECK(c.cooldown_after_loss == 6h + 30min);
  CHECK(c.cooldown_after_daily_loss == 48h);
  CHECK(c.min_equity == d("50"));
  CHECK(c.funding_block_above == d("0.001"));
  CHECK(c.funding_size_cut == d("0.5"));
  CHECK(c.max_margin_ratio == d("0.6"));
  CHECK(c.kelly_enabled);
  CHECK(c.kelly_fraction == d("0.5"));
  CHECK(c.max_volume_participation == d("0.005"));
  CHECK(c.max_depth_participation == d("0.2"));
}

TEST_CASE("a value equal to the hard cap is accepted", "[limits]") {
  CHECK(error_field(json{{"risk_per_trade_pct", "1.0"}}) == "<accepted>");
  CHECK(error_field(json{{"max_leverage", 5}}) == "<accepted>");
  CHECK(error_field(json{{"max_drawdown_pct", "10"}}) == "<accepted>");
  CHECK(error_field(json{{"cooldown_after_loss_hours", 4}}) == "<accepted>");
  CHECK(error_field(json{{"min_equity", "10"}}) == "<accepted>");
}

TEST_CASE("config that loosens a hard cap is refused naming the field", "[limits]") {
  const std::vector<std::pair<json, std::string>> cases = {
      {json{{"risk_per_trade_pct", "1.01"}}, "risk_per_trade_pct"},
      {json{{"max_leverage", 6}}, "max_leverage"},
      {json{{"max_leverage", "5.000000001"}}, "max_leverage"},
      {json{{"default_leverage", 4}, {"max_leverage", 3}}, "default_leverage"},
      {json{{"max_daily_loss_pct", "3.5"}}, "max_daily_loss_pct"},
      {json{{"max_drawdown_pct", 11}}, "max_drawdown_pct"},
      {json{{"max_consecutive_losses", 4}}, "max_consecutive_losses"},
      {json{{"max_losses_24h", 6}}, "max_losses_24h"},
      {json{{"max_positions", 4}}, "max_positions"},
      {json{{"max_symbol_exposure_pct", 101}}, "max_symbol_exposure_pct"},
      {json{{"cooldown_after_loss_hours", "3.9"}}, "cooldown_after_loss_hours"},
      {json{{"cooldown_after_daily_loss_hours", 23}}, "cooldown_after_daily_loss_hours"},
      {json{{"cooldown_after_stop_out_hours", 1}}, "cooldown_after_stop_out_hours"},
      {json{{"min_equity", "9.99"}}, "min_equity"},
      {json{{"max_stop_atr_multiple", "3.1"}}, "max_stop_atr_multiple"},
      {json{{"funding_block_above_pct", "0.3"}}, "funding_block_above_pct"},
      {json{{"funding_reduce_above_pct", "0.15"}}, "funding_reduce_above_pct"},
      {json{{"funding_size_cut_pct", 20}}, "funding_size_cut_pct"},
      {json{{"news_medium_size_cut_pct", 40}}, "news_medium_size_cut_pct"},
      {json{{"news_high_block_hours", 12}}, "news_high_block_hours"},
      {json{{"max_margin_ratio_pct", 81}}, "max_margin_ratio_pct"},
      {json{{"kelly_fraction", "0.6"}}, "kelly_fraction"},
      {json{{"kelly_min_trades", 10}}, "kelly_min_trades"},
      {json{{"max_volume_participation_pct", 2}}, "max_volume_participation_pct"},
      {json{{"max_depth_participation_pct", 30}}, "max_depth_participation_pct"},
  };
  for (const auto& [j, field] : cases) {
    CAPTURE(j.dump());
    CHECK(error_field(j) == field);
  }
  try {
    (void)risk_config_from_json(json{{"max_leverage", 6}});
    FAIL("accepted");
  } catch (const risk_config_error& e) {
    CHECK(std::string(e.what()).find("hard cap") != std::string::npos);
  }
}

TEST_CASE("malformed config values are refused naming the field", "[limits]") {
  CHECK(error_field(json{{"risk_per_trade_pct", 0.5}}) == "risk_per_trade_pct");  // JSON float
  CHECK(error_field(json{{"risk_per_trade_pct", "abc"}}) == "risk_per_trade_pct");
  CHECK(error_field(json{{"risk_per_trade_pct", "0"}}) == "risk_per_trade_pct");
  CHECK(error_field(json{{"max_drawdown_pct", "-1"}}) == "max_drawdown_pct");
  CHECK(error_field(json{{"max_leverage", "0.5"}}) == "max_leverage");
  CHECK(error_field(json{{"max_positions", 0}}) == "max_positions");
  CHECK(error_field(json{{"max_positions", "1"}}) == "max_positions");
  CHECK(error_field(json{{"max_positions", 3}}) == "<accepted>");  // up to the compiled ceiling
  CHECK(error_field(json{{"kelly_enabled", 1}}) == "kelly_enabled");
  CHECK(error_field(json{{"risk_per_trade", "1"}}) == "risk_per_trade");  // unknown (typo)
  CHECK(error_field(json{{"cooldown_after_loss_hours", "-4"}}) == "cooldown_after_loss_hours");
  CHECK(error_field(json::array()) == "risk");
}

TEST_CASE("leverage is the min of hard cap, config cap and venue max", "[limits]") {
  risk_config c;
  CHECK(leverage_cap(c, d("125")) == d("5"));
  CHECK(leverage_cap(c, d("2")) == d("2"));
  CHECK(leverage_cap(c, d("0")) == d("0"));  // unknown venue max: no leverage
  c.max_leverage = d("4");
  CHECK(leverage_cap(c, d("20")) == d("4"));
  CHECK(applied_leverage(c, d("20")) == d("3"));  // default leverage
  CHECK(applied_leverage(c, d("2")) == d("2"));
}
