// compute_metrics on tiny curves and trade lists whose answers are worked out by hand in the
// comments (a calculator did the square roots and powers), plus the documented edge cases and
// bad input; the hash against the published FNV-1a vectors; the CSV writers byte for byte.
#include "backtest/metrics.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

namespace bt = pt::backtest;
using Catch::Detail::Approx;
using pt::core::decimal;
using pt::core::timestamp;
using namespace std::chrono_literals;

const timestamp t0 = timestamp::parse_iso8601("2024-01-01T00:00:00Z");

decimal d(const char* s) { return decimal::parse(s); }

// One point per `step`, starting at t0.
std::vector<bt::equity_point> curve_of(const std::vector<const char*>& equity, std::chrono::nanoseconds step) {
  std::vector<bt::equity_point> c;
  for (std::size_t i = 0; i < equity.size(); ++i)
    c.push_back({t0 + step * static_cast<std::int64_t>(i), d(equity[i])});
  return c;
}

bt::trade_record trade(const char* pnl, timestamp entry, timestamp exit, const char* fees = "0",
                       const char* funding = "0") {
  bt::trade_record t;
  t.symbol = "BTCUSDT";
  t.direction = 1;
  t.entry_time = entry;
  t.exit_time = exit;
  t.entry_price = d("42000");
  t.exit_price = d("42100");
  t.qty = d("0.01");
  t.pnl = d(pnl);
  t.fees = d(fees);
  t.funding = d(funding);
  t.exit_reason = "signal";
  return t;
}

// Daily curve 100, 110, 99, 123.75, 99, 108.9, 114.345: returns +10%, -10%, +25%, -20%, +10%, +5%.
std::vector<bt::equity_point> daily_curve() {
  return curve_of({"100", "110", "99", "123.75", "99", "108.9", "114.345"}, 24h);
}

}  // namespace

TEST_CASE("returns based ratios of a daily curve by hand", "[metrics]") {
  const auto m = bt::compute_metrics(daily_curve(), {});
  // Spacing 1 day -> periods per year = 365.25; sqrt(365.25) = 19.11151485.
  REQUIRE(m.periods_per_year.has_value());
  CHECK(*m.periods_per_year == Approx(365.25).epsilon(1e-12));
  // r = 0.1 -0.1 0.25 -0.2 0.1 0.05; mean = 0.2 / 6 = 0.0333333.
  // deviations 0.0666667 -0.1333333 0.2166667 -0.2333333 0.0666667 0.0166667, squares sum to
  // 0.1283333; sample var = 0.1283333 / 5 = 0.0256667; sd = 0.1602082.
  // sharpe = 0.0333333 / 0.1602082 * 19.1115149 = 0.2080626 * 19.1115149 = 3.9763914.
  REQUIRE(m.sharpe.has_value());
  CHECK(*m.sharpe == Approx(3.97639136802306).epsilon(1e-9));
  // Downside: min(r,0)^2 = 0.01 and 0.04 over all 6 periods: sqrt(0.05 / 6) = 0.0912871.
  // sortino = 0.0333333 / 0.0912871 * 19.1115149 = 0.3651484 * 19.1115149 = 6.9785385.
  REQUIRE(m.sortino.has_value());
  CHECK(*m.sortino == Approx(6.97853852894716).epsilon(1e-9));
  // total return = 114.345 / 100 - 1 = 0.14345.
  CHECK(m.total_return == Approx(0.14345).epsilon(1e-12));
  // 6 days = 6 / 365.25 years: cagr = 1.14345^(365.25 / 6) - 1 = 3498.2160768.
  REQUIRE(m.cagr.has_value());
  CHECK(*m.cagr == Approx(3498.21607675457).epsilon(1e-9));
  // calmar = cagr / max drawdown (0.2, next test) = 17491.0803838.
  REQUIRE(m.calmar.has_value());
  CHECK(*m.calmar == Approx(17491.0803837729).epsilon(1e-9));
  CHECK(m.start_equity == d("100"));
  CHECK(m.end_equity == d("114.345"));
  CHECK(m.start_time == t0);
  CHECK(m.end_time == t0 + 144h);
}

