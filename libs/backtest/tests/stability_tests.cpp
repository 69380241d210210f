// Parameter-stability maps: an analytic bowl over integer dimensions checked cell by cell by hand
// (grid, best cell, plateau share, neighbourhood mean), infeasible regions, a sharp spike scoring
// below a smooth hill, the CSV and JSON forms, the argument checks, and a 3x3 map of the trend
// strategy on recorded BTCUSDT 1h (skipped with a WARN without ../shared/data).
#include "backtest/stability.hpp"

#include "backtest/walkforward.hpp"
#include "replay/data_files.hpp"

#include <catch2/catch.hpp>

#include <cmath>
#include <filesystem>
#include <limits>
#include <sstream>

namespace pt::backtest::test {

namespace {

using core::timestamp;

timestamp day(int n) { return timestamp::from_millis(1735689600000LL + n * 86400000LL); }  // day 0 = 2025-01-01

std::optional<std::string> data_dir() {
  const auto dir = replay::find_data_dir(std::filesystem::path(POLYTRADE_SOURCE_DIR) / ".." / "shared" / "data");
  if (!dir || !std::filesystem::exists(*dir / "freqtrade_marketlab" / "BTCUSDT_1h.csv")) return std::nullopt;
  return dir->string();
}

double bowl(const point& p) { return -(p[0] - 3) * (p[0] - 3) - (p[2] - 5) * (p[2] - 5); }

}  // namespace

TEST_CASE("stability map of an analytic bowl by hand", "[stability]") {
  // x = dim 0 in [0, 6], y = dim 2 in [0, 10], both integer; dim 1 is held at the base 0.5.
  const std::vector<dimension> space{{"x", 0, 6, true}, {"z", 0, 1, false}, {"y", 0, 10, true}};
  int calls = 0;
  bool base_kept = true;
  const objective f = [&](const point& p) -> std::optional<double> {
    ++calls;
    base_kept = base_kept && p[1] == 0.5;
    return bowl(p);
  };
  // 13 steps on x: 0, 0.5, 1, ... 6 rounded (half away from zero) and deduplicated: 0..6.
  const auto m = parameter_stability(space, {1, 0.5, 1}, 0, 2, 13, 11, f, 1.0);
  CHECK(m.x_name == "x");
  CHECK(m.y_name == "y");
  CHECK(m.xs == std::vector<double>{0, 1, 2, 3, 4, 5, 6});
  CHECK(m.ys == std::vector<double>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10});
  REQUIRE(m.values.size() == 11);
  for (const auto& row : m.values) CHECK(row.size() == 7);
  CHECK(calls == 77);
  CHECK(base_kept);
  for (std::size_t iy = 0; iy < m.ys.size(); ++iy)
    for (std::size_t ix = 0; ix < m.xs.size(); ++ix) CHECK(m.values[iy][ix] == bowl({m.xs[ix], 0.5, m.ys[iy]}));
  REQUIRE(m.best);
  CHECK(*m.best == 0.0);
  CHECK(m.best_ix == 3u);  // x = 3
  CHECK(m.best_iy == 5u);  // y = 5
  // Within 1 of the best: the centre and its four edge neighbours (value -1); 5 of 77 cells.
  CHECK(m.plateau_share == Approx(5.0 / 77.0));
  // 8-neighbours: four edges at -1, four corners at -2.
  REQUIRE(m.neighbourhood_mean);
  CHECK(*m.neighbourhood_mean == Approx(-1.5));
  // Tolerance 0: the best alone; tolerance 2: the corners too (9 cells).
  CHECK(parameter_stability(space, {1, 0.5, 1}, 0, 2, 7, 11, f, 0.0).plateau_share == Approx(1.0 / 77.0));
  CHECK(parameter_stability(space, {1, 0.5, 1}, 0, 2, 7, 11, f, 2.0).plateau_share == Approx(9.0 / 77.0));
}

TEST_CASE("stability map swaps axes and finds a best at the edge", "[stability]") {
  const std::vector<dimension> space{{"x", 0, 6, true}, {"z", 0, 1, false}, {"y", 0, 10, true}};
  const objective f = [](const point& p) -> std::optional<double> { return bowl(p); };
  // y on the horizontal axis, 3 steps (0, 5, 10); x vertical, 3 steps (0, 3, 6).
  const auto m = parameter_stability(space, {0, 0, 0}, 2, 0, 3, 3, f, 0.5);
  CHECK(m.x_name == "y");
  CHECK(m.xs == std::vector<double>{0, 5, 10});
  CHECK(m.ys == std::vector<double>{0, 3, 6});
  CHECK(m.best_ix == 1u);
  CHECK(m.best_iy == 1u);
  CHECK(*m.best == 0.0);
  CHECK(m.plateau_share == Approx(1.0 / 9.0));
  // Neighbours of the centre: all 8 others. Values: (y-5)^2 in {25, 0, 25}, (x-3)^2 in {9, 0, 9}.
  // Edges: -25, -25, -9, -9; corners: 4 x -34. Mean (-68 - 136) / 8 = -25.5.
  CHECK(*m.neighbourhood_mean == Approx(-25.5));
  // A best in a corner has only 3 neighbours: on [3, 6] x [5, 10] the bowl peaks at (3, 5).
  const std::vector<dimension> corner{{"x", 3, 6, true}, {"z", 0, 1, false}, {"y", 5, 10, true}};
  const auto c = parameter_stability(corner, {3, 0, 5}, 0, 2, 4, 6, f, 0.0);
  CHECK(c.best_ix == 0u);
  CHECK(c.best_iy == 0u);
  CHECK(*c.neighbourhood_mean == Approx((-1.0 - 1.0 - 2.0) / 3.0));
}

