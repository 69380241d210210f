#pragma once
// The four research commands behind `polytrade backtest|optimize|walkforward|montecarlo`. Each
// runs a study over recorded data, writes its files into `out_dir` (created when missing) and
// returns the summary document it also writes as metrics.json. Files:
//   backtest     metrics.json, trades.csv, equity.csv, report.html
//   optimize     metrics.json (best point, its in-sample metrics, deflated Sharpe, PBO), trials.csv,
//                stability.csv (when the study names a stability map), report.html
//   walkforward  metrics.json (folds, stitched out-of-sample metrics, promotion verdict),
//                trades.csv and equity.csv (out of sample), folds.csv, report.html, and the
//                parameter set model_v{N}_{date}_{hash}.json in `models_dir` when given
//   montecarlo   metrics.json (trade-order bootstrap and return perturbation intervals)
// Deterministic: no clock is read except `today` (the parameter set's date), passed in.
#include "study.hpp"

#include <nlohmann/json.hpp>

#include <string>

namespace pt::research {

struct command_options {
  std::string out_dir;
  std::string models_dir;  // walkforward: where the parameter set goes ("" = not saved)
  std::string today;       // YYYY-MM-DD for the parameter set
  progress_fn progress;    // may be empty
};

[[nodiscard]] nlohmann::json run_backtest_command(const study& s, const std::vector<backtest::symbol_data>& data,
                                                  const command_options& opt);
[[nodiscard]] nlohmann::json run_optimize_command(const study& s, const std::vector<backtest::symbol_data>& data,
                                                  const command_options& opt);
[[nodiscard]] nlohmann::json run_walkforward_command(const study& s, const std::vector<backtest::symbol_data>& data,
                                                     const command_options& opt);
// of_walkforward: bootstrap the stitched out-of-sample trades instead of one in-sample backtest.
[[nodiscard]] nlohmann::json run_montecarlo_command(const study& s, const std::vector<backtest::symbol_data>& data,
                                                    const command_options& opt, bool of_walkforward);

// The study's default point: each dimension's value in the parameter document.
[[nodiscard]] backtest::point default_point(const study& s);

}  // namespace pt::research