TEST_CASE("drawdown episodes by hand with an unrecovered tail", "[metrics]") {
  const auto m = bt::compute_metrics(daily_curve(), {});
  // Peak 110 on day 1; day 2 at 99 is 11 / 110 = 0.1 down; day 3 (123.75) recovers: episode 1,
  // depth 0.1, day 1 -> day 3 = 2 days. Peak 123.75 on day 3; day 4 at 99 is 24.75 / 123.75 = 0.2
  // down; days 5 and 6 (108.9, 114.345) stay below: episode 2, depth 0.2, day 3 -> end (day 6) =
  // 3 days.
  CHECK(m.drawdown_episodes == 2);
  CHECK(m.max_drawdown == Approx(0.2).epsilon(1e-12));
  CHECK(m.max_drawdown_duration == std::chrono::nanoseconds(72h));
  CHECK(m.average_drawdown == Approx((0.1 + 0.2) / 2).epsilon(1e-12));
}

TEST_CASE("drawdown duration runs from the last point at the peak", "[metrics]") {
  // 100 100 90 100 80 (hourly): the first episode starts at hour 1 (the last point at 100),
  // recovers at hour 3 (equal to the peak counts): 2 h, depth 0.1. The second starts at hour 3
  // and is open at the end (hour 4): 1 h, depth 0.2.
  const auto m = bt::compute_metrics(curve_of({"100", "100", "90", "100", "80"}, 1h), {});
  CHECK(m.drawdown_episodes == 2);
  CHECK(m.max_drawdown_duration == std::chrono::nanoseconds(2h));
  CHECK(m.max_drawdown == Approx(0.2).epsilon(1e-12));
  CHECK(m.average_drawdown == Approx(0.15).epsilon(1e-12));
}

TEST_CASE("periods per year come from the median spacing", "[metrics]") {
  // Gaps 60 60 120 60 s -> sorted 60 60 60 120, median 60 s -> 31557600 / 60 = 525960 a year.
  std::vector<bt::equity_point> c{{t0, d("100")}, {t0 + 60s, d("101")}, {t0 + 120s, d("100")},
                                  {t0 + 240s, d("102")}, {t0 + 300s, d("101")}};
  auto m = bt::compute_metrics(c, {});
  REQUIRE(m.periods_per_year.has_value());
  CHECK(*m.periods_per_year == Approx(525960.0).epsilon(1e-12));
  // Even count of gaps: 60 and 120 -> median 90 s -> 31557600 / 90 = 350640.
  m = bt::compute_metrics({{t0, d("100")}, {t0 + 60s, d("101")}, {t0 + 180s, d("100")}}, {});
  CHECK(*m.periods_per_year == Approx(350640.0).epsilon(1e-12));
  // Returns 101/100 - 1 = 0.01 and 100/101 - 1 = -0.00990099: mean 0.0000495050, sample sd
  // = 0.01990099 / sqrt(2) = 0.01407213, per-period sharpe 0.00351794; times
  // sqrt(350640) = 592.14863 -> 2.0831458.
  REQUIRE(m.sharpe.has_value());
  CHECK(*m.sharpe == Approx(2.08314582953647).epsilon(1e-9));
}

TEST_CASE("flat curve has zero sharpe and sortino and no drawdown", "[metrics]") {
  const auto m = bt::compute_metrics(curve_of({"1000", "1000", "1000", "1000"}, 1h), {});
  REQUIRE(m.sharpe.has_value());
  CHECK(*m.sharpe == 0.0);
  REQUIRE(m.sortino.has_value());
  CHECK(*m.sortino == 0.0);
  CHECK(m.total_return == 0.0);
  REQUIRE(m.cagr.has_value());
  CHECK(*m.cagr == 0.0);
  CHECK_FALSE(m.calmar.has_value());  // max drawdown 0
  CHECK(m.max_drawdown == 0.0);
  CHECK(m.drawdown_episodes == 0);
  CHECK(m.average_drawdown == 0.0);
  CHECK(m.max_drawdown_duration == std::chrono::nanoseconds(0));
}