TEST_CASE("stability map leaves infeasible cells empty", "[stability]") {
  const std::vector<dimension> space{{"x", 0, 4, true}, {"y", 0, 4, true}};
  // Infeasible where x + y > 5; non-finite at (0, 0): also infeasible.
  const objective f = [](const point& p) -> std::optional<double> {
    if (p[0] + p[1] > 5) return std::nullopt;
    if (p[0] == 0 && p[1] == 0) return std::numeric_limits<double>::quiet_NaN();
    return p[0] + p[1];
  };
  const auto m = parameter_stability(space, {0, 0}, 0, 1, 5, 5, f, 0.0);
  std::size_t feasible = 0;
  for (std::size_t iy = 0; iy < 5; ++iy)
    for (std::size_t ix = 0; ix < 5; ++ix) {
      const bool expect = ix + iy <= 5 && !(ix == 0 && iy == 0);
      CHECK(m.values[iy][ix].has_value() == expect);
      feasible += expect;
    }
  CHECK(feasible == 18);  // 25 - 6 above the anti-diagonal x + y = 5 - the NaN
  // Best 5 on the diagonal x + y = 5: (1, 4), (2, 3), (3, 2), (4, 1); the first in row order is y = 1.
  CHECK(*m.best == 5.0);
  CHECK(m.best_iy == 1u);
  CHECK(m.best_ix == 4u);
  CHECK(m.plateau_share == Approx(4.0 / 18.0));
  // Neighbours of (4, 1): (3, 0) = 3, (4, 0) = 4, (3, 1) = 4, (3, 2) = 5; (4, 2) is infeasible.
  CHECK(*m.neighbourhood_mean == Approx(4.0));
  // Nothing feasible at all.
  const auto none = parameter_stability(space, {0, 0}, 0, 1, 3, 3, [](const point&) { return std::optional<double>{}; }, 0.1);
  CHECK_FALSE(none.best);
  CHECK_FALSE(none.best_ix);
  CHECK_FALSE(none.neighbourhood_mean);
  CHECK(none.plateau_share == 0.0);
}

TEST_CASE("a sharp spike scores a lower plateau share than a smooth hill", "[stability]") {
  const std::vector<dimension> space{{"a", 0, 1, false}, {"b", 0, 1, false}};
  const objective smooth = [](const point& p) -> std::optional<double> {
    return 1.0 - (p[0] - 0.5) * (p[0] - 0.5) - (p[1] - 0.5) * (p[1] - 0.5);
  };
  const objective spike = [](const point& p) -> std::optional<double> {
    return std::abs(p[0] - 0.5) < 1e-9 && std::abs(p[1] - 0.5) < 1e-9 ? 1.0 : 0.0;
  };
  const auto s = parameter_stability(space, {0.5, 0.5}, 0, 1, 9, 9, smooth, 0.1);
  const auto k = parameter_stability(space, {0.5, 0.5}, 0, 1, 9, 9, spike, 0.1);
  CHECK(*s.best == Approx(1.0));
  CHECK(*k.best == 1.0);
  CHECK(k.plateau_share == Approx(1.0 / 81.0));
  // d^2 <= 0.1 on a 1/8 grid: a^2 + b^2 <= 6.4 for cell offsets a, b, i.e. a^2 + b^2 in {0, 1, 2, 4, 5}: 1 + 4 + 4 + 4 + 8 = 21 cells.
  CHECK(s.plateau_share == Approx(21.0 / 81.0));
  CHECK(k.plateau_share < s.plateau_share);
  CHECK(*k.neighbourhood_mean == 0.0);
  CHECK(*s.neighbourhood_mean > 0.95);
}

TEST_CASE("stability map as CSV and JSON", "[stability]") {
  const std::vector<dimension> space{{"stop,atr", 1, 2, false}, {"tp", 0, 1, false}};
  const objective f = [](const point& p) -> std::optional<double> {
    if (p[0] == 2 && p[1] == 0) return std::nullopt;
    return p[0] + 0.25 * p[1];
  };
  const auto m = parameter_stability(space, {1, 0}, 0, 1, 2, 2, f, 0.0);
  std::ostringstream csv;
  write_stability_csv(csv, m);
  CHECK(csv.str() == "\"stop,atr\",tp,value\n1,0,1\n2,0,\n1,1,1.25\n2,1,2.25\n");
  const auto j = to_json(m);
  CHECK(j["x_name"] == "stop,atr");
  CHECK(j["xs"] == nlohmann::json::array({1.0, 2.0}));
  CHECK(j["values"][0][1].is_null());
  CHECK(j["values"][1][1] == 2.25);
  CHECK(j["best"] == 2.25);
  CHECK(j["best_ix"] == 1);
  CHECK(j["best_iy"] == 1);
  CHECK(j["plateau_share"].get<double>() == Approx(1.0 / 3.0));
  CHECK(j["neighbourhood_mean"].get<double>() == Approx((1.0 + 1.25) / 2.0));
  CHECK(j["tolerance"] == 0.0);
}

