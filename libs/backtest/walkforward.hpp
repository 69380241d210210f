#pragma once
// Walk-forward validation (issue 5, item 4): rolling train / test windows over the data; in each
// train window a parameter search (optimize.hpp) picks the point with the best objective, which
// then trades the following test window it never saw. The test windows' trades and equity are
// stitched into one out-of-sample record: the only figures that say what a strategy earns.
//
// The objective is the train window's Sharpe (metrics.hpp, annualised) subject to constraints: a
// point whose max drawdown exceeds `max_drawdown`, whose win rate is under `min_win_rate`, or
// that trades fewer than `min_trades` times is infeasible. Bars before a window's start warm the
// strategy up (engine_config::start), so a test window starts with warm indicators but no
// position.
#include "backtest/engine.hpp"
#include "backtest/metrics.hpp"
#include "backtest/optimize.hpp"

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace pt::backtest {

enum class search_method { grid, random, tpe };

struct walkforward_config {
  engine_config base;  // symbols, costs, risk, seed; start / end / params are set per run
  std::vector<dimension> space;
  // A point of `space` as strategy parameters (the caller decides what each dimension means).
  std::function<strategy::any_params(const point&)> params_of;
  std::chrono::milliseconds train{std::chrono::hours(24 * 90)};
  std::chrono::milliseconds test{std::chrono::hours(24 * 30)};
  // The first train window starts here (absent: the first bar + `warmup`).
  std::optional<core::timestamp> first_start;
  std::chrono::milliseconds warmup{std::chrono::hours(24 * 60)};
  search_method method = search_method::tpe;
  int budget = 30;          // evaluations per train window (grid: steps per dimension)
  std::uint64_t seed = 1;   // the search's; each fold uses seed + fold index
  double max_drawdown = 0.25;
  double min_win_rate = 0.0;
  int min_trades = 3;
};

struct fold {
  core::timestamp train_start, train_end, test_start, test_end;  // [start, end)
  point best;                          // empty when nothing was feasible (the fold is flat)
  std::optional<double> train_objective;
  std::size_t trials = 0;
  std::optional<metrics> test_stats;
  std::size_t test_trades = 0;
};

struct walkforward_result {
  std::vector<fold> folds;
  std::vector<trade_record> oos_trades;   // every test window's trades, in time order
  std::vector<equity_point> oos_equity;   // chained: each test window starts from the last's end
  std::optional<metrics> oos_stats;
  std::string oos_hash;                   // trade_list_hash(oos_trades)
};

// The windows alone: train [s, s + train), test [s + train, s + train + test), s advancing by
// `test` while a whole test window fits before the last bar's close. Throws std::invalid_argument
// when not one fits.
[[nodiscard]] std::vector<fold> plan_folds(const walkforward_config& cfg, core::timestamp data_start,
                                           core::timestamp data_end);

// The same over the data's span: the first bar's open to the last bar's close, all symbols.
// Throws std::invalid_argument without data or with an unknown base timeframe.
[[nodiscard]] std::vector<fold> plan_folds(const walkforward_config& cfg, const std::vector<symbol_data>& data);
// The objective of one run under cfg's constraints (nullopt = infeasible).
[[nodiscard]] std::optional<double> constrained_sharpe(const engine_result& r, const walkforward_config& cfg);

[[nodiscard]] walkforward_result run_walkforward(const walkforward_config& cfg, const std::vector<symbol_data>& data);

}  // namespace pt::backtest