TEST_CASE("a curve that only rises has an unbounded sortino reported as null", "[metrics]") {
  // Returns +10% and +5%: no downside, so mean / 0 -> null; sharpe is defined (sd > 0).
  const auto m = bt::compute_metrics(curve_of({"100", "110", "115.5"}, 24h), {});
  CHECK_FALSE(m.sortino.has_value());
  REQUIRE(m.sharpe.has_value());
  // mean 0.075, sd = 0.05 / sqrt(2) = 0.0353553, 2.1213203 * 19.1115149 = 40.5416453.
  CHECK(*m.sharpe == Approx(40.5416452552187).epsilon(1e-9));
}

TEST_CASE("constant non zero returns give a null sharpe rather than a huge one", "[metrics]") {
  // 100 110 121 133.1: every return is 0.1 (10/100 = 11/110 = 12.1/121), stdev 0 and mean
  // 0.1: unbounded, so null. In doubles 12.1/121 lands an ulp below 0.1, which a naive stdev
  // turns into ~1e-17 and a Sharpe of ~1e16.
  const auto m = bt::compute_metrics(curve_of({"100", "110", "121", "133.1"}, 24h), {});
  CHECK_FALSE(m.sharpe.has_value());
  CHECK_FALSE(m.sortino.has_value());
}

TEST_CASE("one point curve leaves time based values null", "[metrics]") {
  const auto m = bt::compute_metrics({{t0, d("500")}}, {});
  CHECK(m.start_equity == d("500"));
  CHECK(m.end_equity == d("500"));
  CHECK(m.total_return == 0.0);
  CHECK_FALSE(m.cagr.has_value());
  CHECK_FALSE(m.periods_per_year.has_value());
  CHECK_FALSE(m.sharpe.has_value());
  CHECK_FALSE(m.sortino.has_value());
  CHECK_FALSE(m.exposure.has_value());
  CHECK(m.max_drawdown == 0.0);
}

TEST_CASE("two point curve has a sortino but no sharpe", "[metrics]") {
  // One return (-10%): the sample stdev needs two. Downside sqrt(0.01 / 1) = 0.1, so
  // sortino = -0.1 / 0.1 * sqrt(365.25) = -19.1115149.
  const auto m = bt::compute_metrics(curve_of({"100", "90"}, 24h), {});
  CHECK_FALSE(m.sharpe.has_value());
  REQUIRE(m.sortino.has_value());
  CHECK(*m.sortino == Approx(-19.1115148536164).epsilon(1e-9));
  CHECK(m.max_drawdown == Approx(0.1).epsilon(1e-12));
}

TEST_CASE("a curve ending at zero has cagr -1 and full drawdown", "[metrics]") {
  const auto m = bt::compute_metrics(curve_of({"100", "50", "0"}, 24h), {});
  CHECK(m.total_return == -1.0);
  REQUIRE(m.cagr.has_value());
  CHECK(*m.cagr == -1.0);
  CHECK(m.max_drawdown == Approx(1.0).epsilon(1e-12));
}