TEST_CASE("stability map rejects bad arguments", "[stability]") {
  const std::vector<dimension> space{{"x", 0, 4, true}, {"y", 0, 4, true}, {"z", 0, 1, false}};
  const objective f = [](const point&) -> std::optional<double> { return 1.0; };
  const point base{0, 0, 0};
  CHECK_NOTHROW(parameter_stability(space, base, 0, 1, 2, 2, f, 0.0));
  CHECK_THROWS_AS(parameter_stability(space, base, 1, 1, 3, 3, f, 0.0), std::invalid_argument);  // x == y
  CHECK_THROWS_AS(parameter_stability(space, base, 0, 3, 3, 3, f, 0.0), std::invalid_argument);  // out of range
  CHECK_THROWS_AS(parameter_stability(space, base, 3, 0, 3, 3, f, 0.0), std::invalid_argument);
  CHECK_THROWS_AS(parameter_stability(space, base, 0, 1, 1, 3, f, 0.0), std::invalid_argument);  // steps < 2
  CHECK_THROWS_AS(parameter_stability(space, base, 0, 1, 3, 1, f, 0.0), std::invalid_argument);
  CHECK_THROWS_AS(parameter_stability(space, {0, 0}, 0, 1, 3, 3, f, 0.0), std::invalid_argument);  // base size
  CHECK_THROWS_AS(parameter_stability(space, base, 0, 1, 3, 3, f, -1.0), std::invalid_argument);  // tolerance
  CHECK_THROWS_AS(parameter_stability(space, base, 0, 1, 3, 3, objective{}, 0.0), std::invalid_argument);
  CHECK_THROWS_AS(parameter_stability({{"x", 1, 1, false}, {"y", 0, 1, false}}, {1, 0}, 0, 1, 3, 3, f, 0.0),
                  std::invalid_argument);  // empty box
}

TEST_CASE("stability map of the trend strategy on BTCUSDT 1h", "[stability]") {
  const auto dir = data_dir();
  if (!dir) {
    WARN("../shared/data is absent: recorded-data test skipped");
    return;
  }
  walkforward_config w;
  w.base.symbols = {"BTCUSDT"};
  w.base.base_timeframe = "1h";
  w.base.seed = 7;
  w.min_trades = 1;
  w.max_drawdown = 0.5;
  const std::vector<dimension> space{{"initial_stop_atr", 1.5, 3.0, false}, {"take_profit_atr", 2.0, 5.0, false}};
  const auto params_of = [](const point& x) {
    strategy::trend_following_params p;
    p.initial_stop_atr = x[0];
    p.take_profit_atr = x[1];
    return strategy::any_params{p};
  };
  auto data = load_recorded(w.base, *dir, std::string(POLYTRADE_SOURCE_DIR) + "/docs/markets/binance-usdm.json",
                            "freqtrade_marketlab");
  for (auto& s : data) {  // 2025-01-01 .. 2025-04-01: 30 days of warm-up, then two months traded
    std::vector<replay::bar> keep;
    for (const auto& b : s.bars)
      if (b.open_time_ms >= day(0).millis() && b.open_time_ms < day(90).millis()) keep.push_back(b);
    s.bars = std::move(keep);
  }
  const auto run = [&](const point& x) {
    auto c = w.base;
    c.params = params_of(x);
    c.start = day(30);
    c.end = day(90);
    return run_backtest(c, data);
  };
  const objective f = [&](const point& x) { return constrained_sharpe(run(x), w); };
  const auto m = parameter_stability(space, {2.0, 3.0}, 0, 1, 3, 3, f, 0.5);
  CHECK(m.xs == std::vector<double>{1.5, 2.25, 3.0});
  CHECK(m.ys == std::vector<double>{2.0, 3.5, 5.0});
  REQUIRE(m.values.size() == 3);
  for (const auto& row : m.values) CHECK(row.size() == 3);
  CHECK(m.plateau_share >= 0.0);
  CHECK(m.plateau_share <= 1.0);
  if (m.best) {
    // The best cell is what a backtest there says.
    CHECK(f({m.xs[*m.best_ix], m.ys[*m.best_iy]}) == m.best);
    CHECK(m.plateau_share > 0.0);
  }
  std::ostringstream csv;
  write_stability_csv(csv, m);
  WARN("stability BTCUSDT 1h 2025-02..03, Sharpe over initial_stop_atr x take_profit_atr:\n"
       << csv.str() << "plateau share " << m.plateau_share << " (tolerance 0.5)");
}

}  // namespace pt::backtest::test