TEST_CASE("trade statistics by hand", "[metrics]") {
  // pnl 28.5 (1 h), -10.25 (2 h), 20 (3 h), 0 (30 min), -20.5 (90 min).
  const std::vector<bt::trade_record> trades{
      trade("28.5", t0, t0 + 1h, "1.2", "0.3"),
      trade("-10.25", t0 + 1h, t0 + 3h, "0.8", "-0.1"),
      trade("20", t0 + 3h, t0 + 6h, "1", "0"),
      trade("0", t0 + 6h, t0 + 6h + 30min, "0.5", "0"),
      trade("-20.5", t0 + 7h, t0 + 8h + 30min, "0.75", "0.25"),
  };
  const auto m = bt::compute_metrics(curve_of({"1000", "1017.75"}, 10h), trades);
  CHECK(m.trades == 5);
  CHECK(m.wins == 2);    // 28.5, 20
  CHECK(m.losses == 2);  // -10.25, -20.5 (the 0 is neither)
  REQUIRE(m.win_rate.has_value());
  CHECK(*m.win_rate == Approx(0.4).epsilon(1e-12));  // 2 / 5
  CHECK(m.gross_profit == d("48.5"));                // 28.5 + 20
  CHECK(m.gross_loss == d("30.75"));                 // 10.25 + 20.5
  CHECK(m.net_pnl == d("17.75"));                    // 48.5 - 30.75
  REQUIRE(m.profit_factor.has_value());
  CHECK(*m.profit_factor == Approx(48.5 / 30.75).epsilon(1e-12));  // 1.5772358
  REQUIRE(m.average_win.has_value());
  CHECK(*m.average_win == d("24.25"));  // 48.5 / 2
  REQUIRE(m.average_loss.has_value());
  CHECK(*m.average_loss == d("-15.375"));  // -30.75 / 2
  REQUIRE(m.expectancy.has_value());
  CHECK(*m.expectancy == d("3.55"));  // 17.75 / 5
  // 1 + 2 + 3 + 0.5 + 1.5 = 8 h = 28800 s over 5 trades = 5760 s.
  REQUIRE(m.average_holding.has_value());
  CHECK(*m.average_holding == std::chrono::seconds(5760));
  CHECK(m.fees_paid == d("4.25"));     // 1.2 + 0.8 + 1 + 0.5 + 0.75
  CHECK(m.funding_paid == d("0.45"));  // 0.3 - 0.1 + 0.25
  // Open 0-6 h, 6-6.5 h, 7-8.5 h of a 10 h curve: 8 h -> 0.8.
  REQUIRE(m.exposure.has_value());
  CHECK(*m.exposure == Approx(0.8).epsilon(1e-12));
}

TEST_CASE("average holding is truncated to whole seconds", "[metrics]") {
  // 1 s and 2 s -> mean 1.5 s -> 1 s.
  const auto m = bt::compute_metrics(curve_of({"100", "100"}, 1h),
                                     {trade("1", t0, t0 + 1s), trade("1", t0, t0 + 2s)});
  REQUIRE(m.average_holding.has_value());
  CHECK(*m.average_holding == std::chrono::seconds(1));
}

TEST_CASE("zero trades leave trade ratios null", "[metrics]") {
  const auto m = bt::compute_metrics(daily_curve(), {});
  CHECK(m.trades == 0);
  CHECK(m.wins == 0);
  CHECK(m.losses == 0);
  CHECK_FALSE(m.win_rate.has_value());
  CHECK_FALSE(m.profit_factor.has_value());
  CHECK_FALSE(m.average_win.has_value());
  CHECK_FALSE(m.average_loss.has_value());
  CHECK_FALSE(m.expectancy.has_value());
  CHECK_FALSE(m.average_holding.has_value());
  REQUIRE(m.exposure.has_value());
  CHECK(*m.exposure == 0.0);
  CHECK(m.fees_paid == decimal::zero());
  CHECK(m.funding_paid == decimal::zero());
}

TEST_CASE("profit factor is null without losses and zero without wins", "[metrics]") {
  const auto c = curve_of({"100", "100"}, 1h);
  auto m = bt::compute_metrics(c, {trade("5", t0, t0 + 1min), trade("0", t0, t0 + 1min)});
  CHECK_FALSE(m.profit_factor.has_value());
  CHECK_FALSE(m.average_loss.has_value());
  m = bt::compute_metrics(c, {trade("-5", t0, t0 + 1min)});
  REQUIRE(m.profit_factor.has_value());
  CHECK(*m.profit_factor == 0.0);
  CHECK_FALSE(m.average_win.has_value());
}

TEST_CASE("exposure is the union of trade intervals clipped to the curve", "[metrics]") {
  // Curve 0..10 h. Trades [0, 1] and [0.5, 2.5] overlap -> [0, 2.5] (2.5 h); [5, 8] (3 h);
  // [9, 12] clipped to [9, 10] (1 h); [-3, -1] lies before the curve (0 h).
  // (2.5 + 3 + 1) / 10 = 0.65.
  const std::vector<bt::trade_record> trades{
      trade("1", t0 + 5h, t0 + 8h),  trade("1", t0, t0 + 1h),          trade("1", t0 + 30min, t0 + 2h + 30min),
      trade("1", t0 + 9h, t0 + 12h), trade("1", t0 - 3h, t0 - 1h),
  };
  const auto m = bt::compute_metrics(curve_of({"100", "100", "100", "100", "100", "100", "100", "100", "100",
                                               "100", "100"},
                                              1h),
                                     trades);
  REQUIRE(m.exposure.has_value());
  CHECK(*m.exposure == Approx(0.65).epsilon(1e-12));
}

TEST_CASE("bad input throws invalid_argument", "[metrics]") {
  CHECK_THROWS_AS(bt::compute_metrics({}, {}), std::invalid_argument);
  // Times not strictly increasing.
  CHECK_THROWS_AS(bt::compute_metrics({{t0, d("1")}, {t0, d("1")}}, {}), std::invalid_argument);
  CHECK_THROWS_AS(bt::compute_metrics({{t0, d("1")}, {t0 - 1s, d("1")}}, {}), std::invalid_argument);
  // Equity <= 0 where a return is taken from it.
  CHECK_THROWS_AS(bt::compute_metrics(curve_of({"100", "0", "10"}, 1h), {}), std::invalid_argument);
  CHECK_THROWS_AS(bt::compute_metrics(curve_of({"-1", "10"}, 1h), {}), std::invalid_argument);
  const auto c = curve_of({"100", "100"}, 1h);
  auto t = trade("1", t0, t0 + 1h);
  t.direction = 0;
  CHECK_THROWS_AS(bt::compute_metrics(c, {t}), std::invalid_argument);
  CHECK_THROWS_AS(bt::compute_metrics(c, {trade("1", t0 + 1h, t0)}), std::invalid_argument);
}

TEST_CASE("to_json writes decimals as strings and undefined values as null", "[metrics]") {
  const auto j = bt::to_json(bt::compute_metrics(daily_curve(), {trade("5", t0, t0 + 1h, "0.1")}));
  CHECK(j.at("start_equity") == "100");
  CHECK(j.at("end_equity") == "114.345");
  CHECK(j.at("fees_paid") == "0.1");
  CHECK(j.at("net_pnl") == "5");
  CHECK(j.at("average_win") == "5");
  CHECK(j.at("start_time") == "2024-01-01T00:00:00.000000000Z");
  CHECK(j.at("sharpe").is_number_float());
  CHECK(j.at("sharpe").get<double>() == Approx(3.97639136802306).epsilon(1e-9));
  CHECK(j.at("max_drawdown_duration_s").get<double>() == Approx(259200.0).epsilon(1e-12));  // 3 days
  CHECK(j.at("average_holding_s") == 3600);
  CHECK(j.at("trades") == 1);
  CHECK(j.at("profit_factor").is_null());  // no loss
  CHECK(j.at("average_loss").is_null());
  const auto one = bt::to_json(bt::compute_metrics({{t0, d("1")}}, {}));
  CHECK(one.at("sharpe").is_null());
  CHECK(one.at("cagr").is_null());
  CHECK(one.at("win_rate").is_null());
  CHECK(one.at("expectancy").is_null());
  CHECK(one.at("average_holding_s").is_null());
}

TEST_CASE("fnv1a_64 matches the published test vectors", "[hash]") {
  // From the FNV reference test suite (Fowler, Noll, Vo).
  CHECK(bt::fnv1a_64("") == 0xcbf29ce484222325ULL);
  CHECK(bt::fnv1a_64("a") == 0xaf63dc4c8601ec8cULL);
  CHECK(bt::fnv1a_64("foobar") == 0x85944171f73967e8ULL);
  CHECK(bt::trade_list_hash({}) == "cbf29ce484222325");
}

namespace {

std::vector<bt::trade_record> two_trades() {
  bt::trade_record a;
  a.symbol = "BTCUSDT";
  a.direction = 1;
  a.entry_time = t0;
  a.exit_time = t0 + 1h;
  a.entry_price = d("42000");
  a.exit_price = d("42300.5");
  a.qty = d("0.1");
  a.pnl = d("28.5");
  a.fees = d("1.2");
  a.funding = d("0.3");
  a.exit_reason = "take_profit";
  bt::trade_record b;
  b.symbol = "ETHUSDT";
  b.direction = -1;
  b.entry_time = t0 + 1h;
  b.exit_time = t0 + 3h;
  b.entry_price = d("2200");
  b.exit_price = d("2210.25");
  b.qty = d("1");
  b.pnl = d("-10.25");
  b.fees = d("0.8");
  b.funding = d("-0.1");
  b.exit_reason = "stop,loss";
  return {a, b};
}

}  // namespace

TEST_CASE("trade list hash covers every field in order", "[hash]") {
  const auto trades = two_trades();
  // t0 = 1704067200 s since the epoch.
  CHECK(bt::canonical_trade_text(trades) ==
        "7:BTCUSDT,1,1704067200000000000,1704070800000000000,42000,42300.5,0.1,28.5,1.2,0.3,11:take_profit\n"
        "7:ETHUSDT,-1,1704070800000000000,1704078000000000000,2200,2210.25,1,-10.25,0.8,-0.1,9:stop,loss\n");
  // FNV-1a 64 of that text, computed with an independent Python implementation.
  CHECK(bt::trade_list_hash(trades) == "f4ee5aaba244620a");

  const std::string base = bt::trade_list_hash(trades);
  auto changed = [&](auto&& edit) {
    auto t = two_trades();
    edit(t);
    return bt::trade_list_hash(t) != base;
  };
  CHECK(changed([](auto& t) { t[1].symbol = "ETHUSDC"; }));
  CHECK(changed([](auto& t) { t[0].direction = -1; }));
  CHECK(changed([](auto& t) { t[0].entry_time += 1ns; }));
  CHECK(changed([](auto& t) { t[1].exit_time += 1ns; }));
  CHECK(changed([](auto& t) { t[0].entry_price = d("42000.000000001"); }));
  CHECK(changed([](auto& t) { t[0].exit_price = d("42300.4"); }));
  CHECK(changed([](auto& t) { t[1].qty = d("1.5"); }));
  CHECK(changed([](auto& t) { t[1].pnl = d("-10.26"); }));
  CHECK(changed([](auto& t) { t[0].fees = d("1.3"); }));
  CHECK(changed([](auto& t) { t[0].funding = d("0"); }));
  CHECK(changed([](auto& t) { t[1].exit_reason = "stop"; }));
  CHECK(changed([](auto& t) { std::swap(t[0], t[1]); }));
  CHECK(changed([](auto& t) { t.pop_back(); }));
}

TEST_CASE("csv writers emit a header and one quoted row per record", "[csv]") {
  std::ostringstream trades;
  bt::write_trades_csv(trades, two_trades());
  CHECK(trades.str() ==
        "symbol,direction,entry_time,exit_time,entry_price,exit_price,qty,pnl,fees,funding,exit_reason\n"
        "BTCUSDT,1,2024-01-01T00:00:00.000000000Z,2024-01-01T01:00:00.000000000Z,42000,42300.5,0.1,28.5,1.2,0.3,"
        "take_profit\n"
        "ETHUSDT,-1,2024-01-01T01:00:00.000000000Z,2024-01-01T03:00:00.000000000Z,2200,2210.25,1,-10.25,0.8,-0.1,"
        "\"stop,loss\"\n");
  auto q = two_trades();
  q.resize(1);
  q[0].exit_reason = "say \"hi\"";
  std::ostringstream quoted;
  bt::write_trades_csv(quoted, q);
  CHECK(quoted.str().ends_with(",\"say \"\"hi\"\"\"\n"));

  std::ostringstream equity;
  bt::write_equity_csv(equity, curve_of({"100", "99.5"}, 1h));
  CHECK(equity.str() ==
        "time,equity\n"
        "2024-01-01T00:00:00.000000000Z,100\n"
        "2024-01-01T01:00:00.000000000Z,99.5\n");
}
